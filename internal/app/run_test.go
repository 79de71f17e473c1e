package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// env is a getenv over m. It holds a master secret unless m names one
// (LINKBOX_SECRET "" for none): without one, the secret of a PostgreSQL
// store would be generated into the working directory, the package's.
func env(m map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := m[k]; ok || k != "LINKBOX_SECRET" || m["LINKBOX_SECRET_FILE"] != "" {
			return v
		}
		return testSecret
	}
}

// testSecret is the tests' master secret, the one cli and serve's callers
// name, so that a stack and the commands run beside it share it.
var testSecret = apptest.Secret

// started is a running "linkbox serve".
type started struct {
	addr   string
	stop   context.CancelFunc
	done   chan struct{} // closed when Run returns, with its error in err
	err    error
	stderr *lines
}

// lines reads what is written to w and reports, on listening and stopping,
// the log lines that say the server listens (with its address) and that it
// has begun to shut down.
type lines struct {
	w         *io.PipeWriter
	listening chan string
	stopping  chan struct{}
}

var listeningRE = regexp.MustCompile(`msg="linkbox listening" addr=(\S+)`)

func watch() *lines {
	r, w := io.Pipe()
	l := &lines{w: w, listening: make(chan string, 1), stopping: make(chan struct{})}
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			if m := listeningRE.FindStringSubmatch(s.Text()); m != nil {
				l.listening <- m[1]
			}
			if strings.Contains(s.Text(), "shutting down") {
				close(l.stopping)
			}
		}
	}()
	return l
}

// serve starts Run("serve") on a free port with the given extra environment.
func serve(t *testing.T, vars map[string]string) *started {
	t.Helper()
	vars["LINKBOX_LISTEN"] = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{stop: cancel, done: make(chan struct{}), stderr: watch()}
	go func() {
		s.err = app.Run(ctx, nil, env(vars), io.Discard, s.stderr.w)
		s.stderr.w.Close()
		close(s.done)
	}()
	select {
	case s.addr = <-s.stderr.listening:
	case <-s.done:
		t.Fatalf("serve exited early: %v", s.err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start listening")
	}
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

func TestServeHealthAndReadiness(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		s := serve(t, map[string]string{"LINKBOX_DATABASE_URL": url})
		for _, path := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get("http://" + s.addr + path)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]string
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != 200 || body["status"] != "ok" {
				t.Errorf("GET %s = %d %v, want 200 {status: ok}", path, resp.StatusCode, body)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Errorf("GET %s: no X-Request-Id", path)
			}
		}
	})
}

// TestGracefulShutdown starts a request, makes sure its handler is running
// (it has asked for the body with 100 Continue), begins the shutdown, and
// checks the request still gets its answer.
func TestGracefulShutdown(t *testing.T) {
	s := serve(t, map[string]string{"LINKBOX_DATABASE_URL": dbtest.SQLite(t)})
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"phone":"+25761234567","password":"wrong password"}`
	io.WriteString(conn, "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"Expect: 100-continue\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n")
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("want 100 Continue, got %q %v", line, err)
	}
	r.ReadString('\n') // the blank line after the interim response
	s.stop()
	<-s.stderr.stopping
	io.WriteString(conn, body)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("in-flight login = %d, want 401", resp.StatusCode)
	}
	<-s.done
	if s.err != nil {
		t.Errorf("Run after shutdown: %v", s.err)
	}
}

// TestShutdownEndsStreams: an open event stream neither holds the shutdown
// for its grace period nor outlives it: serve cuts it, so that the client
// reconnects to an instance that is not stopping.
func TestShutdownEndsStreams(t *testing.T) {
	url := dbtest.SQLite(t)
	if err := cli(t, url, nil, "users", "create", "--phone", "+25761234567", "--password", "a good password",
		"--first-name", "Ann", "--last-name", "Agent", "--email", "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	s := serve(t, map[string]string{"LINKBOX_DATABASE_URL": url, "LINKBOX_SECRET": strings.Repeat("s", 32)})
	resp, err := http.Post("http://"+s.addr+"/v1/auth/login", "application/json",
		strings.NewReader(`{"phone":"+25761234567","password":"a good password"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if err != nil || login.AccessToken == "" {
		t.Fatalf("login: %d, %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.addr+"/v1/inbox/stream", nil)
	req.Header.Set("Authorization", "Bearer "+login.AccessToken)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != http.StatusOK {
		t.Fatalf("open stream: %v %v", stream, err)
	}
	defer stream.Body.Close()
	line, err := bufio.NewReader(stream.Body).ReadString('\n')
	if err != nil || line != ": connected\n" {
		t.Fatalf("first line %q, %v; want the opening comment", line, err)
	}
	start := time.Now()
	s.stop()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second): // the grace period is 20 s
		t.Fatal("serve still running: the open stream held the shutdown")
	}
	if s.err != nil {
		t.Errorf("Run after shutdown: %v", s.err)
	}
	t.Logf("stopped in %v with a stream open", time.Since(start))
	if _, err := io.ReadAll(stream.Body); err == nil {
		t.Error("stream body ended cleanly, want it cut so that the client reconnects")
	}
}

func TestMigrateAndBadCommands(t *testing.T) {
	vars := map[string]string{"LINKBOX_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "m.db")}
	var stderr strings.Builder
	if err := app.Run(context.Background(), []string{"migrate"}, env(vars), io.Discard, &stderr); err != nil {
		t.Fatalf("migrate: %v (%s)", err, stderr.String())
	}
	if err := app.Run(context.Background(), []string{"migrate"}, env(vars), io.Discard, io.Discard); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	for _, args := range [][]string{{"frobnicate"}, {"users"}, {"serve", "--no-such-flag"}, {"migrate", "extra"}} {
		if err := app.Run(context.Background(), args, env(vars), io.Discard, io.Discard); err == nil {
			t.Errorf("Run(%q) succeeded, want an error", args)
		}
	}
	bad := map[string]string{"LINKBOX_DATABASE_URL": "mysql://nope"}
	if err := app.Run(context.Background(), []string{"migrate"}, env(bad), io.Discard, io.Discard); err == nil {
		t.Error("migrate with an unsupported URL succeeded")
	}
}
