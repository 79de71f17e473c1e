package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/inbox"
)

func TestUnlinkFromAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		app, key := e.app("Acme")
		b := e.browser()
		b.login(e.user())
		e.approve(b, key, "ext-1")

		p := b.get("/account")
		want(t, "account", p, http.StatusOK, `<li class="app" data-id="`+app.ID+`">`)
		if !strings.Contains(p.body, "linked since") || !strings.Contains(p.body, `Unlink <span class="visually-hidden">Acme</span></button>`) {
			t.Errorf("account page lacks the app's row:\n%s", p.body)
		}
		unlink := "/account/apps/" + app.ID + "/unlink"
		p = b.submit("/account", unlink, url.Values{})
		want(t, "unlink", p, http.StatusSeeOther, "")
		if got := p.location(); got != "/account" {
			t.Errorf("unlink Location = %q, want /account", got)
		}
		if e.linked(key, "ext-1") {
			t.Error("still linked after unlink")
		}
		want(t, "account after unlink", b.get("/account"), http.StatusOK, "No app is linked")
		want(t, "unlink again", b.submit("/account", unlink, url.Values{}), http.StatusSeeOther, "")
	})
}

func TestInboxPage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		_, key := e.app("Acme")
		b := e.browser()
		b.login(e.user())
		e.approve(b, key, "ext-1")
		want(t, "empty inbox", b.get("/inbox"), http.StatusOK, `data-last-event-id="0"`)

		status, out := e.api(key, "/api/otp", map[string]any{"user_id": "ext-1", "reference": "<b>ref</b>",
			"message": "Your code <script>alert(1)</script>"})
		if status != http.StatusOK {
			t.Fatalf("otp: %d %v", status, out)
		}
		p := b.get("/inbox")
		want(t, "inbox", p, http.StatusOK, "Your code &lt;script&gt;alert(1)&lt;/script&gt;")
		if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "<b>ref") {
			t.Errorf("message text rendered unescaped:\n%s", p.body)
		}
		// The stream starts after the newest message shown.
		m := regexp.MustCompile(`data-last-event-id="([^"]*)"[^>]*>\s*<li class="message unread" data-id="(msg_[0-9A-Za-z_-]{22})">`).FindStringSubmatch(p.body)
		if m == nil || m[1] != m[2] {
			t.Errorf("inbox page: want the stream to start at the first message's id:\n%s", p.body)
		}
		for _, re := range []string{`<p class="code" data-expires="[0-9T:-]+Z">[0-9]{6}</p>`, `&lt;b&gt;ref&lt;/b&gt;`,
			`<span class="sender">Acme</span>`, `<script src="/assets/inbox\.js\?v=[0-9a-f]{12}" defer></script>`} {
			if !regexp.MustCompile(re).MatchString(p.body) {
				t.Errorf("inbox page does not match %s:\n%s", re, p.body)
			}
		}
	})
}

func TestSignedOutPagesGoToLogin(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	b := e.browser()
	for path, wantLoc := range map[string]string{
		"/":        "/login",
		"/inbox":   "/login?next=%2Finbox",
		"/account": "/login?next=%2Faccount",
	} {
		p := b.get(path)
		want(t, path, p, http.StatusSeeOther, "")
		if got := p.location(); got != wantLoc {
			t.Errorf("GET %s: Location = %q, want %q", path, got, wantLoc)
		}
	}
	b.login(e.user())
	if got := b.get("/").location(); got != "/inbox" {
		t.Errorf("GET / signed in: Location = %q, want /inbox", got)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	b := e.browser()
	wantHeaders := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
			"connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	}
	for _, path := range []string{"/login", "/signup", "/signup/verify?phone=%2B1", "/linking/nope", "/inbox"} {
		p := b.get(path)
		for k, v := range wantHeaders {
			if got := p.header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, v)
			}
		}
		if strings.Contains(p.body, "<script>") || strings.Contains(p.body, "style=") {
			t.Errorf("GET %s: inline script or style:\n%s", path, p.body)
		}
	}
	for _, c := range b.c.Jar.Cookies(mustURL(t, e.server.URL)) {
		if c.Name != "linkbox_csrf" {
			t.Errorf("unexpected cookie %s before signing in", c.Name)
		}
	}
}

func TestAssets(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	b := e.browser()
	src := regexp.MustCompile(`src="(/assets/inbox\.js\?v=[0-9a-f]+)"`)
	b.login(e.user())
	m := src.FindStringSubmatch(b.get("/inbox").body)
	if m == nil {
		t.Fatal("inbox page has no script")
	}
	p := b.get(m[1])
	want(t, "inbox.js", p, http.StatusOK, `new EventSource("/v1/inbox/stream?last_event_id="`)
	if got := p.header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("inbox.js Cache-Control = %q", got)
	}
	if got := p.header.Get("Content-Type"); !strings.HasPrefix(got, "text/javascript") {
		t.Errorf("inbox.js Content-Type = %q, want text/javascript", got)
	}
	if strings.Contains(p.body, "innerHTML") {
		t.Error("inbox.js uses innerHTML")
	}
	want(t, "style.css", b.get("/assets/style.css"), http.StatusOK, ".code")
	want(t, "asset directory", b.get("/assets/"), http.StatusNotFound, "")
	want(t, "unknown asset", b.get("/assets/nope.js"), http.StatusNotFound, "")
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestInboxPageNamesAnySource: a message from a source other than an app
// (a rented number's SMS, say) shows its source's name as the sender.
func TestInboxPageNamesAnySource(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		u := e.user()
		b := e.browser()
		b.login(u)
		err := e.db.InTx(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			_, err := e.inbox.Add(ctx, tx, inbox.NewMessage{UserID: u.ID, Type: "sms",
				Source:  inbox.Source{Kind: "rental", ID: "rent_1", Name: "+1 415 555 0100"},
				Message: "Your Telegram code is 12345"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want(t, "inbox", b.get("/inbox"), http.StatusOK, `<span class="sender">&#43;1 415 555 0100</span>`)
	})
}
