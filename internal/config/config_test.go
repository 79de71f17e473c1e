package config

import (
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := FromEnv(env(nil)).Parse()
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "sqlite:linkbox.db" || c.Listen != ":8080" || c.PublicURL != "http://localhost:8080" ||
		c.SMSProvider != "console" || !c.RateLimits || c.LogLevel != slog.LevelInfo || c.JWTAlgorithm != "EdDSA" {
		t.Errorf("defaults: got %+v", c)
	}
	if c.HashConcurrency < 1 {
		t.Errorf("HashConcurrency = %d, want ≥ 1", c.HashConcurrency)
	}
}

func TestFlagOverridesEnv(t *testing.T) {
	raw := FromEnv(env(map[string]string{"LINKBOX_LISTEN": ":9000", "LINKBOX_RATE_LIMITS": "off"}))
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	raw.BindFlags(fs)
	if err := fs.Parse([]string{"--listen", "127.0.0.1:0", "--trusted-proxies", "10.0.0.0/8, 192.168.1.1/32"}); err != nil {
		t.Fatal(err)
	}
	c, err := raw.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:0" || c.RateLimits || len(c.TrustedProxies) != 2 {
		t.Errorf("got Listen %q RateLimits %v proxies %v", c.Listen, c.RateLimits, c.TrustedProxies)
	}
}

func TestSMSGuard(t *testing.T) {
	c, err := FromEnv(env(nil)).Parse()
	if err != nil || c.SMSBudget != 1000 || c.SMSCountryBudget != 300 || c.SMSCountries != nil {
		t.Fatalf("defaults: budget %d, per country %d, countries %v (%v); want 1000, 300, all",
			c.SMSBudget, c.SMSCountryBudget, c.SMSCountries, err)
	}
	c, err = FromEnv(env(map[string]string{"LINKBOX_SMS_BUDGET": "0", "LINKBOX_SMS_COUNTRY_BUDGET": "5",
		"LINKBOX_SMS_COUNTRIES": " bi, GB ,,"})).Parse()
	if err != nil || c.SMSBudget != 0 || c.SMSCountryBudget != 5 || strings.Join(c.SMSCountries, ",") != "BI,GB" {
		t.Errorf("set: budget %d, per country %d, countries %v (%v); want 0, 5, BI,GB",
			c.SMSBudget, c.SMSCountryBudget, c.SMSCountries, err)
	}
	for _, bad := range []string{"B", "B1", "ÉÉ", "+257"} {
		if _, err := FromEnv(env(map[string]string{"LINKBOX_SMS_COUNTRIES": bad})).Parse(); err == nil {
			t.Errorf("LINKBOX_SMS_COUNTRIES=%q: no error", bad)
		}
	}
}

func TestAccessTokenTTL(t *testing.T) {
	for v, want := range map[string]time.Duration{"": time.Hour, "1s": time.Second, "15m": 15 * time.Minute} {
		c, err := FromEnv(env(map[string]string{"LINKBOX_ACCESS_TOKEN_TTL": v})).Parse()
		if err != nil || c.AccessTokenTTL != want {
			t.Errorf("LINKBOX_ACCESS_TOKEN_TTL=%q: %s, %v; want %s", v, c.AccessTokenTTL, err, want)
		}
	}
	for _, bad := range []string{"0", "0s", "999ms", "-1h", "an hour", "1"} {
		if _, err := FromEnv(env(map[string]string{"LINKBOX_ACCESS_TOKEN_TTL": bad})).Parse(); err == nil {
			t.Errorf("LINKBOX_ACCESS_TOKEN_TTL=%q: no error", bad)
		}
	}
}

