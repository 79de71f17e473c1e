package accounts_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestAnswersDoNotTellWhoHasAnAccount: resend, verify and password/reset
// give an unknown phone the very answer a known one gets (sign-up's
// phone_taken stays: the seed needs it).
func TestAnswersDoNotTellWhoHasAnAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		active, pending, unknown := phone(1), phone(2), phone(3)
		e.active(active)
		e.signup(pending)
		e.code(pending)
		e.clock.Advance(time.Minute) // past the sign-up SMS's cooldown
		same := func(path string, body func(phone string) map[string]string, phones ...string) {
			t.Helper()
			first := e.post(path, body(phones[0]))
			for _, p := range phones[1:] {
				r := e.post(path, body(p))
				if r.status != first.status || !bytes.Equal(r.body, first.body) {
					t.Errorf("%s for %s: %d %s; for %s: %d %s; want the same", path, p, r.status, r.body,
						phones[0], first.status, first.body)
				}
			}
		}
		same("/v1/auth/resend", func(p string) map[string]string { return map[string]string{"phone": p} },
			unknown, active, pending)
		e.code(pending) // the pending account did get its code
		same("/v1/auth/verify", func(p string) map[string]string {
			return map[string]string{"phone": p, "verification_code": "000000"}
		}, unknown, active)
		same("/v1/auth/password/reset", func(p string) map[string]string {
			return map[string]string{"phone": p, "code": "000000", "new_password": "another password"}
		}, unknown, active)
		e.post("/v1/auth/password/reset", map[string]string{"phone": unknown, "code": "000000",
			"new_password": "another password"}).want(t, http.StatusBadRequest, "invalid_code")
	})
}

// TestForgotDoesNotSpendTheSignupQuota: asking for a stranger's password
// reset must not block their sign-up code: each purpose has its own quota.
func TestForgotDoesNotSpendTheSignupQuota(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		for range 5 {
			e.post("/v1/auth/password/forgot", map[string]string{"phone": phone(1)}).want(t, http.StatusAccepted, "")
			e.clock.Advance(time.Minute)
		}
		e.signup(phone(1))
		e.code(phone(1))
	})
}
