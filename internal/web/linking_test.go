package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
)

func TestConsentApprove(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		_, key := e.app("Acme <Shop>")
		path := e.linkPath(key, "ext-1")
		b := e.browser()
		b.login(e.user())

		p := b.get(path)
		want(t, "consent page", p, http.StatusOK, "Acme &lt;Shop&gt; wants to link to your Linkbox account")
		for _, s := range []string{"one-time codes and notifications", "see your email address, masked: <strong id=\"scope-email\">ad****@example.com</strong>",
			"see the last four digits of your phone number: <strong id=\"scope-phone\">",
			"Either way, you will then go back to <strong id=\"return-host-name\">your-app.com</strong>.",
			`name="action" value="approve"`, `name="action" value="deny"`} {
			if !strings.Contains(p.body, s) {
				t.Errorf("consent page lacks %q", s)
			}
		}
		if got := p.header.Get("Content-Security-Policy"); !strings.Contains(got, "form-action 'self' https://your-app.com") ||
			!strings.Contains(got, "frame-ancestors 'none'") {
			t.Errorf("consent CSP = %q, want form-action with the app's origin and frame-ancestors 'none'", got)
		}

		p = b.post(path, url.Values{"csrf": {p.csrf(t)}, "action": {"approve"}})
		want(t, "approve", p, http.StatusSeeOther, "")
		if got := p.location(); got != returnURL {
			t.Errorf("approve Location = %q, want %q", got, returnURL)
		}
		if !e.linked(key, "ext-1") {
			t.Error("approve did not link")
		}
		want(t, "consent page of a used token", b.get(path), http.StatusGone, "already been used")
	})
}

func TestConsentDeny(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		_, key := e.app("Acme")
		path := e.linkPath(key, "ext-1")
		b := e.browser()
		b.login(e.user())
		p := b.submit(path, path, url.Values{"action": {"deny"}})
		want(t, "deny", p, http.StatusSeeOther, "")
		if got := p.location(); got != returnURL {
			t.Errorf("deny Location = %q, want %q", got, returnURL)
		}
		if e.linked(key, "ext-1") {
			t.Error("deny linked")
		}
	})
}

func TestConsentSignedOut(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	_, key := e.app("Acme")
	path := e.linkPath(key, "ext-1")
	b := e.browser()
	p := b.get(path)
	want(t, "linking page signed out", p, http.StatusOK, "Log in to link your account to Acme.")
	for _, s := range []string{`name="next" value="` + path + `"`, `href="/signup?next=` + url.QueryEscape(path)} {
		if !strings.Contains(strings.ToLower(p.body), strings.ToLower(s)) {
			t.Errorf("linking page signed out lacks %q:\n%s", s, p.body)
		}
	}
	p = b.post(path, url.Values{"csrf": {p.csrf(t)}, "phone": {e.user().Phone}, "password": {password}, "next": {path}})
	want(t, "approve signed out", p, http.StatusSeeOther, "")
	if got := p.location(); got != "/login?next="+url.QueryEscape(path) {
		t.Errorf("approve signed out: Location = %q, want the login page", got)
	}
	if e.linked(key, "ext-1") {
		t.Error("linked without a session")
	}
}

func TestLinkTokenPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		_, key := e.app("Acme")
		signedIn := e.browser()
		signedIn.login(e.user())
		want(t, "unknown token", signedIn.get("/linking/nope"), http.StatusNotFound, "does not exist")
		want(t, "unknown token signed out", e.browser().get("/linking/nope"), http.StatusNotFound, "does not exist")

		path := e.linkPath(key, "ext-1")
		form := signedIn.get(path)
		e.clock.Advance(16 * time.Minute)
		want(t, "expired token", signedIn.get(path), http.StatusGone, "expired")
		want(t, "expired token signed out", e.browser().get(path), http.StatusGone, "expired")
		p := signedIn.post(path, url.Values{"csrf": {form.csrf(t)}, "action": {"approve"}})
		want(t, "approve an expired token", p, http.StatusGone, "expired")
		if e.linked(key, "ext-1") {
			t.Error("an expired token linked")
		}
	})
}

func TestConsentBadAction(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	_, key := e.app("Acme")
	path := e.linkPath(key, "ext-1")
	b := e.browser()
	b.login(e.user())
	want(t, "no action", b.submit(path, path, url.Values{}), http.StatusBadRequest, "Choose Approve or Deny.")
	want(t, "token still pending", b.get(path), http.StatusOK, "Approve")
}

func TestCSRFRejected(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		app, key := e.app("Acme")
		u := e.user()
		b := e.browser()
		b.login(u)
		e.approve(b, key, "ext-linked")
		pending := e.linkPath(key, "ext-pending")
		// A token of another browser's anonymous cookie is no good here.
		foreign := e.browser().get("/login").csrf(t)

		tests := []struct {
			name, path string
			form       url.Values
		}{
			{"login without token", "/login", url.Values{"phone": {u.Phone}, "password": {password}}},
			{"signup with a wrong token", "/signup", url.Values{"csrf": {"0000"}, "phone": {e.phone()}, "password": {password},
				"first_name": {"A"}, "last_name": {"B"}, "email": {"a@example.com"}}},
			{"approve without token", pending, url.Values{"action": {"approve"}}},
			{"approve with a foreign token", pending, url.Values{"csrf": {foreign}, "action": {"approve"}}},
			{"deny with a wrong token", pending, url.Values{"csrf": {"x"}, "action": {"deny"}}},
			{"unlink without token", "/account/apps/" + app.ID + "/unlink", url.Values{}},
			{"logout with a wrong token", "/logout", url.Values{"csrf": {foreign}}},
		}
		for _, tt := range tests {
			p := b.post(tt.path, tt.form)
			want(t, tt.name, p, http.StatusForbidden, "This form has expired. Go back and try again.")
		}
		want(t, "pending token untouched", b.get(pending), http.StatusOK, "Approve")
		if !e.linked(key, "ext-linked") {
			t.Error("a forged unlink unlinked")
		}
		if e.linked(key, "ext-pending") {
			t.Error("a forged approve linked")
		}
		want(t, "session kept", b.get("/account"), http.StatusOK, "Acme")
		var n int
		if err := e.db.QueryRow(t.Context(), `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 1 {
			t.Errorf("users = %d, %v; want 1 (no forged sign-up)", n, err)
		}
	})
}
