package connect_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

// wantRateLimited checks a 429 Rate limit exceeded with its headers.
func wantRateLimited(t *testing.T, what string, r reply, limit string) {
	t.Helper()
	wantError(t, what, r, http.StatusTooManyRequests, "Rate limit exceeded")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("%s: Retry-After = %q, want whole seconds >= 1", what, r.header.Get("Retry-After"))
	}
	if got := r.header.Get("X-RateLimit-Limit"); got != limit {
		t.Errorf("%s: X-RateLimit-Limit = %q, want %s", what, got, limit)
	}
	if got := r.header.Get("X-RateLimit-Remaining"); got != "0" {
		t.Errorf("%s: X-RateLimit-Remaining = %q, want 0", what, got)
	}
	if got := r.header.Get("X-RateLimit-Reset"); got == "" {
		t.Errorf("%s: no X-RateLimit-Reset", what)
	}
}

// limitedEnv is an env whose in-memory limiter reads the env's clock.
func limitedEnv(t *testing.T, url string) *env {
	var e *env
	e = newEnv(t, url, ratelimit.NewMemory(func() time.Time { return e.clock.Now() }))
	return e
}

// TestOTPSendLimit: 10 OTP sends per minute per (app, user_id).
func TestOTPSendLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := limitedEnv(t, url)
		_, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		e.link(key, "101", a)
		for range 10 {
			e.sendOTP(key, "100", "login", a)
		}
		before := e.snapshot()
		body := map[string]any{"user_id": "100", "reference": "login", "message": "m"}
		wantRateLimited(t, "11th send", e.postJSON(key, "/api/otp", body), "10")
		if e.snapshot() != before {
			t.Errorf("a refused send wrote to the store")
		}
		e.sendOTP(key, "101", "login", a) // another user of the app is not held back
		e.clock.Advance(6 * time.Second)  // one send refills
		e.sendOTP(key, "100", "login", a)
	})
}

// TestAPIKeyLimit: 100 requests per second per app, in bursts of 200.
func TestAPIKeyLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := limitedEnv(t, url)
		_, key := e.createApp("App")
		_, other := e.createApp("Other")
		for i := range 200 {
			if r := e.post(key, "/api/link-account/unlink", `{}`); r.status != http.StatusBadRequest {
				t.Fatalf("request %d: %d %v, want 400 within the burst", i+1, r.status, r.body)
			}
		}
		wantRateLimited(t, "201st request", e.post(key, "/api/link-account/unlink", `{}`), "200")
		if r := e.post(other, "/api/link-account/unlink", `{}`); r.status != http.StatusBadRequest {
			t.Errorf("another app: %d, want it unaffected", r.status)
		}
		e.clock.Advance(10 * time.Millisecond)
		if r := e.post(key, "/api/link-account/unlink", `{}`); r.status != http.StatusBadRequest {
			t.Errorf("after 10 ms: %d, want one request refilled", r.status)
		}
	})
}

// TestWrongKeyLimit: 30 wrong API keys per minute per client IP; then even a
// right key from that IP waits, and one key's worth refills in 2 s.
func TestWrongKeyLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := limitedEnv(t, url)
		_, key := e.createApp("App")
		for i := range 30 {
			if r := e.post("lbk_wrong", "/api/link-account/unlink", `{}`); r.status != http.StatusUnauthorized {
				t.Fatalf("wrong key %d: %d, want 401", i+1, r.status)
			}
		}
		if r := e.post("lbk_wrong", "/api/link-account/unlink", `{}`); r.status != http.StatusTooManyRequests || r.body["message"] != "Rate limit exceeded" {
			t.Fatalf("31st wrong key: %d %v, want 429 Rate limit exceeded", r.status, r.body)
		}
		if r := e.post(key, "/api/link-account/unlink", `{}`); r.status != http.StatusTooManyRequests {
			t.Errorf("right key from the same IP: %d, want 429 until the limit refills", r.status)
		}
		e.clock.Advance(2 * time.Second)
		if r := e.post(key, "/api/link-account/unlink", `{}`); r.status != http.StatusBadRequest {
			t.Errorf("after 2 s: %d, want the request through (400: no user_id)", r.status)
		}
	})
}

// TestWrongKeyLimitPerIPv6Prefix: the addresses of one IPv6 /64, which one
// subscriber holds whole, share one wrong-key bucket; another /64 has its
// own.
func TestWrongKeyLimitPerIPv6Prefix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := limitedEnv(t, url)
		proxied := httptest.NewServer(httpx.WithClientIP([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})(routes(e.svc)))
		t.Cleanup(proxied.Close)
		from := func(ip string) reply {
			req, _ := http.NewRequest(http.MethodPost, proxied.URL+"/api/link-account/unlink", strings.NewReader(`{}`))
			req.Header.Set("X-Api-Key", "lbk_wrong")
			req.Header.Set("X-Forwarded-For", ip)
			return e.do(req)
		}
		for i := range 30 {
			ip := fmt.Sprintf("2001:db8:1:2::%x", i+1)
			if r := from(ip); r.status != http.StatusUnauthorized {
				t.Fatalf("wrong key %d from %s: %d, want 401", i+1, ip, r.status)
			}
		}
		if r := from("2001:db8:1:2:ffff:ffff:ffff:ffff"); r.status != http.StatusTooManyRequests {
			t.Errorf("31st wrong key, from a new address of the same /64: %d, want 429", r.status)
		}
		if r := from("2001:db8:1:3::1"); r.status != http.StatusUnauthorized {
			t.Errorf("a wrong key from another /64: %d, want 401 (its own bucket)", r.status)
		}
	})
}

// failing is a Limiter whose store is down.
type failing struct{}

func (failing) Take(context.Context, string, ratelimit.Limit, int) (ratelimit.Result, error) {
	return ratelimit.Result{}, errors.New("redis: connection refused")
}

// TestLimiterDownFailsOpen: a broken limiter degrades the limits, not the
// service.
func TestLimiterDownFailsOpen(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, failing{})
		_, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		e.sendOTP(key, "100", "login", a)
	})
}
