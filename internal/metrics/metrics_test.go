package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/metrics"
)

// scrape GETs /metrics from h with the given Authorization header.
func scrape(t *testing.T, h http.Handler, auth string) (int, string) {
	t.Helper()
	r := httptest.NewRequest("GET", "/metrics", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Body)
	return w.Code, string(b)
}

func has(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, l) {
			t.Errorf("no %q in the scrape", l)
		}
	}
}

func TestRequestsByRoutePattern(t *testing.T) {
	m := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "gone" {
			w.WriteHeader(http.StatusGone)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
	})
	h := httpx.WithAccessLog(slog.New(slog.DiscardHandler), m.Served)(mux)
	for _, p := range []string{"/items/a", "/items/b", "/items/gone", "/events", "/no/such/secret-token"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	_, body := scrape(t, m.Handler(""), "")
	has(t, body,
		`linkbox_http_requests_total{code="200",route="GET /items/{id}"} 2`,
		`linkbox_http_requests_total{code="410",route="GET /items/{id}"} 1`,
		`linkbox_http_requests_total{code="200",route="GET /events"} 1`,
		`linkbox_http_requests_total{code="404",route="unmatched"} 1`,
		`linkbox_http_request_duration_seconds_count{route="GET /items/{id}"} 3`,
		"go_goroutines ", "process_cpu_seconds_total ")
	if strings.Contains(body, `duration_seconds_count{route="GET /events"}`) {
		t.Error("an event stream's duration was observed as a latency")
	}
	if strings.Contains(body, "secret-token") || strings.Contains(body, `route="GET /items/a"`) {
		t.Error("a path, not a pattern, became a label")
	}
}

func TestPlatformSeries(t *testing.T) {
	m := metrics.New()
	m.Refused("auth:login")
	m.Refused("auth:login")
	m.Delivered("sms", "twilio", nil)
	m.Delivered("sms", "twilio", errors.New("503"))
	m.Delivered("webhook", "webhook", nil)
	m.GroupCommitted(3)
	m.GroupCommitted(40)
	open := 7
	m.Streams(func() int { return open })
	m.Pools(func() []metrics.Pool {
		return []metrics.Pool{{Name: "write", InUse: 1}, {Name: "read", InUse: 2, Idle: 3}}
	})
	fail := false
	m.Outbox(func(context.Context) ([]metrics.Queue, error) {
		if fail {
			return nil, errors.New("store down")
		}
		return []metrics.Queue{{Kind: "sms", Pending: 4, Oldest: 90 * time.Second}, {Kind: "webhook"}}, nil
	}, slog.New(slog.DiscardHandler))

	code, body := scrape(t, m.Handler(""), "")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	has(t, body,
		`linkbox_ratelimit_refusals_total{limit="auth:login"} 2`,
		`linkbox_deliveries_total{kind="sms",provider="twilio",result="sent"} 1`,
		`linkbox_deliveries_total{kind="sms",provider="twilio",result="failed"} 1`,
		`linkbox_deliveries_total{kind="webhook",provider="webhook",result="sent"} 1`,
		"linkbox_db_group_commit_size_count 2", "linkbox_db_group_commit_size_sum 43",
		"linkbox_sse_streams_open 7",
		`linkbox_db_connections{pool="read",state="idle"} 3`, `linkbox_db_connections{pool="write",state="in_use"} 1`,
		`linkbox_outbox_depth{kind="sms"} 4`, `linkbox_outbox_oldest_seconds{kind="sms"} 90`, `linkbox_outbox_depth{kind="webhook"} 0`)

	open, fail = 2, true
	code, body = scrape(t, m.Handler(""), "")
	if code != http.StatusOK || strings.Contains(body, "linkbox_outbox_depth") {
		t.Errorf("with the store down: status %d, outbox series still there: %v", code, strings.Contains(body, "linkbox_outbox_depth"))
	}
	has(t, body, "linkbox_sse_streams_open 2")
}

func TestHandlerToken(t *testing.T) {
	h := metrics.New().Handler("0123456789abcdef")
	for auth, want := range map[string]int{
		"":                         http.StatusUnauthorized,
		"Bearer wrong":             http.StatusUnauthorized,
		"0123456789abcdef":         http.StatusUnauthorized,
		"Bearer 0123456789abcdef0": http.StatusUnauthorized,
		"Bearer 0123456789abcdef":  http.StatusOK,
	} {
		if code, _ := scrape(t, h, auth); code != want {
			t.Errorf("Authorization %q: %d, want %d", auth, code, want)
		}
	}
}

// BenchmarkServed is what counting a request costs: a counter and a
// histogram of its route pattern, beside the same access log unmeasured.
func BenchmarkServed(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	quiet := slog.New(slog.DiscardHandler)
	for name, h := range map[string]http.Handler{"logged": httpx.WithAccessLog(quiet)(mux), "measured": httpx.WithAccessLog(quiet, metrics.New().Served)(mux)} {
		b.Run(name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/items/42", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}
