package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWriteHeaders(t *testing.T) {
	reset := time.Unix(1_700_000_000, 0)
	for _, c := range []struct {
		name string
		res  Result
		want map[string]string // "" means the header must be absent
	}{
		{"allowed", Result{Allowed: true, Limit: 10, Remaining: 7, Reset: reset},
			map[string]string{"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "1700000000", "Retry-After": ""}},
		{"reset rounds up", Result{Allowed: true, Limit: 10, Remaining: 7, Reset: reset.Add(time.Millisecond)},
			map[string]string{"X-RateLimit-Reset": "1700000001"}},
		{"zero reset left out", Result{Allowed: true, Limit: 3, Remaining: 3},
			map[string]string{"X-RateLimit-Limit": "3", "X-RateLimit-Reset": ""}},
		{"denied rounds retry up", Result{Limit: 10, Reset: reset, RetryAfter: 1500 * time.Millisecond},
			map[string]string{"X-RateLimit-Remaining": "0", "Retry-After": "2"}},
		{"denied whole seconds", Result{Limit: 10, Reset: reset, RetryAfter: 3 * time.Second},
			map[string]string{"Retry-After": "3"}},
		{"denied under a second says 1", Result{Limit: 10, Reset: reset, RetryAfter: time.Millisecond},
			map[string]string{"Retry-After": "1"}},
		{"denied with no retry says 1", Result{Limit: 10, Reset: reset},
			map[string]string{"Retry-After": "1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteHeaders(w, c.res)
			for name, want := range c.want {
				if got := w.Header().Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// limiterFunc adapts a function to Limiter for tests.
type limiterFunc func(ctx context.Context, key string, l Limit, n int) (Result, error)

func (f limiterFunc) Take(ctx context.Context, key string, l Limit, n int) (Result, error) {
	return f(ctx, key, l, n)
}

// okHandler answers 200 "ok" and counts its calls.
func okHandler(calls *int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		*calls++
		w.Write([]byte("ok"))
	})
}

func byHeader(r *http.Request) string { return r.Header.Get("X-Key") }

func serve(h http.Handler, key string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("X-Key", key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestMiddlewareLimitsPerKey(t *testing.T) {
	var calls, denials int
	deny := func(w http.ResponseWriter, _ *http.Request, res Result) {
		denials++
		if res.Allowed || res.RetryAfter <= 0 {
			t.Errorf("deny got %+v, want a denied Result with RetryAfter", res)
		}
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}
	lim := Limit{Events: 2, Per: time.Minute}
	h := Middleware(NewMemory(newFakeClock().Now), lim, byHeader, deny, nil)(okHandler(&calls))
	for i, want := range []struct {
		code      int
		remaining string
		retry     string
	}{{200, "1", ""}, {200, "0", ""}, {429, "0", "30"}} {
		w := serve(h, "a")
		if w.Code != want.code || w.Header().Get("X-RateLimit-Remaining") != want.remaining ||
			w.Header().Get("Retry-After") != want.retry || w.Header().Get("X-RateLimit-Limit") != "2" {
			t.Errorf("request %d: got %d remaining=%q retry=%q, want %d %q %q", i+1, w.Code,
				w.Header().Get("X-RateLimit-Remaining"), w.Header().Get("Retry-After"), want.code, want.remaining, want.retry)
		}
	}
	if w := serve(h, "b"); w.Code != 200 {
		t.Errorf("another key: got %d, want 200", w.Code)
	}
	if calls != 3 || denials != 1 {
		t.Errorf("handler ran %d times and deny %d, want 3 and 1", calls, denials)
	}
}

func TestMiddlewareEmptyKeyIsNotLimited(t *testing.T) {
	var calls int
	never := limiterFunc(func(context.Context, string, Limit, int) (Result, error) {
		t.Error("limiter called for an empty key")
		return Result{}, nil
	})
	w := serve(Middleware(never, hour, byHeader, nil, nil)(okHandler(&calls)), "")
	if w.Code != 200 || calls != 1 || w.Header().Get("X-RateLimit-Limit") != "" {
		t.Errorf("got %d, %d calls, limit header %q; want 200, 1 call, no header", w.Code, calls, w.Header().Get("X-RateLimit-Limit"))
	}
}

func TestMiddlewareFailsOpenAndLogs(t *testing.T) {
	var calls int
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	broken := limiterFunc(func(context.Context, string, Limit, int) (Result, error) {
		return Result{}, errors.New("redis down")
	})
	w := serve(Middleware(broken, hour, byHeader, nil, log)(okHandler(&calls)), "secret-phone")
	if w.Code != 200 || calls != 1 {
		t.Errorf("got %d with %d handler calls, want 200 and 1", w.Code, calls)
	}
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "redis down") {
		t.Errorf("log = %q, want an ERROR record carrying the cause", out)
	}
	if strings.Contains(out, "secret-phone") {
		t.Errorf("log = %q, want the key left out", out)
	}
}

func TestMiddlewareDefaultDeny(t *testing.T) {
	var calls int
	full := limiterFunc(func(context.Context, string, Limit, int) (Result, error) {
		return Result{Limit: 1, RetryAfter: time.Second}, nil
	})
	w := serve(Middleware(full, hour, byHeader, nil, nil)(okHandler(&calls)), "a")
	if w.Code != http.StatusTooManyRequests || calls != 0 || w.Header().Get("Retry-After") != "1" {
		t.Errorf("got %d, %d calls, Retry-After %q; want 429, 0 calls, \"1\"", w.Code, calls, w.Header().Get("Retry-After"))
	}
}

func TestMiddlewareTakesOneUnderTheGivenLimit(t *testing.T) {
	var got struct {
		key string
		lim Limit
		n   int
	}
	spy := limiterFunc(func(_ context.Context, key string, l Limit, n int) (Result, error) {
		got.key, got.lim, got.n = key, l, n
		return Result{Allowed: true}, nil
	})
	var calls int
	serve(Middleware(spy, hour, byHeader, nil, nil)(okHandler(&calls)), "ip:1.2.3.4")
	if got.key != "ip:1.2.3.4" || got.lim != hour || got.n != 1 {
		t.Errorf("Take(%q, %+v, %d), want Take(%q, %+v, 1)", got.key, got.lim, got.n, "ip:1.2.3.4", hour)
	}
}
