package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/linkbox/linkbox/internal/dbtest"
)

const newPassword = "a whole new password"

// TestForgotPasswordInChromium walks the forgotten-password flow from the
// login page without JavaScript: the phone, the SMS code with a new
// password, then the login page saying so, where only the new password
// works and leads back to the page that asked.
func TestForgotPasswordInChromium(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		u := e.user()
		b := e.chrome(t, false)
		run(t, b, chromedp.Navigate(e.server.URL+"/login?next=%2Faccount"), chromedp.Click(chromedp.CSS("#forgot-link")),
			chromedp.WaitVisible(chromedp.CSS("#send-code")), chromedp.SendKeys(chromedp.CSS("#phone"), "not a phone"),
			chromedp.Click(chromedp.CSS("#send-code")), chromedp.WaitVisible(chromedp.CSS("#error")))
		if got := textOf(t, b, "#error"); strings.Contains(got, "E.164") || !strings.Contains(got, "Enter a valid phone number") {
			t.Errorf("bad phone: error %q, want the page's own words", got)
		}
		run(t, b, chromedp.SetValue(chromedp.CSS("#phone"), u.Phone), chromedp.Click(chromedp.CSS("#send-code")),
			chromedp.WaitVisible(chromedp.CSS("#reset-form")))
		wantText(t, b, "#notice", "If an active account has the number", u.Phone)
		wantText(t, b, "#cooldown", "You can ask for another code in 60 seconds.")
		code := smsCode(t, e.gw, u.Phone)

		run(t, b, chromedp.SendKeys(chromedp.CSS("#code"), wrongCode(code)), chromedp.SendKeys(chromedp.CSS("#new_password"), newPassword),
			chromedp.Click(chromedp.CSS("#reset")), chromedp.WaitVisible(chromedp.CSS("#error")))
		wantText(t, b, "#error", "That code is not right.")
		run(t, b, chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.SendKeys(chromedp.CSS("#new_password"), newPassword),
			chromedp.Click(chromedp.CSS("#reset")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		wantText(t, b, "#notice", "Your password has been changed.")

		run(t, b, chromedp.SendKeys(chromedp.CSS("#phone"), u.Phone), chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#error")))
		wantText(t, b, "#error", "Wrong phone number or password.")
		run(t, b, chromedp.SetValue(chromedp.CSS("#phone"), u.Phone), chromedp.SendKeys(chromedp.CSS("#password"), newPassword),
			chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#password-form")))
	})
}

// TestForgotPasswordTellsNobody: a phone with an account and one without
// get the same answer, and only the account's phone gets an SMS.
func TestForgotPasswordTellsNobody(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		u, stranger := e.user(), e.phone()
		b := e.browser()
		known := b.submit("/password/forgot", "/password/forgot", url.Values{"phone": {u.Phone}})
		unknown := b.submit("/password/forgot", "/password/forgot", url.Values{"phone": {stranger}})
		want(t, "known phone", known, http.StatusSeeOther, "")
		want(t, "unknown phone", unknown, http.StatusSeeOther, "")
		if k, s := known.location(), unknown.location(); strings.Replace(k, url.QueryEscape(u.Phone), url.QueryEscape(stranger), 1) != s {
			t.Errorf("answers differ: %q and %q", k, s)
		}
		smsCode(t, e.gw, u.Phone)
		for _, m := range e.gw.Messages() {
			if m.To == stranger {
				t.Errorf("an SMS to a phone without an account: %q", m.Body)
			}
		}
		wantAll(t, "reset page of the unknown phone", b.get(unknown.location()), http.StatusOK,
			`If an active account has the number <strong id="reset-phone">`+stranger+`</strong>`)

		want(t, "no CSRF token", b.post("/password/forgot", url.Values{"phone": {u.Phone}}), http.StatusForbidden, "This form has expired.")
		want(t, "no CSRF token", b.post("/password/reset", url.Values{"phone": {u.Phone}}), http.StatusForbidden, "This form has expired.")
		p := b.submit("/password/reset?phone="+url.QueryEscape(u.Phone), "/password/reset",
			url.Values{"phone": {u.Phone}, "code": {"123456"}, "new_password": {"short"}})
		want(t, "short password", p, http.StatusBadRequest, "The password must be 8 to 128 characters long.")
	})
}
