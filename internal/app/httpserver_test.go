package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// headersOfSize sends a GET /healthz whose headers hold n bytes, over a raw
// connection, and returns the status of the answer.
func headersOfSize(t *testing.T, addr string, n int) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + strings.Repeat("p", n) + "\r\nConnection: close\r\n\r\n"
	go conn.Write([]byte(req)) // the server may answer before it has read everything
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("headers of %d bytes: %v", n, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeCapsHeaders: request headers are capped at 64 KiB (net/http
// allows 1 MiB by default).
func TestServeCapsHeaders(t *testing.T) {
	s := serve(t, map[string]string{"LINKBOX_DATABASE_URL": dbtest.SQLite(t)})
	if got := headersOfSize(t, s.addr, 60<<10); got != http.StatusOK {
		t.Errorf("60 KiB of headers: %d, want 200", got)
	}
	if got := headersOfSize(t, s.addr, 70<<10); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("70 KiB of headers: %d, want 431", got)
	}
}

// TestServeSecurityHeaders: every answer, of an API, a page or no route at
// all, carries nosniff; Strict-Transport-Security only when the public URL
// is https.
func TestServeSecurityHeaders(t *testing.T) {
	for _, tt := range []struct{ publicURL, hsts string }{
		{"https://linkbox.example", "max-age=63072000; includeSubDomains"},
		{"http://localhost:8080", ""},
	} {
		s := serve(t, map[string]string{"LINKBOX_DATABASE_URL": dbtest.SQLite(t), "LINKBOX_PUBLIC_URL": tt.publicURL})
		for _, path := range []string{"/healthz", "/login", "/openapi.json", "/no/such/path"} {
			resp, err := http.Get("http://" + s.addr + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s: GET %s: X-Content-Type-Options = %q, want nosniff", tt.publicURL, path, got)
			}
			if got := resp.Header.Get("Strict-Transport-Security"); got != tt.hsts {
				t.Errorf("%s: GET %s: Strict-Transport-Security = %q, want %q", tt.publicURL, path, got, tt.hsts)
			}
		}
	}
}

// syncBuffer is a bytes.Buffer that a server's goroutines may log to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLogsHoldNoLinkToken: opening the linking page, with its token in the
// path or in a query string, logs the route, never the token.
func TestLogsHoldNoLinkToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		cfg, err := config.FromEnv(env(map[string]string{"LINKBOX_DATABASE_URL": url, "LINKBOX_LOG_LEVEL": "debug"})).Parse()
		if err != nil {
			t.Fatal(err)
		}
		var logs syncBuffer
		srv, err := app.New(t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			app.Options{Hash: &apptest.CheapHash})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(func() {
			ts.Close()
			srv.Close()
		})
		_, key, err := srv.Connect.CreateApp(context.Background(), "Shop", []string{"http://localhost/back/"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/link-account",
			strings.NewReader(`{"user_id":"100","return_url":"http://localhost/back/"}`))
		req.Header.Set("X-Api-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var link struct{ URL string }
		err = json.NewDecoder(resp.Body).Decode(&link)
		resp.Body.Close()
		_, token, _ := strings.Cut(link.URL, "/linking/")
		if err != nil || token == "" {
			t.Fatalf("link-account: %d %+v %v, want a linking URL", resp.StatusCode, link, err)
		}
		for _, path := range []string{"/linking/" + token, "/linking/" + token + "?token=" + token, "/linking/" + token + "/x",
			"/connect?token=" + token} {
			resp, err := http.Get(ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		out := logs.String()
		if strings.Contains(out, token) {
			t.Errorf("the log holds the link token:\n%s", out)
		}
		if !strings.Contains(out, "path=/linking/{token}") {
			t.Errorf("the log does not name the linking page's route:\n%s", out)
		}
	})
}

// TestAPIFallbacks: an unknown path or a wrong method under an API's prefix
// is answered in that API's JSON error shape; a page's 404 stays the mux's.
func TestAPIFallbacks(t *testing.T) {
	s := apptest.Start(t, dbtest.SQLite(t), nil, app.Options{})
	for _, c := range []struct {
		method, path string
		status       int
		allow, want  string
	}{
		{"GET", "/v1/auth/login", http.StatusMethodNotAllowed, "POST", `{"error":{"code":"method_not_allowed","message":"GET is not allowed here; allowed: POST"}}`},
		{"GET", "/v1/nothing", http.StatusNotFound, "", `{"error":{"code":"not_found","message":"No such endpoint: /v1/nothing"}}`},
		{"DELETE", "/v1/inbox/messages", http.StatusMethodNotAllowed, "GET, HEAD", `{"error":{"code":"method_not_allowed","message":"DELETE is not allowed here; allowed: GET, HEAD"}}`},
		{"GET", "/api/otp", http.StatusMethodNotAllowed, "POST", `{"message":"GET is not allowed here; allowed: POST"}`},
		{"POST", "/api/nothing", http.StatusNotFound, "", `{"message":"No such endpoint: /api/nothing"}`},
		{"GET", "/api/internal/rent", http.StatusMethodNotAllowed, "POST", `{"success":false,"error":"GET is not allowed here; allowed: POST"}`},
		{"GET", "/api/public/nothing", http.StatusNotFound, "", `{"success":false,"error":"No such endpoint: /api/public/nothing"}`},
		{"GET", "/users/u1/link", http.StatusMethodNotAllowed, "POST", `{"success":false,"error":{"code":"method_not_allowed","message":"GET is not allowed here; allowed: POST"}}`},
	} {
		r := s.Call(t, c.method, c.path, "", nil)
		if r.Status != c.status || r.Header.Get("Allow") != c.allow || strings.TrimSpace(string(r.Body)) != c.want ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s = %d Allow %q %s %s; want %d Allow %q %s", c.method, c.path, r.Status, r.Header.Get("Allow"),
				r.Header.Get("Content-Type"), r.Body, c.status, c.allow, c.want)
		}
	}
	if r := s.Call(t, "GET", "/no-such-page", "", nil); r.Status != http.StatusNotFound || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("GET /no-such-page = %d %s, want the mux's 404", r.Status, r.Header.Get("Content-Type"))
	}
}

