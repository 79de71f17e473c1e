package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestPagesShareTheAPILimits: the hosted sign-up and the API's count
// against one per-IP bucket (20 an hour), so flooding the pages sends no
// more SMS than flooding the API; resend, whose answers say nothing, is
// limited on the page too.
func TestPagesShareTheAPILimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		b := e.browser()
		signupPage := func() page {
			return b.submit("/signup", "/signup", url.Values{"phone": {e.phone()}, "password": {password},
				"first_name": {"Ada"}, "last_name": {"Lovelace"}, "email": {"ada@example.com"}})
		}
		signupAPI := func() int {
			body, _ := json.Marshal(map[string]string{"phone": e.phone(), "password": password,
				"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})
			r, err := http.Post(e.server.URL+"/v1/auth/signup", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			return r.StatusCode
		}
		for i := range 10 {
			want(t, "page sign-up", signupPage(), http.StatusSeeOther, "")
			if got := signupAPI(); got != http.StatusCreated {
				t.Fatalf("API sign-up %d: %d, want 201", i+1, got)
			}
		}
		p := signupPage()
		want(t, "21st sign-up from one IP, on the page", p, http.StatusTooManyRequests, "")
		if p.header.Get("Retry-After") == "" {
			t.Error("the page's 429 has no Retry-After")
		}
		if got := signupAPI(); got != http.StatusTooManyRequests {
			t.Errorf("22nd sign-up from one IP, through the API: %d, want 429", got)
		}
		for range 20 {
			want(t, "resend", b.submit("/signup/verify", "/signup/resend", url.Values{"phone": {e.phone()}}),
				http.StatusOK, "")
		}
		want(t, "21st resend from one IP", b.submit("/signup/verify", "/signup/resend",
			url.Values{"phone": {e.phone()}}), http.StatusTooManyRequests, "")
	})
}
