package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/httpx"
)

// newLogger returns a Debug-level JSON logger behind httpx.LogHandler, and
// the buffer it writes to.
func newLogger() (*slog.Logger, *bytes.Buffer) {
	buf := &bytes.Buffer{}
	h := slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(httpx.LogHandler{Handler: h}), buf
}

func logRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

func findRecord(t *testing.T, recs []map[string]any, msg string) map[string]any {
	t.Helper()
	for _, rec := range recs {
		if rec["msg"] == msg {
			return rec
		}
	}
	t.Fatalf("no log record %q among %v", msg, recs)
	return nil
}

// requestID serves a request carrying the X-Request-Id header values given
// through WithRequestID, returning the id the handler saw and the one echoed.
func requestID(t *testing.T, incoming ...string) (seen, echoed string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, v := range incoming {
		r.Header.Add("X-Request-Id", v)
	}
	w := httptest.NewRecorder()
	httpx.WithRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = httpx.RequestID(r.Context())
	})).ServeHTTP(w, r)
	return seen, w.Header().Get("X-Request-Id")
}

var generatedID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestWithRequestIDGenerates(t *testing.T) {
	first, echoed := requestID(t)
	if !generatedID.MatchString(first) {
		t.Fatalf("generated id %q, want 16 hex digits", first)
	}
	if echoed != first {
		t.Errorf("echoed %q, want %q", echoed, first)
	}
	if second, _ := requestID(t); second == first {
		t.Errorf("two requests both got id %q", first)
	}
}

func TestWithRequestIDKeepsSaneIncoming(t *testing.T) {
	for _, id := range []string{"abc-123", "a", strings.Repeat("x", 64), "req:42/7_~!"} {
		seen, echoed := requestID(t, id)
		if seen != id || echoed != id {
			t.Errorf("incoming %q: handler saw %q, echoed %q; want it kept", id, seen, echoed)
		}
	}
}

func TestWithRequestIDReplacesBadIncoming(t *testing.T) {
	tests := map[string]string{
		"too long":     strings.Repeat("x", 65),
		"space":        "abc 123",
		"control":      "abc\x01",
		"newline":      "abc\nX-Admin: 1",
		"DEL":          "abc\x7f",
		"non-ASCII":    "réquest",
		"invalid UTF8": "abc\xff",
	}
	for name, id := range tests {
		t.Run(name, func(t *testing.T) {
			seen, echoed := requestID(t, id)
			if !generatedID.MatchString(seen) || echoed != seen {
				t.Errorf("incoming %q: handler saw %q, echoed %q; want a new id echoed", id, seen, echoed)
			}
		})
	}
}

func TestWithClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{"peer without proxies", nil, "203.0.113.7:4711", nil, "203.0.113.7"},
		{"XFF ignored without proxies", nil, "203.0.113.7:4711", []string{"198.51.100.9"}, "203.0.113.7"},
		{"spoofed XFF from untrusted peer", proxies, "203.0.113.7:4711", []string{"10.0.0.3, 198.51.100.9"}, "203.0.113.7"},
		{"one proxy", proxies, "10.0.0.1:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"rightmost untrusted hop", proxies, "10.0.0.1:80", []string{"198.51.100.9, 203.0.113.5, 10.0.0.2"}, "203.0.113.5"},
		{"client-forged left hops skipped", proxies, "10.0.0.1:80", []string{"6.6.6.6, 7.7.7.7,198.51.100.9"}, "198.51.100.9"},
		{"spoofed first header line", proxies, "10.0.0.1:80", []string{"6.6.6.6", "198.51.100.9"}, "198.51.100.9"},
		{"every hop trusted", proxies, "10.0.0.1:80", []string{"10.0.0.5, 10.0.0.2"}, "10.0.0.5"},
		{"IPv6 peer and hop", proxies, "[fd00::1]:443", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4-mapped peer", nil, "[::ffff:203.0.113.7]:4711", nil, "203.0.113.7"},
		{"IPv4-mapped trusted peer", proxies, "[::ffff:10.0.0.1]:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"IPv4-mapped hop", proxies, "10.0.0.1:80", []string{"::ffff:198.51.100.9"}, "198.51.100.9"},
		{"IPv4-mapped trusted hop", proxies, "10.0.0.1:80", []string{"198.51.100.9, ::ffff:10.0.0.2"}, "198.51.100.9"},
		{"no XFF from proxy", proxies, "10.0.0.1:80", nil, "10.0.0.1"},
		{"garbage XFF", proxies, "10.0.0.1:80", []string{"not-an-ip"}, "10.0.0.1"},
		{"hop with port", proxies, "10.0.0.1:80", []string{"198.51.100.9:5000"}, "10.0.0.1"},
		{"garbage stops the walk", proxies, "10.0.0.1:80", []string{"198.51.100.9, junk, 10.0.0.2"}, "10.0.0.2"},
		{"peer without port", nil, "203.0.113.7", nil, "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			var got netip.Addr
			httpx.WithClientIP(tt.trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = httpx.ClientIP(r)
			})).ServeHTTP(httptest.NewRecorder(), r)
			if got != netip.MustParseAddr(tt.want) {
				t.Errorf("ClientIP = %v, want %s", got, tt.want)
			}
		})
	}
}

