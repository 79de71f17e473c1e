package app_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// closeWithin is how soon a revoked stream must close: the revocation
// poll runs every 250 ms.
const closeWithin = 1500 * time.Millisecond

// postJSON sends body as JSON to path and returns the status.
func postJSON(t *testing.T, s *apptest.Stack, path string, body any) int {
	t.Helper()
	return s.Call(t, http.MethodPost, path, "", body).Status
}

// openStream opens an inbox stream with req's credentials and returns a
// channel closed when the server ends the stream.
func openStream(t *testing.T, s *apptest.Stack, c *http.Client, set func(*http.Request)) <-chan struct{} {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/inbox/stream", nil)
	set(req)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %s", resp.Status)
	}
	ended := make(chan struct{})
	go func() {
		io.Copy(io.Discard, resp.Body)
		close(ended)
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return ended
}

func bearerStream(s *apptest.Stack, t *testing.T, access string) <-chan struct{} {
	return openStream(t, s, http.DefaultClient, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+access) })
}

func wantClosed(t *testing.T, what string, ended <-chan struct{}, within time.Duration) {
	t.Helper()
	select {
	case <-ended:
	case <-time.After(within):
		t.Errorf("%s: the stream is still open after %s", what, within)
	}
}

func wantOpen(t *testing.T, what string, ended <-chan struct{}) {
	t.Helper()
	select {
	case <-ended:
		t.Errorf("%s: the stream closed", what)
	default:
	}
}

// TestStreamsDieWithTheirCredential: an open stream closes within a second
// or so of its session's logout, its account's block — made by another
// process, `linkbox users set-status` — and password reset, and at its
// access token's expiry; a stream of another session outlives a logout.
func TestStreamsDieWithTheirCredential(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		s := apptest.Start(t, databaseURL, map[string]string{"LINKBOX_ACCESS_TOKEN_TTL": "1h"}, app.Options{})

		t.Run("logout", func(t *testing.T) {
			s.SignUp(t, "+25761234501")
			one, two := s.Login(t, "+25761234501", apptest.Password), s.Login(t, "+25761234501", apptest.Password)
			first, second := bearerStream(s, t, one.Access), bearerStream(s, t, two.Access)
			if got := postJSON(t, s, "/v1/auth/logout", map[string]string{"refresh_token": one.Refresh}); got != http.StatusNoContent {
				t.Fatalf("logout: %d", got)
			}
			wantClosed(t, "logout", first, closeWithin)
			wantOpen(t, "another session's stream, after a logout", second)
			for _, path := range []string{"/v1/inbox/stream", "/v1/inbox/messages"} {
				req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+one.Access)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s with the logged-out session's token: %d, want 401", path, resp.StatusCode)
				}
			}
		})
		t.Run("block by another process", func(t *testing.T) {
			s.SignUp(t, "+25761234502")
			tk := s.Login(t, "+25761234502", apptest.Password)
			ended := bearerStream(s, t, tk.Access)
			if err := cli(t, databaseURL, nil, "users", "set-status", "--phone", "+25761234502", "--status", "blocked"); err != nil {
				t.Fatal(err)
			}
			wantClosed(t, "block", ended, closeWithin)
		})
		t.Run("password reset", func(t *testing.T) {
			s.SignUp(t, "+25761234503")
			tk := s.Login(t, "+25761234503", apptest.Password)
			ended := bearerStream(s, t, tk.Access)
			postJSON(t, s, "/v1/auth/password/forgot", map[string]string{"phone": "+25761234503"})
			if got := postJSON(t, s, "/v1/auth/password/reset", map[string]string{"phone": "+25761234503",
				"code": smsCode(t, s.SMS, "+25761234503"), "new_password": "another password"}); got != http.StatusOK {
				t.Fatalf("reset: %d", got)
			}
			wantClosed(t, "reset", ended, closeWithin)
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/auth/me", nil)
			req.Header.Set("Authorization", "Bearer "+tk.Access)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("me with a token issued before the reset: %v %v, want 401", resp.Status, err)
			}
		})
		t.Run("page logout", func(t *testing.T) {
			s.SignUp(t, "+25761234504")
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			form(t, s, c, "/login", "/login", url.Values{"phone": {"+25761234504"}, "password": {apptest.Password}})
			ended := openStream(t, s, c, func(*http.Request) {})
			form(t, s, c, "/account", "/logout", nil)
			wantClosed(t, "page logout", ended, closeWithin)
		})
	})
}

// TestStreamClosesAtTokenExpiry: a stream opened with an access token
// closes when the token expires.
func TestStreamClosesAtTokenExpiry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		s := apptest.Start(t, databaseURL, map[string]string{"LINKBOX_ACCESS_TOKEN_TTL": "2s"}, app.Options{})
		s.SignUp(t, "+25761234505")
		tk := s.Login(t, "+25761234505", apptest.Password)
		ended := bearerStream(s, t, tk.Access)
		wantOpen(t, "before the expiry", ended)
		wantClosed(t, "expiry", ended, 2*time.Second+closeWithin)
	})
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// form gets the page from and posts form to path with the page's CSRF
// token, as a browser with c's cookies.
func form(t *testing.T, s *apptest.Stack, c *http.Client, from, path string, form url.Values) {
	t.Helper()
	resp, err := c.Get(s.URL + from)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("GET %s: %d, no CSRF token", from, resp.StatusCode)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", string(m[1]))
	resp, err = c.PostForm(s.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s: %d, want 303", path, resp.StatusCode)
	}
}
