package accounts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

func loginBody(phone, pw string) map[string]string {
	return map[string]string{"phone": phone, "password": pw}
}

func TestLoginRefusesInactiveAccounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ctx := context.Background()
		e.signup(phone(1))
		e.post("/v1/auth/login", loginBody(phone(1), password)).want(t, http.StatusForbidden, "account_pending")
		for i, status := range []string{accounts.StatusBlocked, accounts.StatusSuspended} {
			p := phone(10 + i)
			e.active(p)
			if _, err := e.svc.SetStatus(ctx, p, status); err != nil {
				t.Fatal(err)
			}
			e.post("/v1/auth/login", loginBody(p, password)).want(t, http.StatusForbidden, "account_"+status)
			// Without the password, the status stays hidden.
			e.post("/v1/auth/login", loginBody(p, "wrong password")).want(t, http.StatusUnauthorized, "invalid_credentials")
		}
	})
}

func TestUnknownPhoneAndWrongPasswordLookAlike(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.active(phone(1))
		unknown := e.post("/v1/auth/login", loginBody(phone(2), password))
		wrong := e.post("/v1/auth/login", loginBody(phone(1), "wrong password"))
		unknown.want(t, http.StatusUnauthorized, "invalid_credentials")
		if wrong.status != unknown.status || !bytes.Equal(wrong.body, unknown.body) {
			t.Errorf("wrong password: %d %s; unknown phone: %d %s; want the same", wrong.status, wrong.body, unknown.status, unknown.body)
		}
		if h := wrong.header.Get("WWW-Authenticate"); h == "" {
			t.Error("401 without WWW-Authenticate")
		}
	})
}

func TestBlockingEndsSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ctx := context.Background()
		e.active(phone(1))
		access, refresh := e.login(phone(1))
		_, other := e.login(phone(1))
		if _, err := e.svc.SetStatus(ctx, phone(1), accounts.StatusBlocked); err != nil {
			t.Fatal(err)
		}
		e.me(access).want(t, http.StatusForbidden, "account_blocked")
		e.refresh(refresh).want(t, http.StatusUnauthorized, "invalid_token")
		e.refresh(other).want(t, http.StatusUnauthorized, "invalid_token")
		u, err := e.svc.SetStatus(ctx, phone(1), accounts.StatusActive)
		if err != nil || u.Status != accounts.StatusActive {
			t.Fatalf("SetStatus active: %+v, %v", u, err)
		}
		e.refresh(refresh).want(t, http.StatusUnauthorized, "invalid_token")
		// Unblocking does not bring back what blocking ended.
		e.me(access).want(t, http.StatusUnauthorized, "invalid_token")
		fresh, _ := e.login(phone(1))
		e.me(fresh).want(t, http.StatusOK, "")
	})
}

func TestLoginFailuresPerPhoneAreLimited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, withMemoryLimiter)
		e.active(phone(1))
		for i := range 10 {
			if r := e.post("/v1/auth/login", loginBody(phone(1), "wrong password")); r.status != 401 {
				t.Fatalf("failure %d: status %d, want 401", i+1, r.status)
			}
		}
		r := e.post("/v1/auth/login", loginBody(phone(1), password))
		r.want(t, http.StatusTooManyRequests, "rate_limited")
		if ra := r.header.Get("Retry-After"); ra != "90" {
			t.Errorf("Retry-After %q, want 90 (15 min / 10)", ra)
		}
		e.post("/v1/auth/login", loginBody(phone(2), "wrong password")).want(t, http.StatusUnauthorized, "invalid_credentials")
	})
}

func TestLoginFailuresPerIPAreLimited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, withMemoryLimiter)
		ctx := context.Background()
		// IPv6 clients are counted by /64.
		ip, sameNet, other := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::ffff"),
			netip.MustParseAddr("2001:db8:0:1::1")
		// Half a second apart, so that the login requests' own limit (60 a
		// minute) lets them through while the failures' (100 per 15 min)
		// refills by one every 9 s: it refuses after 100 to 106 failures.
		failures := 0
		for ; failures < 120; failures++ {
			e.clock.Advance(time.Second / 2)
			_, err := e.svc.CheckPassword(ctx, phone(100+failures), password, accounts.Caller{IP: ip})
			if errs.Is(err, errs.TooMany, "rate_limited") {
				break
			}
			if !errs.Is(err, errs.Unauthorized, "invalid_credentials") {
				t.Fatalf("failure %d: %v, want invalid_credentials", failures+1, err)
			}
		}
		if failures < 100 || failures > 106 {
			t.Errorf("refused after %d failures, want 100 to 106", failures)
		}
		if _, err := e.svc.CheckPassword(ctx, phone(1), password, accounts.Caller{IP: sameNet}); !errs.Is(err, errs.TooMany, "rate_limited") {
			t.Errorf("next failure from the same /64: %v, want rate_limited", err)
		}
		if _, err := e.svc.CheckPassword(ctx, phone(1), password, accounts.Caller{IP: other}); !errs.Is(err, errs.Unauthorized, "invalid_credentials") {
			t.Errorf("another /64: %v, want invalid_credentials", err)
		}
	})
}

func withMemoryLimiter(c *accounts.Config) { c.Limiter = ratelimit.NewMemory(c.Now) }

