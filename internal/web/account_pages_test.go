package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
)

// TestChangePasswordInChromium: without JavaScript, the account page shows
// the name and phone and changes the password given the current one; the
// browser stays signed in and every other session ends.
func TestChangePasswordInChromium(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		u := e.user()
		other := e.browser()
		other.login(u)
		b := e.chrome(t, false)
		e.chromeLogin(t, b, "/login?next=%2Faccount", u, password)
		run(t, b, chromedp.WaitVisible(chromedp.CSS("#password-form")))
		wantText(t, b, "#account-name", "Ada Lovelace")
		wantText(t, b, "#account-phone", u.Phone)

		run(t, b, chromedp.SendKeys(chromedp.CSS("#current_password"), "not my password"),
			chromedp.SendKeys(chromedp.CSS("#new_password"), newPassword),
			chromedp.Click(chromedp.CSS("#change-password")), chromedp.WaitVisible(chromedp.CSS("#password-error")))
		wantText(t, b, "#password-error", "The password is wrong.")
		run(t, b, chromedp.SendKeys(chromedp.CSS("#current_password"), password),
			chromedp.SendKeys(chromedp.CSS("#new_password"), newPassword),
			chromedp.Click(chromedp.CSS("#change-password")), chromedp.WaitVisible(chromedp.CSS("#password-notice")))
		wantText(t, b, "#password-notice", "Your password has been changed")

		// Still signed in here; signed out elsewhere.
		run(t, b, chromedp.Navigate(e.server.URL+"/inbox"), chromedp.WaitVisible(chromedp.CSS("#messages")))
		want(t, "the other browser", other.get("/account"), http.StatusSeeOther, "")
		p := e.browser().submit("/login", "/login", url.Values{"phone": {u.Phone}, "password": {password}})
		want(t, "the old password", p, http.StatusUnauthorized, "Wrong phone number or password.")
		e.browser().submitOK(t, u.Phone, newPassword)
	})
}

// submitOK fails t unless phone and pw sign in.
func (b *browser) submitOK(t *testing.T, phone, pw string) {
	t.Helper()
	want(t, "login", b.submit("/login", "/login", url.Values{"phone": {phone}, "password": {pw}}), http.StatusSeeOther, "")
}

// TestDeleteAccountInChromium: without JavaScript, deleting the account
// takes a confirmation with the password; then the account is gone, the
// browser signed out and every other session with it.
func TestDeleteAccountInChromium(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		u := e.user()
		_, key := e.app("Acme")
		other := e.browser()
		other.login(u)
		e.approve(other, key, "ext-1")
		b := e.chrome(t, false)
		e.chromeLogin(t, b, "/login?next=%2Faccount", u, password)
		run(t, b, chromedp.WaitVisible(chromedp.CSS("#delete-link")), chromedp.Click(chromedp.CSS("#delete-link")),
			chromedp.WaitVisible(chromedp.CSS("#delete-form")))
		wantText(t, b, "#erased", "every message and code in your inbox", "the links to your apps")

		run(t, b, chromedp.Click(chromedp.CSS("#cancel")), chromedp.WaitVisible(chromedp.CSS("#password-form")),
			chromedp.Click(chromedp.CSS("#delete-link")), chromedp.WaitVisible(chromedp.CSS("#delete-form")),
			chromedp.SendKeys(chromedp.CSS("#password"), "not my password"), chromedp.Click(chromedp.CSS("#delete")),
			chromedp.WaitVisible(chromedp.CSS("#error")))
		wantText(t, b, "#error", "The password is wrong.")
		if _, err := e.acc.UserByID(context.Background(), u.ID); err != nil {
			t.Fatalf("a wrong password deleted the account: %v", err)
		}

		run(t, b, chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.Click(chromedp.CSS("#delete")),
			chromedp.WaitVisible(chromedp.CSS("#login-form")))
		wantText(t, b, "#notice", "Your account and everything in it have been deleted.")
		if _, err := e.acc.UserByID(context.Background(), u.ID); !errs.Is(err, errs.NotFound, "user_not_found") {
			t.Errorf("the account after deletion: %v, want user_not_found", err)
		}
		if e.linked(key, "ext-1") {
			t.Error("the app still sees the deleted account linked")
		}
		run(t, b, chromedp.Navigate(e.server.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		want(t, "the other browser", other.get("/inbox"), http.StatusSeeOther, "")
	})
}

// TestAccountFormsRefuse: the account's forms need a session and its CSRF
// token.
func TestAccountFormsRefuse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		u := e.user()
		anon := e.browser()
		for _, path := range []string{"/account/password", "/account/delete"} {
			p := anon.post(path, url.Values{"password": {password}})
			if p.status != http.StatusSeeOther || p.location() != "/login?next="+url.QueryEscape(path) {
				t.Errorf("POST %s signed out: %d %q, want a redirect to the login page", path, p.status, p.location())
			}
		}
		want(t, "delete page signed out", anon.get("/account/delete"), http.StatusSeeOther, "")
		b := e.browser()
		b.login(u)
		p := b.submit("/account", "/account/password", url.Values{"current_password": {password}, "new_password": {"short"}})
		wantAll(t, "a short new password", p, http.StatusBadRequest, "The password must be 8 to 128 characters long.",
			`<dd id="account-phone">&#43;`+u.Phone[1:]+`</dd>`)
		for _, path := range []string{"/account/password", "/account/delete"} {
			want(t, "POST "+path+" without CSRF", b.post(path, url.Values{"password": {password},
				"current_password": {password}, "new_password": {newPassword}}), http.StatusForbidden, "This form has expired.")
		}
		if _, err := e.acc.UserByID(context.Background(), u.ID); err != nil {
			t.Fatalf("the account after refused forms: %v", err)
		}
		e.browser().submitOK(t, u.Phone, password)
	})
}
