package devicelinks_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// browser is a cookie-keeping client that follows no redirect, to step
// through the flow one answer at a time.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// authorizeURL opens linkURL and chooses the brand: the manufacturer's
// authorize URL the browser is sent to.
func authorizeURL(t *testing.T, c *http.Client, f *flow, linkURL string) *url.URL {
	t.Helper()
	_, page := get(t, c, linkURL)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form: %.300s", page)
	}
	token := strings.TrimPrefix(linkURL, f.st.URL+"/connect?token=")
	resp, err := c.PostForm(f.st.URL+"/connect/brand", url.Values{"csrf": {m[1]}, "token": {token}, "manufacturer": {"fake"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), f.fake.URL+"/authorize?") {
		t.Fatalf("brand choice: %d %v", resp.StatusCode, loc)
	}
	if q := loc.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
		t.Fatalf("authorize URL without PKCE or state: %v", loc)
	}
	return loc
}

// callbackURL is where the manufacturer sends the browser back.
func callbackURL(t *testing.T, c *http.Client, authorize *url.URL) string {
	t.Helper()
	resp, _ := get(t, c, authorize.String())
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("manufacturer: %d", resp.StatusCode)
	}
	return loc.String()
}

// result is the supplier's redirect an answer makes, or nil for none.
func result(t *testing.T, f *flow, resp *http.Response) url.Values {
	t.Helper()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.String(), f.back+"?") {
		return nil
	}
	return loc.Query()
}

func TestCallbackRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFlow(t, dbURL)
		c := browser(t)
		cb := callbackURL(t, c, authorizeURL(t, c, f, f.link(t, "u1", "en")))

		// Another browser's state: refused, nothing redirected, no mapping.
		if resp, _ := get(t, browser(t), cb); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("foreign browser: %d", resp.StatusCode)
		}
		// ... and does not spend it: its own browser still connects.
		if v := result(t, f, mustGet(t, c, cb)); v.Get("connection_status") != "connected" {
			t.Fatalf("after a foreign browser: %v", v)
		}

		// A replayed state: the first answer connects, the second is refused.
		cb = callbackURL(t, c, authorizeURL(t, c, f, f.link(t, "u2", "en")))
		if v := result(t, f, mustGet(t, c, cb)); v.Get("connection_status") != "connected" {
			t.Fatalf("first callback: %v", v)
		}
		if resp, body := get(t, c, cb); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<html") {
			t.Fatalf("replay: %d", resp.StatusCode)
		}

		// A PKCE mismatch: the manufacturer refuses the code; failed, cleanly.
		a := authorizeURL(t, c, f, f.link(t, "u3", "en"))
		q := a.Query()
		q.Set("code_challenge", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		a.RawQuery = q.Encode()
		if v := result(t, f, mustGet(t, c, callbackURL(t, c, a))); v.Get("connection_status") != "failed" || v.Get("error") != "token_exchange_failed" {
			t.Fatalf("PKCE mismatch: %v", v)
		}

		// A broken answer (no code, no error): failed.
		a = authorizeURL(t, c, f, f.link(t, "u4", "en"))
		if v := result(t, f, mustGet(t, c, f.st.URL+"/oauth/callback?state="+a.Query().Get("state"))); v.Get("connection_status") != "failed" || v.Get("error") != "invalid_response" {
			t.Fatalf("broken answer: %v", v)
		}
		if n, err := f.st.Server.DeviceLinks.Rows(t.Context(), "devicelinks_mappings"); err != nil || n != 2 {
			t.Fatalf("mappings: %d, %v", n, err)
		}
	})
}

func mustGet(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	resp, _ := get(t, c, u)
	return resp
}

func TestExpiredSessionFails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		clock := clocktest.New(time.Now())
		f := newFlowWith(t, dbURL, app.Options{Now: clock.Now})
		c := browser(t)
		a := authorizeURL(t, c, f, f.link(t, "u1", "en"))
		cb := callbackURL(t, c, a)
		clock.Advance(15*time.Minute + time.Second)
		if v := result(t, f, mustGet(t, c, cb)); v.Get("connection_status") != "failed" || v.Get("error") != "session_expired" {
			t.Fatalf("late callback: %v", v)
		}
		// The page of an expired link is a 410 page.
		if resp, _ := get(t, c, f.link(t, "u2", "en")); resp.StatusCode != http.StatusOK {
			t.Fatalf("fresh link: %d", resp.StatusCode)
		}
		link := f.link(t, "u3", "en")
		clock.Advance(16 * time.Minute)
		if resp, _ := get(t, c, link); resp.StatusCode != http.StatusGone {
			t.Fatalf("expired link page: %d", resp.StatusCode)
		}
		if n, err := f.st.Server.DeviceLinks.Rows(t.Context(), "devicelinks_mappings"); err != nil || n != 0 {
			t.Fatalf("mappings: %d, %v", n, err)
		}
	})
}

// TestRacingCallbacks: the same answer from the manufacturer arriving
// several times at once is taken once; the others are refused, as a
// replay is.
func TestRacingCallbacks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFlow(t, dbURL)
		c := browser(t)
		cb := callbackURL(t, c, authorizeURL(t, c, f, f.link(t, "u1", "en")))
		const racers = 4
		statuses := make(chan int, racers)
		var wg sync.WaitGroup
		for range racers {
			wg.Go(func() {
				resp, err := c.Get(cb)
				if err != nil {
					statuses <- 0
					return
				}
				resp.Body.Close()
				statuses <- resp.StatusCode
			})
		}
		wg.Wait()
		close(statuses)
		counts := map[int]int{}
		for st := range statuses {
			counts[st]++
		}
		if counts[http.StatusSeeOther] != 1 || counts[http.StatusBadRequest] != racers-1 {
			t.Fatalf("answers by status: %v; want one 303, the others 400", counts)
		}
		if n, err := f.st.Server.DeviceLinks.Rows(t.Context(), "devicelinks_events"); err != nil || n != 1 {
			t.Fatalf("events: %d, %v; want the connect only", n, err)
		}
	})
}
