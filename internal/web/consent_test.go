package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestConsentNotYouInChromium: without JavaScript, the consent page names
// the account signed in (name, the phone's last four digits) and says
// truly what the app will see and where the browser goes back to; "Not
// you?" signs out and, once another account has signed in, comes back to
// the same consent page.
func TestConsentNotYouInChromium(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		_, key := e.app("Acme")
		ada := e.user()
		grace, err := e.acc.CreateUser(context.Background(), accounts.NewUser{Phone: e.phone(), Password: password,
			FirstName: "Grace", LastName: "Hopper", Email: "Grace.Hopper@Example.com", Username: "grace"})
		if err != nil {
			t.Fatal(err)
		}
		path := e.linkPath(key, "ext-1")
		b := e.chrome(t, false)
		e.chromeLogin(t, b, path, ada, password)
		run(t, b, chromedp.WaitVisible(chromedp.CSS("#approve")))
		wantText(t, b, "#signed-in", "You are signed in as Ada Lovelace, with the phone number ending in "+ada.Phone[len(ada.Phone)-4:]+".")
		wantText(t, b, "#scopes", "see your email address, masked: ad****@example.com",
			"see the last four digits of your phone number: "+ada.Phone[len(ada.Phone)-4:])
		if s := textOf(t, b, "#scopes"); strings.Contains(s, "username") || strings.Contains(s, "hashed") {
			t.Errorf("scopes %q: Ada has no username, and the app is told no hash", s)
		}
		wantText(t, b, "#return-host", "your-app.com")

		run(t, b, chromedp.Click(chromedp.CSS("#not-you")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		wantText(t, b, "#notice", "Log in to link your account to Acme.")
		run(t, b, chromedp.SendKeys(chromedp.CSS("#phone"), grace.Phone), chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#approve")))
		wantText(t, b, "#signed-in", "Grace Hopper")
		wantText(t, b, "#scopes", "gr****@example.com", "see your username: grace")
	})
}

// TestLinkErrorsLeadBackToTheApp: a used or expired linking link's page
// offers "Return to <app>", at the return URL the app gave; an unknown one
// cannot.
func TestLinkErrorsLeadBackToTheApp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		_, key := e.app("Acme & Co")
		b := e.browser()
		b.login(e.user())
		back := `<a id="return-app" href="` + returnURL + `">Return to Acme &amp; Co</a>`

		used := e.linkPath(key, "ext-1")
		form := b.get(used)
		want(t, "approve", b.post(used, url.Values{"csrf": {form.csrf(t)}, "action": {"approve"}}), http.StatusSeeOther, "")
		wantAll(t, "used link", b.get(used), http.StatusGone, "This linking link has already been used.", back)
		wantAll(t, "used link signed out", e.browser().get(used), http.StatusGone, back)
		wantAll(t, "used link approved again", b.post(used, url.Values{"csrf": {form.csrf(t)}, "action": {"approve"}}),
			http.StatusGone, back)

		expired := e.linkPath(key, "ext-2")
		e.clock.Advance(16 * time.Minute)
		wantAll(t, "expired link", b.get(expired), http.StatusGone, "This linking link has expired.", back)
		wantAll(t, "expired link in Dutch", b.get(expired+"?lang=nl"), http.StatusGone, `>Terug naar Acme &amp; Co</a>`)

		p := b.get("/linking/nope?lang=en")
		want(t, "unknown link", p, http.StatusNotFound, "This linking link does not exist.")
		if strings.Contains(p.body, "return-app") {
			t.Errorf("an unknown link offers a way back:\n%s", p.body)
		}
	})
}

// TestLogoutNextStaysLocal: "Not you?" signs out to a local page only;
// any other next is the login page.
func TestLogoutNextStaysLocal(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		u := e.user()
		for next, to := range map[string]string{"/linking/abc": "/linking/abc", "//evil.example": "/login",
			"https://evil.example/": "/login", "/\\evil.example": "/login", "": "/login"} {
			b := e.browser()
			b.login(u)
			p := b.submit("/account", "/logout", url.Values{"next": {next}})
			if p.status != http.StatusSeeOther || p.location() != to {
				t.Errorf("logout with next %q: %d to %q, want %q", next, p.status, p.location(), to)
			}
			want(t, "after logout", b.get("/account"), http.StatusSeeOther, "")
		}
	})
}