// serveLogged serves a GET /boom from peer 192.0.2.1 through WithRequestID,
// WithClientIP and WithAccessLog around h, as the app stacks them.
func serveLogged(t *testing.T, h http.HandlerFunc) (*httptest.ResponseRecorder, []map[string]any) {
	t.Helper()
	log, buf := newLogger()
	r := httptest.NewRequest(http.MethodGet, "/boom", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	w := httptest.NewRecorder()
	httpx.WithRequestID(httpx.WithClientIP(nil)(httpx.WithAccessLog(log)(h))).ServeHTTP(w, r)
	return w, logRecords(t, buf)
}

func TestWithAccessLog(t *testing.T) {
	w, recs := serveLogged(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		w.WriteHeader(http.StatusOK) // superfluous: the first status counts
	})
	rec := findRecord(t, recs, "request")
	want := map[string]any{
		"level": "INFO", "method": "GET", "path": "/boom", "status": 418.0,
		"ip": "192.0.2.1", "request_id": w.Header().Get("X-Request-Id"),
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("log %s = %v, want %v", k, rec[k], v)
		}
	}
	if _, ok := rec["duration"]; !ok {
		t.Errorf("log %v has no duration", rec)
	}
}

// TestWithAccessLogHidesTokens: the access log names the route a request
// took, not the token in its path, nor its query string; a path no route
// matched shows only its first segment.
func TestWithAccessLogHidesTokens(t *testing.T) {
	const token = "Zt7mQ2vX9kLp4RwS8yNc3HbF6dJa1EuG"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /linking/{token}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	for _, tt := range []struct{ target, want string }{
		{"/linking/" + token, "/linking/{token}"},
		{"/linking/" + token + "?token=" + token, "/linking/{token}"},
		{"/linking/" + token + "/more", "/linking/…"},
		{"/connect?token=" + token, "/connect"},
		{"/healthz", "/healthz"},
	} {
		log, buf := newLogger()
		httpx.WithAccessLog(log)(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, tt.target, nil))
		if got := findRecord(t, logRecords(t, buf), "request")["path"]; got != tt.want {
			t.Errorf("GET %s: logged path %v, want %s", tt.target, got, tt.want)
		}
		if strings.Contains(buf.String(), token) {
			t.Errorf("GET %s: the log holds the token:\n%s", tt.target, buf)
		}
	}
}

// TestWithSecurityHeaders: nosniff on every answer, routed or not; HSTS only
// when the public URL is https.
func TestWithSecurityHeaders(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	for _, tt := range []struct{ publicURL, hsts string }{
		{"https://linkbox.example", "max-age=63072000; includeSubDomains"},
		{"http://localhost:8080", ""},
	} {
		for _, path := range []string{"/ok", "/nowhere"} {
			w := httptest.NewRecorder()
			httpx.WithSecurityHeaders(tt.publicURL)(mux).ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s, GET %s: X-Content-Type-Options = %q, want nosniff", tt.publicURL, path, got)
			}
			if got := w.Header().Get("Strict-Transport-Security"); got != tt.hsts {
				t.Errorf("%s, GET %s: Strict-Transport-Security = %q, want %q", tt.publicURL, path, got, tt.hsts)
			}
		}
	}
}

func TestWithAccessLogImplicitOK(t *testing.T) {
	_, recs := serveLogged(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hi"))
	})
	if got := findRecord(t, recs, "request")["status"]; got != 200.0 {
		t.Errorf("logged status %v, want 200", got)
	}
}

