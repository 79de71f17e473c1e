package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestHostCookiesOverHTTPS: with an https public URL every cookie of the
// pages is a __Host- cookie (Secure, Path=/, no Domain), and the pages read
// them by that name. The test server speaks plain http, so the cookies are
// carried by hand, as a browser would over https.
func TestHostCookiesOverHTTPS(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL, "https://linkbox.example")
		u := e.user()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		jar := map[string]string{}
		send := func(method, path string, form url.Values) *http.Response {
			t.Helper()
			req, err := http.NewRequest(method, e.server.URL+path, strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			if form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			for name, value := range jar {
				req.AddCookie(&http.Cookie{Name: name, Value: value})
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { res.Body.Close() })
			for _, c := range res.Cookies() {
				if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || c.Path != "/" || c.Domain != "" {
					t.Errorf("%s %s set cookie %q: want a __Host- cookie, Secure, Path=/, no Domain", method, path, c.String())
				}
				jar[c.Name] = c.Value
			}
			return res
		}
		login := send("GET", "/login", nil)
		p := readPage(t, login)
		send("GET", "/login?lang=nl", nil)
		res := send("POST", "/login", url.Values{"csrf": {p.csrf(t)}, "phone": {u.Phone}, "password": {password}})
		if res.StatusCode != http.StatusSeeOther || jar["__Host-linkbox_session"] == "" {
			t.Fatalf("login: %d, cookies %v; want 303 and a __Host-linkbox_session", res.StatusCode, jar)
		}
		if res := send("GET", "/account", nil); res.StatusCode != http.StatusOK {
			t.Errorf("account page with the __Host- session: %d, want 200", res.StatusCode)
		}
		if page := readPage(t, send("GET", "/signup", nil)); !strings.Contains(page.body, `lang="nl"`) {
			t.Errorf("the __Host-lang cookie was not read: %.200s", page.body)
		}
	})
}

// readPage reads res into a page.
func readPage(t *testing.T, res *http.Response) page {
	t.Helper()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(body)}
}
