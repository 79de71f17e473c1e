package accounts_test

import (
	"context"
	"net/http"
	"net/netip"
	"testing"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
)

const newPassword = "a brand new password"

func TestChangePassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		svc := e.service()
		svc.AddRevoker(streamRevoker{})
		ctx := context.Background()
		id := e.active(phone(1))
		access, refresh := e.login(phone(1))
		if err := svc.ChangePassword(ctx, id, password, newPassword, accounts.Caller{}); err != nil {
			t.Fatalf("ChangePassword: %v", err)
		}
		e.me(access).want(t, http.StatusUnauthorized, "invalid_token")
		e.refresh(refresh).want(t, http.StatusUnauthorized, "invalid_token")
		var streams int
		if err := e.d.QueryRow(ctx, `SELECT COUNT(*) FROM stream_revocations WHERE user_id = ? AND session = ''`, id).Scan(&streams); err != nil || streams != 1 {
			t.Errorf("stream revocations: %d, %v; want 1", streams, err)
		}
		e.post("/v1/auth/login", loginBody(phone(1), password)).want(t, http.StatusUnauthorized, "invalid_credentials")
		e.post("/v1/auth/login", loginBody(phone(1), newPassword)).want(t, http.StatusOK, "")
	})
}

func TestChangePasswordRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ctx := context.Background()
		id := e.active(phone(1))
		pending := e.signup(phone(2))
		for _, c := range []struct {
			name, user, current, next string
			kind                      errs.Kind
			code                      string
		}{
			{"no current", id, "", newPassword, errs.Invalid, "missing_field"},
			{"no new", id, password, "", errs.Invalid, "missing_field"},
			{"short new", id, password, "short", errs.Invalid, "invalid_password"},
			{"wrong current", id, "not the password", newPassword, errs.Invalid, "wrong_password"},
			{"pending account", pending, password, newPassword, errs.Forbidden, "account_pending"},
			{"unknown account", "user_nobody", password, newPassword, errs.NotFound, "user_not_found"},
		} {
			if err := e.svc.ChangePassword(ctx, c.user, c.current, c.next, accounts.Caller{}); !errs.Is(err, c.kind, c.code) {
				t.Errorf("%s: %v, want %s", c.name, err, c.code)
			}
		}
		// Nothing was changed: the old password still signs in.
		e.post("/v1/auth/login", loginBody(phone(1), password)).want(t, http.StatusOK, "")
	})
}

// TestChangePasswordSharesLoginLimits: wrong current passwords count as
// failed logins of the account's phone, so that a stolen page session
// guesses no faster than the login form, and the right one is refused too
// once they are spent.
func TestChangePasswordSharesLoginLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, withMemoryLimiter)
		ctx := context.Background()
		id := e.active(phone(1))
		for i := range 10 {
			c := accounts.Caller{IP: netip.AddrFrom4([4]byte{10, 0, byte(i), 1})}
			if err := e.svc.ChangePassword(ctx, id, "not the password", newPassword, c); !errs.Is(err, errs.Invalid, "wrong_password") {
				t.Fatalf("wrong password %d: %v", i, err)
			}
		}
		c := accounts.Caller{IP: netip.AddrFrom4([4]byte{10, 1, 0, 1})}
		if err := e.svc.ChangePassword(ctx, id, password, newPassword, c); !errs.Is(err, errs.TooMany, "rate_limited") {
			t.Errorf("right password after 10 failures: %v, want rate_limited", err)
		}
		e.post("/v1/auth/login", loginBody(phone(1), password)).want(t, http.StatusTooManyRequests, "rate_limited")
	})
}