func TestWithAccessLogRecoversPanic(t *testing.T) {
	w, recs := serveLogged(t, func(w http.ResponseWriter, r *http.Request) {
		panic("nil map somewhere")
	})
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", w.Code)
	}
	if strings.Contains(w.Body.String(), "nil map") {
		t.Errorf("body %q leaks the panic", w.Body)
	}
	rec := findRecord(t, recs, "panic")
	if rec["level"] != "ERROR" || rec["panic"] != "nil map somewhere" {
		t.Errorf("panic log %v, want ERROR with the panic value", rec)
	}
	if stack, _ := rec["stack"].(string); !strings.Contains(stack, "TestWithAccessLogRecoversPanic") {
		t.Errorf("logged stack does not name the panicking function:\n%s", stack)
	}
	if rec["request_id"] != w.Header().Get("X-Request-Id") {
		t.Errorf("panic log request_id %v, want %q", rec["request_id"], w.Header().Get("X-Request-Id"))
	}
	if got := findRecord(t, recs, "request")["status"]; got != 500.0 {
		t.Errorf("access log status %v, want 500", got)
	}
}

func TestWithAccessLogPanicAfterHeader(t *testing.T) {
	w, recs := serveLogged(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("partial"))
		panic("late")
	})
	if w.Code != http.StatusAccepted || w.Body.String() != "partial" {
		t.Errorf("got %d %q, want the 202 \"partial\" already sent, nothing added", w.Code, w.Body)
	}
	findRecord(t, recs, "panic")
}

func TestWithAccessLogRepanicsAbort(t *testing.T) {
	log, buf := newLogger()
	h := httpx.WithAccessLog(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", p)
		}
		for _, rec := range logRecords(t, buf) {
			if rec["msg"] == "panic" {
				t.Errorf("aborted request logged as a panic: %v", rec)
			}
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
}

func TestWithAccessLogKeepsFlusher(t *testing.T) {
	log, _ := newLogger()
	w := httptest.NewRecorder()
	var err error
	httpx.WithAccessLog(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err = http.NewResponseController(w).Flush()
	})).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if err != nil || !w.Flushed {
		t.Errorf("Flush through the access log: err %v, flushed %v; want it to reach the writer", err, w.Flushed)
	}
}

// ctxWithRequestID returns the context WithRequestID gives a request
// carrying id.
func ctxWithRequestID(id string) context.Context {
	var ctx context.Context
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Request-Id", id)
	httpx.WithRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx = r.Context()
	})).ServeHTTP(httptest.NewRecorder(), r)
	return ctx
}

func TestLogHandler(t *testing.T) {
	ctx := ctxWithRequestID("req-1")
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		want map[string]any
	}{
		{"from ctx", func(l *slog.Logger) { l.InfoContext(ctx, "m", "k", 1) },
			map[string]any{"request_id": "req-1", "k": 1.0}},
		{"WithAttrs", func(l *slog.Logger) { l.With("component", "sms").InfoContext(ctx, "m") },
			map[string]any{"request_id": "req-1", "component": "sms"}},
		{"WithGroup nests it", func(l *slog.Logger) { l.WithGroup("g").InfoContext(ctx, "m", "k", 1) },
			map[string]any{"g": map[string]any{"request_id": "req-1", "k": 1.0}}},
		{"no id in ctx", func(l *slog.Logger) { l.InfoContext(context.Background(), "m", "k", 1) },
			map[string]any{"k": 1.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, buf := newLogger()
			tt.log(log)
			rec := findRecord(t, logRecords(t, buf), "m")
			delete(rec, "time")
			delete(rec, "level")
			delete(rec, "msg")
			got, _ := json.Marshal(rec)
			want, _ := json.Marshal(tt.want)
			if !bytes.Equal(got, want) {
				t.Errorf("record attrs %s, want %s", got, want)
			}
		})
	}
}

func TestLogHandlerKeepsLevel(t *testing.T) {
	buf := &bytes.Buffer{}
	log := slog.New(httpx.LogHandler{Handler: slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelWarn})})
	log.InfoContext(ctxWithRequestID("req-1"), "quiet")
	if buf.Len() != 0 {
		t.Errorf("Info logged at Warn level: %s", buf)
	}
}
