package connect_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// wrong returns a 6-digit code other than code.
func wrong(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestOTPVerifyOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		code := e.sendOTP(key, "100", "login", a)

		wantBody(t, "first verify", e.verify(key, "100", "login", code), http.StatusOK, success)
		wantError(t, "replayed code", e.verify(key, "100", "login", code), http.StatusBadRequest, "Invalid OTP code")
		if n := e.count(`SELECT COUNT(*) FROM otps`); n != 0 {
			t.Errorf("otps after a successful verify: %d rows, want 0", n)
		}
		wantError(t, "unknown reference", e.verify(key, "100", "payment", code), http.StatusBadRequest, "Invalid OTP code")
	})
}

// TestOTPSixthTry: five wrong codes each answer Invalid OTP code and the
// fifth kills the OTP; the sixth try, even with the right code, is refused
// with Too many attempts until the OTP expires.
func TestOTPSixthTry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		code := e.sendOTP(key, "100", "login", a)
		for i := 1; i <= 5; i++ {
			wantError(t, "wrong try", e.verify(key, "100", "login", wrong(code)), http.StatusBadRequest, "Invalid OTP code")
			if got, dead := e.newest(a).Code, i == 5; (got == "") != dead {
				t.Fatalf("after %d wrong tries the inbox shows code %q; want it shown only while the OTP lives", i, got)
			}
		}
		r := e.verify(key, "100", "login", code)
		wantError(t, "sixth try", r, http.StatusTooManyRequests, "Too many attempts")
		if got := r.header.Get("Retry-After"); got != "" {
			t.Errorf("Too many attempts: Retry-After = %q, want none (only a new OTP helps)", got)
		}
		if n := e.count(`SELECT attempts FROM otps`); n != 5 {
			t.Errorf("attempts = %d, want 5: refused tries are not counted", n)
		}
		e.clock.Advance(5 * time.Minute)
		wantError(t, "after expiry", e.verify(key, "100", "login", code), http.StatusGone, "OTP expired")
	})
}

func TestOTPReplacedByNewSend(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		first := e.sendOTP(key, "100", "login", a)
		firstMsg := e.newest(a)
		other := e.sendOTP(key, "100", "payment", a)
		second := e.sendOTP(key, "100", "login", a)

		msgs := e.messages(a)
		if len(msgs) != 3 || msgs[2].ID != firstMsg.ID || msgs[2].Code != "" || msgs[1].Code != other || msgs[0].Code != second {
			t.Fatalf("inbox = %+v; want the replaced OTP without its code, the two live ones with theirs", msgs)
		}
		if first != second {
			wantError(t, "replaced code", e.verify(key, "100", "login", first), http.StatusBadRequest, "Invalid OTP code")
		}
		wantBody(t, "new code", e.verify(key, "100", "login", second), http.StatusOK, success)
		wantBody(t, "other reference", e.verify(key, "100", "payment", other), http.StatusOK, success)
	})
}

func TestOTPExpiry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		app, key, err := e.svc.CreateApp(t.Context(), "Quick", []string{"https://your-app.com/nofbox-return/"}, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		code := e.sendOTP(key, "100", "login", a)
		if got, want := e.newest(a).ExpiresAt, e.clock.Now().Add(app.OTPTTL); !got.Equal(want) {
			t.Fatalf("inbox expires_at = %v, want %v", got, want)
		}
		e.clock.Advance(30*time.Second - time.Millisecond)
		wantError(t, "just before expiry, wrong code", e.verify(key, "100", "login", wrong(code)), http.StatusBadRequest, "Invalid OTP code")
		e.clock.Advance(time.Millisecond)
		wantError(t, "at expiry", e.verify(key, "100", "login", code), http.StatusGone, "OTP expired")
		if got := e.newest(a).Code; got != "" {
			t.Errorf("the inbox still shows the expired code %q", got)
		}
		// A new send starts over.
		code = e.sendOTP(key, "100", "login", a)
		wantBody(t, "new OTP", e.verify(key, "100", "login", code), http.StatusOK, success)
	})
}

// TestOTPConcurrentGuesses: parallel wrong tries cannot exceed the cap.
func TestOTPConcurrentGuesses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		code := e.sendOTP(key, "100", "login", a)
		body := encode(t, map[string]any{"user_id": "100", "reference": "login", "code": wrong(code)})
		done := make(chan int)
		for range 12 {
			go func() {
				req, _ := http.NewRequest(http.MethodPost, e.server.URL+"/api/otp/verify", strings.NewReader(body))
				req.Header.Set("X-Api-Key", key)
				res, err := e.server.Client().Do(req)
				if err != nil {
					done <- 0
					return
				}
				res.Body.Close()
				done <- res.StatusCode
			}()
		}
		counted := 0
		for range 12 {
			switch <-done {
			case http.StatusBadRequest:
				counted++
			case http.StatusTooManyRequests:
			default:
				t.Errorf("a parallel try got neither 400 nor 429")
			}
		}
		if counted != 5 {
			t.Errorf("%d of 12 parallel wrong tries were counted, want exactly 5", counted)
		}
		wantError(t, "right code after", e.verify(key, "100", "login", code), http.StatusTooManyRequests, "Too many attempts")
	})
}