func TestRoutesAreLimitedPerIP(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, withMemoryLimiter)
		for i := range 20 {
			r := e.post("/v1/auth/signup", signupBody(phone(i)))
			r.want(t, http.StatusCreated, "")
			if got := r.header.Get("X-RateLimit-Limit"); got != "20" {
				t.Fatalf("X-RateLimit-Limit %q, want 20", got)
			}
		}
		before := e.counts()
		r := e.post("/v1/auth/signup", signupBody(phone(20)))
		r.want(t, http.StatusTooManyRequests, "rate_limited")
		for h, want := range map[string]string{"X-RateLimit-Remaining": "0", "Retry-After": "180"} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s %q, want %q", h, got, want)
			}
		}
		if after := e.counts(); after["users"] != before["users"] {
			t.Errorf("users %d after a refused sign-up, want %d", after["users"], before["users"])
		}
	})
}

func TestForgotAndReset(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.active(phone(1))
		_, refresh := e.login(phone(1))
		e.clock.Advance(time.Minute) // past the sign-up SMS's cooldown
		known := e.post("/v1/auth/password/forgot", map[string]string{"phone": phone(1)})
		unknown := e.post("/v1/auth/password/forgot", map[string]string{"phone": phone(2)})
		known.want(t, http.StatusAccepted, "")
		if unknown.status != known.status || !bytes.Equal(unknown.body, known.body) {
			t.Errorf("unknown phone: %d %s; known: %d %s; want the same", unknown.status, unknown.body, known.status, known.body)
		}
		code := e.code(phone(1))
		reset := func(c, pw string) resp {
			return e.post("/v1/auth/password/reset", map[string]string{"phone": phone(1), "code": c, "new_password": pw})
		}
		reset(otherCode(t, code), "a new password").want(t, http.StatusBadRequest, "invalid_code")
		reset(code, "a new password").want(t, http.StatusOK, "")
		reset(code, "a third password").want(t, http.StatusBadRequest, "invalid_code")
		e.refresh(refresh).want(t, http.StatusUnauthorized, "invalid_token")
		e.post("/v1/auth/login", loginBody(phone(1), password)).want(t, http.StatusUnauthorized, "invalid_credentials")
		e.post("/v1/auth/login", loginBody(phone(1), "a new password")).want(t, http.StatusOK, "")
		if n := len(e.gw.Messages()); n != 2 { // the sign-up code and the reset code
			t.Errorf("%d SMS delivered, want 2", n)
		}
	})
}

func TestForgotStaysQuietWhenTheQuotaIsSpent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.active(phone(1))
		e.clock.Advance(time.Minute) // past the sign-up SMS's cooldown
		first := e.post("/v1/auth/password/forgot", map[string]string{"phone": phone(1)})
		second := e.post("/v1/auth/password/forgot", map[string]string{"phone": phone(1)})
		second.want(t, http.StatusAccepted, "")
		if !bytes.Equal(first.body, second.body) {
			t.Errorf("answers %s and %s, want the same", first.body, second.body)
		}
		if n := e.counts()["sms"]; n != 2 {
			t.Errorf("%d SMS queued, want 2: sign-up and one reset", n)
		}
	})
}

func TestAdminCreateAndSetStatus(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ctx := context.Background()
		u, err := e.svc.CreateUser(ctx, accounts.NewUser{Phone: phone(1), Password: password, FirstName: "Ada",
			LastName: "Admin", Email: "ada@example.com", Role: accounts.RoleAdmin})
		if err != nil || u.Status != accounts.StatusActive || u.VerifiedAt.IsZero() || u.Role != accounts.RoleAdmin {
			t.Fatalf("CreateUser: %+v, %v; want an active, verified admin", u, err)
		}
		if got, err := e.svc.UserByID(ctx, u.ID); err != nil || got.Phone != phone(1) {
			t.Errorf("UserByID: %+v, %v", got, err)
		}
		if b, err := json.Marshal(accounts.FullUser(u)); err != nil || !strings.Contains(string(b), `"verified_at":"2024-01-15T10:30:00Z"`) {
			t.Errorf("FullUser = %s, %v; want verified_at", b, err)
		}
		access, _ := e.login(phone(1))
		if m := e.me(access).want(t, http.StatusOK, ""); m["role"] != "admin" {
			t.Errorf("role %v, want admin", m["role"])
		}
		bad := []struct {
			err  func() error
			code string
		}{
			{func() error {
				_, err := e.svc.CreateUser(ctx, accounts.NewUser{Phone: phone(1), Password: password, FirstName: "A", LastName: "B", Email: "a@b.co"})
				return err
			}, "phone_taken"},
			{func() error {
				_, err := e.svc.CreateUser(ctx, accounts.NewUser{Phone: phone(2), Password: password, FirstName: "A", LastName: "B", Email: "a@b.co", Role: "root"})
				return err
			}, "invalid_role"},
			{func() error { _, err := e.svc.SetStatus(ctx, phone(1), "pending"); return err }, "invalid_status"},
			{func() error { _, err := e.svc.SetStatus(ctx, phone(2), "blocked"); return err }, "user_not_found"},
			{func() error { _, err := e.svc.UserByID(ctx, "user_000000000000"); return err }, "user_not_found"},
		}
		for _, b := range bad {
			if got := errs.From(b.err()).Code; got != b.code {
				t.Errorf("got %s, want %s", got, b.code)
			}
		}
	})
}
