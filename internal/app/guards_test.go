package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// newGuarded is the whole Linkbox with settings of the test's own, every
// exchange held to the OpenAPI document.
func newGuarded(t *testing.T, databaseURL string, settings map[string]string) *contract {
	t.Helper()
	st := apptest.Start(t, databaseURL, settings, app.Options{})
	c := &contract{srv: st.Server, url: st.URL, sms: st.SMS}
	c.loadDocument(t)
	return c
}

// signupOf is a sign-up body for phone.
func signupOf(phone string) string {
	return `{"phone":"` + phone + `","password":"` + flowPassword + `","first_name":"John","last_name":"Doe","email":"hello.world@gmail.com"}`
}

// usersWithPhone counts the accounts the store holds for phone.
func usersWithPhone(t *testing.T, databaseURL, phone string) int {
	t.Helper()
	var n int
	if err := dbtest.Open(t, databaseURL).QueryRow(context.Background(), `SELECT COUNT(*) FROM users WHERE phone = ?`, phone).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// errorCode is the code of an Accounts API error answer.
func errorCode(t *testing.T, r *result) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	decode(t, r, &e)
	return e.Error.Code
}

// An SMS to a country off LINKBOX_SMS_COUNTRIES is refused, and the sign-up
// that asked for it leaves nothing behind.
func TestSMSCountryAllowList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		c := newGuarded(t, databaseURL, map[string]string{"LINKBOX_SMS_COUNTRIES": "BI"})
		const gb = "+447400123456"
		r := c.do(t, post("/v1/auth/signup", signupOf(gb), http.StatusBadRequest))
		if got := errorCode(t, r); got != "sms_country_not_allowed" {
			t.Errorf("sign-up to GB: code %q, want sms_country_not_allowed (%s)", got, r)
		}
		if n := usersWithPhone(t, databaseURL, gb); n != 0 {
			t.Errorf("refused sign-up left %d user rows, want 0", n)
		}
		c.do(t, post("/v1/auth/signup", signupOf(flowPhone), http.StatusCreated))
		c.code(t, flowPhone) // its SMS went out
	})
}

// LINKBOX_SMS_BUDGET=2: the third SMS of the hour is refused with 429 and
// Retry-After, and its sign-up is not written.
func TestSMSBudget(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		c := newGuarded(t, databaseURL, map[string]string{"LINKBOX_SMS_BUDGET": "2"})
		for i := range 2 {
			c.do(t, post("/v1/auth/signup", signupOf(fmt.Sprintf("+2576123450%d", i)), http.StatusCreated))
		}
		const third = "+25761234502"
		r := c.do(t, post("/v1/auth/signup", signupOf(third), http.StatusTooManyRequests))
		if got := errorCode(t, r); got != "sms_budget_exhausted" {
			t.Errorf("third sign-up: code %q, want sms_budget_exhausted (%s)", got, r)
		}
		// 2 an hour: the next one in 30 minutes.
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 29*60 || s > 30*60 {
			t.Errorf("Retry-After = %q, want about 1800 seconds", r.header.Get("Retry-After"))
		}
		if n := usersWithPhone(t, databaseURL, third); n != 0 {
			t.Errorf("refused sign-up left %d user rows, want 0", n)
		}
	})
}

// With LINKBOX_REDIS_URL unreachable the limits hold (each instance's own,
// in memory), requests do not wait for Redis, and /readyz says so.
func TestRedisDown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		c := newGuarded(t, databaseURL, map[string]string{"LINKBOX_REDIS_URL": "redis://" + freeAddr(t) + "/0"})
		r := c.do(t, get("/readyz", http.StatusOK))
		if r.text("status") != "ok" || r.text("redis") != "down" {
			t.Errorf("/readyz with Redis down = %s, want status ok, redis down", r)
		}
		var worst time.Duration
		for i := range 40 {
			start := time.Now()
			r := c.do(t, post("/v1/auth/signup", signupOf(fmt.Sprintf("+257612345%02d", i)), 0))
			worst = max(worst, time.Since(start))
			if r.status == http.StatusTooManyRequests {
				if got := errorCode(t, r); got != "rate_limited" || i == 0 {
					t.Errorf("sign-up %d refused with %q, want rate_limited after the per-IP limit's burst", i+1, got)
				}
				t.Logf("sign-up %d from one IP: 429, slowest request %s", i+1, worst)
				if worst > time.Second {
					t.Errorf("slowest sign-up with Redis down: %s, want well under a second", worst)
				}
				return
			}
			if r.status != http.StatusCreated {
				t.Fatalf("sign-up %d = %s, want 201 or 429", i+1, r)
			}
		}
		t.Errorf("40 sign-ups from one IP with Redis down: all allowed, want the per-IP limit to refuse")
	})
}

func TestReadyNamesRedisUp(t *testing.T) {
	url := os.Getenv("LINKBOX_TEST_REDIS_URL")
	if url == "" {
		t.Skip("LINKBOX_TEST_REDIS_URL is not set")
	}
	c := newGuarded(t, dbtest.SQLite(t), map[string]string{"LINKBOX_REDIS_URL": url})
	if r := c.do(t, get("/readyz", http.StatusOK)); r.text("status") != "ok" || r.text("redis") != "up" {
		t.Errorf("/readyz with Redis up = %s, want status ok, redis up", r)
	}
	c = newGuarded(t, dbtest.SQLite(t), nil)
	if r := c.do(t, get("/readyz", http.StatusOK)); r.text("redis") != "" {
		t.Errorf("/readyz without Redis = %s, want no redis field", r)
	}
}
