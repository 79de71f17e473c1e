// Package deploy holds the files that run Linkbox elsewhere: the image,
// the compose file of three instances behind Caddy, the systemd unit, an
// example environment and the Grafana dashboard. Its tests check them with
// the tools that read them (caddy, systemd-analyze), and against the
// configuration, the metrics and docs/deploy.md; no image is built.
package deploy

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/linkbox/linkbox/internal/config"
)

// tool finds a command the test needs. CI installs every one (.ci/run),
// so there a missing one fails the test; elsewhere it skips, saying so.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed: .ci/run installs it", name)
	}
	t.Skipf("%s is not installed (CI installs it: see .ci/run)", name)
	return ""
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// run runs a command with env added to a minimal environment, returning
// its standard output and standard error.
func run(t *testing.T, env []string, name string, args ...string) (string, string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(name, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_DATA_HOME=" + home, "XDG_CONFIG_HOME=" + home}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// compose is the part of compose.yaml the tests read.
type compose struct {
	Services map[string]struct {
		Image       string
		Environment map[string]string
		Secrets     []string
		Volumes     []string
		Ports       []string
		Healthcheck struct{ Test []string }
		Networks    []string
	}
	Secrets  map[string]struct{ File string }
	Networks map[string]struct {
		IPAM struct{ Config []struct{ Subnet string } } `yaml:"ipam"`
	}
}

func loadCompose(t *testing.T) compose {
	t.Helper()
	var c compose
	if err := yaml.Unmarshal([]byte(read(t, "compose.yaml")), &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

// instances are the names of compose.yaml's Linkbox services.
var instances = []string{"linkbox1", "linkbox2", "linkbox3"}

// interpolation matches compose's ${NAME}, ${NAME:-default} and
// ${NAME:?error}.
var interpolation = regexp.MustCompile(`\$\{([A-Z_]+)(?::([-?])([^}]*))?\}`)

// interpolate fills compose's variables in as compose would with vars.
func interpolate(s string, vars map[string]string) string {
	return interpolation.ReplaceAllStringFunc(s, func(m string) string {
		p := interpolation.FindStringSubmatch(m)
		if v, ok := vars[p[1]]; ok {
			return v
		}
		if p[2] == "-" {
			return p[3]
		}
		return ""
	})
}

// TestCompose: compose.yaml parses and holds three Linkbox instances on
// PostgreSQL and Redis behind Caddy, each with the settings docs/deploy.md
// names — the store, Redis, the one secret mounted from the secret file,
// the compose network as the trusted proxy, metrics on their own port —
// valid for Linkbox's configuration, and every service with a health
// check; the instances' is the image's.
func TestCompose(t *testing.T) {
	c := loadCompose(t)
	want := append(slices.Clone(instances), "postgres", "redis", "caddy")
	if got := slices.Sorted(maps.Keys(c.Services)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("services = %v, want %v", got, want)
	}
	network := c.Networks["linkbox"].IPAM.Config
	if len(network) != 1 || network[0].Subnet == "" {
		t.Fatalf("network linkbox: %+v, want one subnet", network)
	}
	secret := c.Secrets["linkbox_secret"].File
	if secret == "" {
		t.Error("no secret linkbox_secret read from a file")
	}
	health := dockerfileHealthcheck(t)
	vars := map[string]string{"POSTGRES_PASSWORD": "pw", "LINKBOX_DOMAIN": "linkbox.example.com"}
	for _, name := range instances {
		s := c.Services[name]
		env := s.Environment
		checks := map[string]func(string) bool{
			"LINKBOX_DATABASE_URL": func(v string) bool {
				return strings.HasPrefix(v, "postgres://") && strings.Contains(v, "@postgres:5432/")
			},
			"LINKBOX_REDIS_URL":       func(v string) bool { return strings.HasPrefix(v, "redis://redis:6379") },
			"LINKBOX_SECRET_FILE":     func(v string) bool { return v == "/run/secrets/linkbox_secret" },
			"LINKBOX_TRUSTED_PROXIES": func(v string) bool { return v == network[0].Subnet },
			"LINKBOX_METRICS_LISTEN":  func(v string) bool { return v != "" },
			"LINKBOX_PUBLIC_URL":      func(v string) bool { return strings.HasPrefix(v, "https://") },
		}
		for k, ok := range checks {
			if !ok(env[k]) {
				t.Errorf("%s: %s = %q", name, k, env[k])
			}
		}
		if !slices.Contains(s.Secrets, "linkbox_secret") {
			t.Errorf("%s: secrets %v, want linkbox_secret", name, s.Secrets)
		}
		if !slices.Equal(s.Healthcheck.Test, append([]string{"CMD"}, health...)) {
			t.Errorf("%s: health check %q, want the image's, %q", name, s.Healthcheck.Test, health)
		}
		filled := map[string]string{}
		for k, v := range env {
			filled[k] = interpolate(v, vars)
		}
		if _, err := config.FromEnv(func(k string) string { return filled[k] }).Parse(); err != nil {
			t.Errorf("%s: the configuration: %v", name, err)
		}
		unknownSettings(t, name, slices.Collect(maps.Keys(env)))
	}
	if c.Services["linkbox1"].Image != c.Services["linkbox3"].Image {
		t.Error("the instances run different images")
	}
	for name, s := range c.Services {
		if len(s.Healthcheck.Test) < 2 {
			t.Errorf("%s: no health check", name)
		}
		if !slices.Contains(s.Networks, "linkbox") {
			t.Errorf("%s: not on the linkbox network", name)
		}
		if name != "caddy" && len(s.Ports) > 0 {
			t.Errorf("%s publishes ports %v: only Caddy should", name, s.Ports)
		}
	}
	if !slices.Contains(c.Services["caddy"].Volumes, "./Caddyfile:/etc/caddy/Caddyfile:ro") {
		t.Errorf("caddy volumes %v, want ./Caddyfile mounted", c.Services["caddy"].Volumes)
	}
	docs := read(t, "../docs/deploy.md")
	for _, s := range slices.Concat(want, slices.Collect(maps.Keys(c.Services["linkbox1"].Environment)), []string{"linkbox_secret", filepath.Base(secret)}) {
		if !strings.Contains(docs, s) {
			t.Errorf("docs/deploy.md does not name %s", s)
		}
	}
}

// unknownSettings fails t for a LINKBOX_ variable the configuration does
// not know: Parse would ignore it.
func unknownSettings(t *testing.T, where string, names []string) {
	t.Helper()
	usage := config.Usage()
	for _, k := range names {
		if strings.HasPrefix(k, "LINKBOX_") && !strings.Contains(usage, " "+k+" ") {
			t.Errorf("%s: %s is no setting of Linkbox", where, k)
		}
	}
}

// dockerfileHealthcheck is the command of the Dockerfile's HEALTHCHECK.
func dockerfileHealthcheck(t *testing.T) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^HEALTHCHECK (?:.*\\\n)*\s*CMD (\[.*\])$`).FindStringSubmatch(read(t, "Dockerfile"))
	if m == nil {
		t.Fatal("Dockerfile: no HEALTHCHECK … CMD [exec form]")
	}
	var cmd []string
	if err := json.Unmarshal([]byte(m[1]), &cmd); err != nil {
		t.Fatalf("Dockerfile: HEALTHCHECK CMD %s: %v", m[1], err)
	}
	return cmd
}

// TestDockerfile: the image is built in stages, the binary static (cgo
// off), and the last stage runs it as a non-root user, with a health check
// by the binary itself (linkbox healthcheck: GET /healthz), no other tool in the image.
func TestDockerfile(t *testing.T) {
	df := read(t, "Dockerfile")
	stages := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(df, -1)
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(stages))
	}
	last := df[strings.LastIndex(df, "\nFROM "):]
	if !strings.Contains(df, "CGO_ENABLED=0") || !strings.Contains(df, "go build") {
		t.Error("no CGO_ENABLED=0 go build")
	}
	if base := stages[len(stages)-1][1]; !strings.Contains(base, "distroless/static") {
		t.Errorf("runtime base %s, want distroless static (no C library: the binary is static)", base)
	}
	user := regexp.MustCompile(`(?m)^USER (\S+)`).FindStringSubmatch(last)
	if user == nil || strings.HasPrefix(user[1], "0") || strings.HasPrefix(user[1], "root") {
		t.Errorf("runtime user %v, want a non-root one", user)
	}
	if health := dockerfileHealthcheck(t); !slices.Equal(health, []string{"/usr/local/bin/linkbox", "healthcheck"}) {
		t.Errorf("health check %q, want the binary's own healthcheck (GET /healthz on LINKBOX_LISTEN)", health)
	}
	if strings.Contains(last, "busybox") {
		t.Error("the image carries busybox: a shell and tools an attacker could use, which the health check no longer needs")
	}
	if !strings.Contains(last, `ENTRYPOINT ["/usr/local/bin/linkbox"]`) {
		t.Error("the entry point is not the linkbox binary")
	}
}

// TestCaddyfile: Caddy (Debian's package) validates the Caddyfile, which
// proxies to the compose file's three instances with SSE unbuffered
// (flush_interval -1, the stream left uncompressed) and picks them by
// /readyz; a Caddyfile broken on
// purpose fails the same check, so the check is live.
func TestCaddyfile(t *testing.T) {
	caddy := tool(t, "caddy")
	env := []string{"LINKBOX_DOMAIN=linkbox.example.com"}
	if _, stderr, err := run(t, env, caddy, "validate", "--adapter", "caddyfile", "--config", "Caddyfile"); err != nil {
		t.Fatalf("caddy validate: %v\n%s", err, stderr)
	}
	broken := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(broken, []byte(strings.Replace(read(t, "Caddyfile"), "flush_interval -1", "flush_interval sometimes", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, env, caddy, "validate", "--adapter", "caddyfile", "--config", broken); err == nil {
		t.Error("caddy validate accepted a broken Caddyfile")
	}
	out, stderr, err := run(t, env, caddy, "adapt", "--adapter", "caddyfile", "--config", "Caddyfile")
	if err != nil {
		t.Fatalf("caddy adapt: %v\n%s", err, stderr)
	}
	proxy := findHandler(t, out, "reverse_proxy")
	var dials []string
	for _, u := range proxy.Upstreams {
		dials = append(dials, u.Dial)
	}
	if want := []string{"linkbox1:8080", "linkbox2:8080", "linkbox3:8080"}; !slices.Equal(dials, want) {
		t.Errorf("upstreams %v, want %v (the compose file's instances)", dials, want)
	}
	if proxy.FlushInterval != -1 {
		t.Errorf("flush_interval %v, want -1: events would wait in Caddy's buffer", proxy.FlushInterval)
	}
	if proxy.HealthChecks.Active.URI != "/readyz" {
		t.Errorf("active health check %q, want /readyz", proxy.HealthChecks.Active.URI)
	}
	if !strings.Contains(out, `"not":[{"path":["/v1/inbox/stream"]}]`) {
		t.Error("the event stream is not left out of compression (encode)")
	}
	hosts := regexp.MustCompile(`"host":\["([^"]+)"\]`).FindStringSubmatch(out)
	if hosts == nil || hosts[1] != "linkbox.example.com" {
		t.Errorf("site host %v, want LINKBOX_DOMAIN's", hosts)
	}
}

// proxyHandler is the part of Caddy's reverse_proxy handler the test reads.
type proxyHandler struct {
	Handler       string
	FlushInterval float64 `json:"flush_interval"`
	Upstreams     []struct{ Dial string }
	HealthChecks  struct {
		Active struct{ URI string }
	} `json:"health_checks"`
}

// findHandler finds the handler named name anywhere in Caddy's JSON config.
func findHandler(t *testing.T, config, name string) proxyHandler {
	t.Helper()
	var tree any
	if err := json.Unmarshal([]byte(config), &tree); err != nil {
		t.Fatal(err)
	}
	var found []any
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["handler"] == name {
				found = append(found, v)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(tree)
	if len(found) != 1 {
		t.Fatalf("%d %s handlers in the adapted config, want 1", len(found), name)
	}
	b, _ := json.Marshal(found[0])
	var h proxyHandler
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSystemdUnit: systemd-analyze verifies the unit without a word, and
// rates its exposure at most 2.0 (of 10); it runs serve as a dynamic user
// with its store in its state directory, and its settings with the example
// environment's are a valid configuration. verify checks that the program
// exists, so the test points ExecStart at an executable of its own, the
// test binary: the rest of the unit is verified as shipped.
func TestSystemdUnit(t *testing.T) {
	analyze := tool(t, "systemd-analyze")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := read(t, "linkbox.service")
	if !strings.Contains(unit, "ExecStart=/usr/local/bin/linkbox serve\n") {
		t.Fatal("ExecStart is not /usr/local/bin/linkbox serve")
	}
	copyPath := filepath.Join(t.TempDir(), "linkbox.service")
	if err := os.WriteFile(copyPath, []byte(strings.Replace(unit, "ExecStart=/usr/local/bin/linkbox ", "ExecStart="+self+" ", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := run(t, nil, analyze, "verify", copyPath)
	if err != nil || strings.TrimSpace(stdout+stderr) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s%s", err, stdout, stderr)
	}
	stdout, stderr, err = run(t, nil, analyze, "security", "--offline=true", "--threshold=20", copyPath)
	if err != nil {
		exposure := regexp.MustCompile(`Overall exposure level.*`).FindString(stdout)
		t.Errorf("systemd-analyze security: %v: %s, want at most 2.0\n%s", err, exposure, stderr)
	}

	settings := directives(unit)
	for k, want := range map[string]string{"DynamicUser": "yes", "ProtectSystem": "strict", "StateDirectory": "linkbox", "NoNewPrivileges": "yes"} {
		if got := settings[k]; !slices.Equal(got, []string{want}) {
			t.Errorf("%s=%v, want %s", k, got, want)
		}
	}
	env := envFile(t, read(t, "linkbox.env.example"))
	for _, kv := range settings["Environment"] {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if !strings.HasPrefix(env["LINKBOX_DATABASE_URL"], "sqlite:/var/lib/linkbox/") {
		t.Errorf("the store %q is not in the state directory", env["LINKBOX_DATABASE_URL"])
	}
	if _, err := config.FromEnv(func(k string) string { return env[k] }).Parse(); err != nil {
		t.Errorf("the unit's and the example's settings: %v", err)
	}
	unknownSettings(t, "linkbox.env.example", slices.Collect(maps.Keys(env)))
}

// directives are a unit file's settings, each with its values in order.
func directives(unit string) map[string][]string {
	m := map[string][]string{}
	for line := range strings.Lines(unit) {
		line = strings.TrimSpace(line)
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			m[k] = append(m[k], v)
		}
	}
	return m
}

// envFile reads NAME=value lines, skipping comments and blank lines.
func envFile(t *testing.T, s string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("env file line %q: want NAME=value", line)
		}
		m[k] = v
	}
	return m
}

// metricNames are the metrics Linkbox exports (internal/metrics), beside
// go_* and process_*; a histogram's series have its name with _bucket, _sum
// and _count.
var metricNames = []string{
	"linkbox_http_requests_total", "linkbox_http_request_duration_seconds", "linkbox_sse_streams_open",
	"linkbox_outbox_depth", "linkbox_outbox_oldest_seconds", "linkbox_deliveries_total",
	"linkbox_ratelimit_refusals_total", "linkbox_db_connections", "linkbox_db_group_commit_size",
}

var histograms = []string{"linkbox_http_request_duration_seconds", "linkbox_db_group_commit_size"}

// promqlWords are the functions and keywords the dashboard's queries use.
var promqlWords = []string{"sum", "max", "min", "avg", "count", "rate", "increase", "histogram_quantile", "label_values", "by", "without"}

var (
	promqlStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promqlMatchers  = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promqlGroupings = regexp.MustCompile(`\b(by|without)\s*\([^)]*\)`)
	promqlLabelArg  = regexp.MustCompile(`(label_values\(\s*\w+\s*),\s*\w+\s*\)`)
	promqlIdent     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
)

// queryMetrics returns the metric names in a PromQL query, and the other
// words in it that are neither a metric nor a function or keyword.
func queryMetrics(q string) (metrics, unknown []string) {
	q = promqlStrings.ReplaceAllString(q, `""`)
	q = promqlMatchers.ReplaceAllString(q, " ")
	q = promqlGroupings.ReplaceAllString(q, "$1")
	q = promqlLabelArg.ReplaceAllString(q, "$1)")
	for _, w := range promqlIdent.FindAllString(q, -1) {
		switch {
		case slices.Contains(promqlWords, w):
		case knownMetric(w):
			metrics = append(metrics, w)
		default:
			unknown = append(unknown, w)
		}
	}
	return metrics, unknown
}

func knownMetric(name string) bool {
	if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || slices.Contains(metricNames, name) {
		return true
	}
	for _, h := range histograms {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if name == h+suffix {
				return true
			}
		}
	}
	return false
}

// TestQueryMetrics: the dashboard's checker finds the metrics of a query
// past its label matchers, ranges, groupings and strings, and reports a
// name that is no metric of Linkbox's.
func TestQueryMetrics(t *testing.T) {
	for _, c := range []struct {
		q                string
		metrics, unknown []string
	}{
		{`sum by (route, code) (rate(linkbox_http_requests_total{instance=~"$instance",code=~"5.."}[$__rate_interval]))`, []string{"linkbox_http_requests_total"}, nil},
		{`histogram_quantile(0.99, sum by (le) (rate(linkbox_db_group_commit_size_bucket[5m])))`, []string{"linkbox_db_group_commit_size_bucket"}, nil},
		{`label_values(linkbox_http_requests_total, instance)`, []string{"linkbox_http_requests_total"}, nil},
		{`process_open_fds / process_max_fds`, []string{"process_open_fds", "process_max_fds"}, nil},
		{`rate(linkbox_http_request_total[5m])`, nil, []string{"linkbox_http_request_total"}},
		{`sum(linkbox_outbox_depth_bucket)`, nil, []string{"linkbox_outbox_depth_bucket"}},
		{`topk(5, linkbox_sse_streams_open)`, []string{"linkbox_sse_streams_open"}, []string{"topk"}},
	} {
		m, u := queryMetrics(c.q)
		if !slices.Equal(m, c.metrics) || !slices.Equal(u, c.unknown) {
			t.Errorf("queryMetrics(%s) = %v, %v; want %v, %v", c.q, m, u, c.metrics, c.unknown)
		}
	}
}

// panel is the part of a Grafana panel the test reads.
type panel struct {
	Type    string
	Title   string
	Targets []struct{ Expr string }
	Panels  []panel
}

// TestGrafanaDashboard: the dashboard parses; every query names only
// metrics Linkbox exports, and every panel is named in docs/deploy.md.
func TestGrafanaDashboard(t *testing.T) {
	var d struct {
		Title      string
		Panels     []panel
		Templating struct {
			List []struct {
				Name  string
				Query any
			}
		}
	}
	if err := json.Unmarshal([]byte(read(t, "grafana-dashboard.json")), &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	var queries []string
	for _, v := range d.Templating.List {
		switch q := v.Query.(type) {
		case map[string]any:
			queries = append(queries, q["query"].(string))
		case string:
			if v.Name != "datasource" {
				queries = append(queries, q)
			}
		}
	}
	docs := read(t, "../docs/deploy.md")
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Title == "" {
				t.Errorf("a %s panel without a title", p.Type)
			}
			if !strings.Contains(docs, p.Title) {
				t.Errorf("panel %q is not named in docs/deploy.md", p.Title)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				queries = append(queries, tg.Expr)
			}
		}
	}
	walk(d.Panels)
	seen := map[string]bool{}
	for _, q := range queries {
		metrics, unknown := queryMetrics(q)
		if len(metrics) == 0 || len(unknown) > 0 {
			t.Errorf("query %s: metrics %v, unknown words %v", q, metrics, unknown)
		}
		for _, m := range metrics {
			seen[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")] = true
		}
	}
	for _, m := range metricNames {
		if !seen[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
	if len(queries) < 20 {
		t.Errorf("%d queries, want the dashboard's", len(queries))
	}
}
