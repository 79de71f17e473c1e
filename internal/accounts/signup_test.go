package accounts_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
)

func TestParallelSignupsMakeOneAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		const n = 50
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { statuses <- e.post("/v1/auth/signup", signupBody(phone(7))).status })
		}
		wg.Wait()
		close(statuses)
		got := map[int]int{}
		for s := range statuses {
			got[s]++
		}
		if got[201] != 1 || got[409] != n-1 {
			t.Errorf("statuses %v, want one 201 and %d 409", got, n-1)
		}
		if c := e.counts(); c["users"] != 1 || c["verification_codes"] != 1 || c["sms"] != 1 {
			t.Errorf("rows %v, want one user, one code, one SMS", c)
		}
	})
}

func TestSignupNormalizes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		b := signupBody("+257 61 23-45.67")
		b["first_name"], b["last_name"], b["username"] = "  Émile ", "\tDoe\t", "Emile_1"
		delete(b, "role")
		m := e.post("/v1/auth/signup", b).want(t, http.StatusCreated, "")
		want := map[string]any{"phone": "+25761234567", "first_name": "Émile", "last_name": "Doe",
			"username": "emile_1", "role": "user"}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s = %#v, want %#v", k, m[k], v)
			}
		}
		b = signupBody(phone(3))
		b["username"] = "EMILE_1"
		e.post("/v1/auth/signup", b).want(t, http.StatusConflict, "username_taken")
		if n := e.counts()["users"]; n != 1 {
			t.Errorf("%d users, want 1", n)
		}
	})
}

func TestPendingPhoneIsFreedOnlyWhenItsCodeExpires(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		first := e.signup(phone(1))
		e.code(phone(1))
		e.clock.Advance(9 * time.Minute)
		e.post("/v1/auth/signup", signupBody(phone(1))).want(t, http.StatusConflict, "phone_taken")
		e.clock.Advance(time.Minute)
		second := e.signup(phone(1))
		if second == first {
			t.Fatal("the second sign-up kept the first account's id")
		}
		if n := e.counts()["users"]; n != 1 {
			t.Fatalf("%d users, want 1", n)
		}
		code := e.code(phone(1))
		m := e.post("/v1/auth/verify", map[string]string{"phone": phone(1), "verification_code": code}).
			want(t, http.StatusOK, "")
		if id := m["user"].(map[string]any)["id"]; id != second {
			t.Errorf("verified %v, want the new account %s", id, second)
		}
		e.clock.Advance(time.Hour)
		e.post("/v1/auth/signup", signupBody(phone(1))).want(t, http.StatusConflict, "phone_taken")
	})
}

func TestWrongCodesKillTheCode(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.signup(phone(1))
		code := e.code(phone(1))
		wrong := otherCode(t, code)
		verify := func(c string) resp {
			return e.post("/v1/auth/verify", map[string]string{"phone": phone(1), "verification_code": c})
		}
		for i := range 5 {
			if r := verify(wrong); r.status != 400 {
				t.Fatalf("wrong code %d: status %d %s, want 400 invalid_code", i+1, r.status, r.body)
			}
		}
		verify(code).want(t, http.StatusTooManyRequests, "too_many_attempts")
		e.clock.Advance(time.Minute)
		e.post("/v1/auth/resend", map[string]string{"phone": phone(1)}).want(t, http.StatusAccepted, "")
		verify(code).want(t, http.StatusBadRequest, "invalid_code") // the old code died with its row
		verify(e.code(phone(1))).want(t, http.StatusOK, "")
		verify(code).want(t, http.StatusBadRequest, "invalid_code") // verified: as an unknown phone
		verify(wrong).want(t, http.StatusBadRequest, "invalid_code")
	})
}

// otherCode returns a six-digit code other than code.
func otherCode(t *testing.T, code string) string {
	t.Helper()
	n, err := strconv.Atoi(code)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%06d", (n+1)%1000000)
}

func TestConcurrentGuessesShareNoAttempt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.signup(phone(1))
		code := e.code(phone(1))
		wrong := otherCode(t, code)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { e.post("/v1/auth/verify", map[string]string{"phone": phone(1), "verification_code": wrong}) })
		}
		wg.Wait()
		e.post("/v1/auth/verify", map[string]string{"phone": phone(1), "verification_code": code}).
			want(t, http.StatusTooManyRequests, "too_many_attempts")
	})
}

func TestCodeExpiresAfterTenMinutes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.signup(phone(1))
		code := e.code(phone(1))
		e.clock.Advance(10 * time.Minute)
		e.post("/v1/auth/verify", map[string]string{"phone": phone(1), "verification_code": code}).
			want(t, http.StatusGone, "code_expired")
	})
}

// TestResendCooldownAndSMSCap: one SMS per phone per minute, five per hour.
// A refused resend answers as a sent one does — resend tells nobody
// whether the phone has an account — but queues nothing.
func TestResendCooldownAndSMSCap(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.signup(phone(1))
		queued := func() int { return e.counts()["sms"] }
		resend := func(wantQueued int) {
			t.Helper()
			e.post("/v1/auth/resend", map[string]string{"phone": phone(1)}).want(t, http.StatusAccepted, "")
			if n := queued(); n != wantQueued {
				t.Fatalf("%d SMS queued, want %d", n, wantQueued)
			}
		}
		resend(1) // within the sign-up SMS's minute: refused
		for i := range 4 {
			e.clock.Advance(time.Minute)
			resend(2 + i)
		}
		e.clock.Advance(time.Minute)
		resend(5) // the sixth in the window that began 5 min ago: refused
		e.clock.Advance(55 * time.Minute)
		resend(6)
		for range 6 {
			e.code(phone(1))
		}
	})
}

// TestSMSCapAcrossSignups: replacing a stale pending account does not reset
// the phone's SMS quota.
func TestSMSCapAcrossSignups(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		for range 5 {
			e.signup(phone(1))
			e.clock.Advance(10 * time.Minute)
		}
		e.post("/v1/auth/signup", signupBody(phone(1))).want(t, http.StatusTooManyRequests, "rate_limited")
		if c := e.counts(); c["users"] != 1 || c["sms"] != 5 {
			t.Errorf("rows %v, want 1 user and 5 SMS", c)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for range 5 {
			if _, err := e.gw.Wait(ctx, phone(1)); err != nil {
				t.Fatal(err)
			}
		}
	})
}
