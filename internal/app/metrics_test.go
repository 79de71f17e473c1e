package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
)

const metricsToken = "metrics-token-0123456789"

// getMetrics GETs url with the bearer token tok ("" for none).
func getMetrics(t *testing.T, url, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetrics drives each measured part of a real stack — requests, an SMS
// through the outbox, a rate-limit refusal, an open event stream — and finds
// each in the scrape, which needs the bearer token.
func TestMetrics(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		st := apptest.Start(t, url, map[string]string{"LINKBOX_METRICS_TOKEN": metricsToken}, app.Options{})
		token := st.SignUp(t, "+25761234567")
		events := st.Stream(t, token)
		apptest.Next(t, events)
		for range 101 { // the public prices allow 100 a minute per address
			st.Call(t, "GET", "/api/public/prices", "", nil)
		}
		if code, _ := getMetrics(t, st.URL+"/metrics", ""); code != http.StatusUnauthorized {
			t.Errorf("without the token: %d, want 401", code)
		}
		if code, _ := getMetrics(t, st.URL+"/metrics", "not-the-token-at-all"); code != http.StatusUnauthorized {
			t.Errorf("with a wrong token: %d, want 401", code)
		}
		var body string
		deadline := time.Now().Add(5 * time.Second)
		for { // the SMS's outcome is recorded just after the gateway took it
			var code int
			code, body = getMetrics(t, st.URL+"/metrics", metricsToken)
			if code != http.StatusOK {
				t.Fatalf("scrape: %d", code)
			}
			if strings.Contains(body, `linkbox_deliveries_total{kind="sms",provider="webhook",result="sent"} 1`) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		want := []string{
			`linkbox_http_requests_total{code="201",route="POST /v1/auth/signup"} 1`,
			`linkbox_http_requests_total{code="429",route="GET /api/public/prices"} 1`,
			`linkbox_http_requests_total{code="200",route="GET /api/public/prices"} 100`,
			`linkbox_http_request_duration_seconds_count{route="POST /v1/auth/verify"} 1`,
			`linkbox_deliveries_total{kind="sms",provider="webhook",result="sent"} 1`,
			`linkbox_ratelimit_refusals_total{limit="numbers:ip"} 1`,
			"linkbox_sse_streams_open 1",
			`linkbox_outbox_depth{kind="sms"} 0`,
			`linkbox_outbox_oldest_seconds{kind="sms"} 0`,
			`linkbox_db_connections{pool=`,
			"go_goroutines ", "process_resident_memory_bytes ",
		}
		if strings.HasPrefix(url, "sqlite:") {
			want = append(want, "linkbox_db_group_commit_size_count ")
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("no %q in the scrape", w)
			}
		}
		if strings.Contains(body, "+25761234567") || strings.Contains(body, token) {
			t.Error("the scrape names a phone or a token")
		}
	})
}

// TestMetricsListener: LINKBOX_METRICS_LISTEN serves /metrics on its own
// address, without a token, and the main listener does not serve it.
func TestMetricsListener(t *testing.T) {
	addr := freeAddr(t)
	s := serve(t, map[string]string{"LINKBOX_DATABASE_URL": dbtest.SQLite(t), "LINKBOX_METRICS_LISTEN": addr})
	if code, body := getMetrics(t, "http://"+addr+"/metrics", ""); code != http.StatusOK || !strings.Contains(body, "linkbox_sse_streams_open 0") {
		t.Errorf("metrics listener: %d %.200q", code, body)
	}
	if code, _ := getMetrics(t, "http://"+s.addr+"/metrics", ""); code != http.StatusNotFound {
		t.Errorf("main listener without LINKBOX_METRICS_TOKEN: %d, want 404", code)
	}
}