// TestJSONLogs: with LINKBOX_LOG_FORMAT=json the start-up line names the
// store, the SMS provider, Redis and the limits, and a request's duration
// is a number of milliseconds.
func TestJSONLogs(t *testing.T) {
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	url := dbtest.SQLite(t)
	if err := cli(t, url, nil, "users", "create", "--phone", "+25761234567", "--password", "a good password",
		"--first-name", "Ann", "--last-name", "Agent", "--email", "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"LINKBOX_DATABASE_URL": url, "LINKBOX_LISTEN": "127.0.0.1:0", "LINKBOX_LOG_FORMAT": "json",
		"LINKBOX_SECRET": strings.Repeat("s", 32)}
	go func() { done <- app.Run(ctx, nil, env(vars), io.Discard, &logs) }()
	t.Cleanup(func() { cancel(); <-done })
	line := func(msg string) map[string]any {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for _, l := range strings.Split(logs.String(), "\n") {
				var m map[string]any
				if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
					return m
				}
			}
		}
		t.Fatalf("no %q line in %s", msg, logs.String())
		return nil
	}
	up := line("linkbox listening")
	if up["store"] != "sqlite" || up["sms_provider"] != "console" || up["redis"] != "none" || up["rate_limits"] != true ||
		up["sms_budget"] != 1000.0 || up["public_url"] == nil {
		t.Errorf("start-up line = %v", up)
	}
	resp, err := http.Get("http://" + up["addr"].(string) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d, ok := line("request")["duration"].(float64); !ok || d <= 0 || d > 10_000 {
		t.Errorf("request duration = %v, want a number of milliseconds", line("request")["duration"])
	}

	// An event stream's line comes when it ends, with how long it lasted.
	base := "http://" + up["addr"].(string)
	resp, err = http.Post(base+"/v1/auth/login", "application/json", strings.NewReader(`{"phone":"+25761234567","password":"a good password"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/inbox/stream", nil)
	req.Header.Set("Authorization", "Bearer "+login.AccessToken)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != http.StatusOK {
		t.Fatalf("open stream: %v %v", stream, err)
	}
	time.Sleep(150 * time.Millisecond)
	stream.Body.Close()
	ended := line("event stream ended")
	if d, ok := ended["duration"].(float64); !ok || d < 150 || d > 10_000 || ended["reason"] != "client left" || ended["user_id"] == nil {
		t.Errorf("stream end line = %v, want its duration in ms (≥ 150), why, and whose", ended)
	}
}