func TestStreamCaps(t *testing.T) {
	for vars, want := range map[[2]string][2]int{{"", ""}: {10, 100}, {"0", "0"}: {0, 0}, {"3", "2000"}: {3, 2000}} {
		c, err := FromEnv(env(map[string]string{"LINKBOX_STREAMS_PER_USER": vars[0], "LINKBOX_STREAMS_PER_IP": vars[1]})).Parse()
		if err != nil || c.StreamsPerUser != want[0] || c.StreamsPerIP != want[1] {
			t.Errorf("%q: per user %d, per IP %d (%v); want %v", vars, c.StreamsPerUser, c.StreamsPerIP, err, want)
		}
	}
	for _, name := range []string{"LINKBOX_STREAMS_PER_USER", "LINKBOX_STREAMS_PER_IP"} {
		for _, bad := range []string{"-1", "ten", "1.5"} {
			if _, err := FromEnv(env(map[string]string{name: bad})).Parse(); err == nil {
				t.Errorf("%s=%q: no error", name, bad)
			}
		}
	}
}

func TestBadValues(t *testing.T) {
	for k, v := range map[string]string{
		"LINKBOX_PUBLIC_URL":         "ftp://x",
		"LINKBOX_SECRET":             "short",
		"LINKBOX_RATE_LIMITS":        "maybe",
		"LINKBOX_LOG_FORMAT":         "xml",
		"LINKBOX_LOG_LEVEL":          "loud",
		"LINKBOX_JWT_ALG":            "RS256",
		"LINKBOX_HASH_CONCURRENCY":   "0",
		"LINKBOX_TRUSTED_PROXIES":    "not-a-cidr",
		"LINKBOX_SMS_BUDGET":         "-1",
		"LINKBOX_SMS_COUNTRY_BUDGET": "lots",
		"LINKBOX_SMS_COUNTRIES":      "BI,GBR",
		"LINKBOX_ACCESS_TOKEN_TTL":   "500ms",
	} {
		_, err := FromEnv(env(map[string]string{k: v})).Parse()
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: got %v, want an error naming %s", k, v, err, k)
		}
	}
}

func TestUpstreamCORSAndMetrics(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"LINKBOX_SMSACTIVATE_URL": "http://127.0.0.1:9/stubs/handler_api.php", "LINKBOX_SMSACTIVATE_KEY": "k",
		"LINKBOX_SMSACTIVATE_MARKUP": "1.25", "LINKBOX_CORS_ORIGINS": "https://App.example.com, http://localhost:3000",
		"LINKBOX_METRICS_LISTEN": "127.0.0.1:9090", "LINKBOX_METRICS_TOKEN": "0123456789abcdef",
	})).Parse()
	if err != nil {
		t.Fatal(err)
	}
	if c.SMSActivateMarkup != "1.25" || strings.Join(c.CORSOrigins, " ") != "https://app.example.com http://localhost:3000" ||
		c.MetricsListen != "127.0.0.1:9090" || c.MetricsToken != "0123456789abcdef" {
		t.Errorf("got %+v", c)
	}
	for name, bad := range map[string]map[string]string{
		"upstream without key":   {"LINKBOX_SMSACTIVATE_URL": "https://up.example/handler_api.php"},
		"upstream not a URL":     {"LINKBOX_SMSACTIVATE_URL": "up.example", "LINKBOX_SMSACTIVATE_KEY": "k"},
		"markup below one":       {"LINKBOX_SMSACTIVATE_MARKUP": "0.9"},
		"markup not a number":    {"LINKBOX_SMSACTIVATE_MARKUP": "x"},
		"origin wildcard":        {"LINKBOX_CORS_ORIGINS": "*"},
		"origin with a path":     {"LINKBOX_CORS_ORIGINS": "https://app.example.com/"},
		"origin without scheme":  {"LINKBOX_CORS_ORIGINS": "app.example.com"},
		"origin wildcard domain": {"LINKBOX_CORS_ORIGINS": "https://*.example.com"},
		"short metrics token":    {"LINKBOX_METRICS_TOKEN": "short"},
	} {
		if _, err := FromEnv(env(bad)).Parse(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
