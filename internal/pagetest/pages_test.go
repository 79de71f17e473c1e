// Package pagetest_test walks every hosted page, in each of its states that
// a user meets, in headless Chromium at a desktop and a mobile size, and
// runs axe-core on each: a serious or critical violation fails the test.
// With -update it also writes each page's full-page screenshot into
// docs/pages, which docs/pages.md shows:
//
//	go test ./internal/pagetest -run TestPages -update
package pagetest_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
)

var update = flag.Bool("update", false, "write the pages' screenshots into docs/pages")

// shots is where -update writes the screenshots, from the package's
// directory.
const shots = "../../docs/pages"

// viewport is a browser size the pages are checked at.
type viewport struct {
	name    string
	emulate chromedp.Action[chromedp.Void]
}

var viewports = []viewport{
	{"desktop", chromedp.EmulateViewport(1280, 800)},
	{"mobile", chromedp.Emulate(device.Info{Name: "mobile", Width: 390, Height: 844, Scale: 1, Mobile: true, Touch: true,
		UserAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36"})},
}

// reader makes the pages the same on every machine: English (the pages
// follow Accept-Language) and a time zone that is not UTC, so that times
// shown in the reader's zone show as such. It comes after the viewport,
// which may set the user agent, and keeps that.
var reader = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	ua, err := chromedp.Run(ctx, chromedp.Evaluate[string]("navigator.userAgent"))
	if err != nil {
		return err
	}
	if _, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: "en"}); err != nil {
		return err
	}
	_, err = cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Europe/Amsterdam"})
	return err
})

// TestPages tours every page at every viewport on both stores; the
// screenshots are taken once, on SQLite.
func TestPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		f := newFixture(t, databaseURL)
		for i, vp := range viewports {
			t.Run(vp.name, func(t *testing.T) {
				b := apptest.Browser(t)
				if err := apptest.Do(b, vp.emulate, reader); err != nil {
					t.Fatal(err)
				}
				tr := &tourist{t: t, f: f, b: b, vp: vp, shoot: *update && strings.HasPrefix(databaseURL, "sqlite:"), doc: string(text)}
				tr.tour(f.newPerson(t, i+1), fmt.Sprintf("%d", 100+i))
			})
		}
	})
}

// tourist walks the pages in one browser at one viewport.
type tourist struct {
	t     *testing.T
	f     *fixture
	b     context.Context
	vp    viewport
	shoot bool
	doc   string // docs/pages.md
}

// tour visits every page in every state, as p, who is the app's user
// appUser.
func (tr *tourist) tour(p person, appUser string) {
	tr.signIn(p)
	phone := tr.signUp(p)
	tr.password(phone)
	tr.deleting(phone)
	tr.linking(p, appUser)
	tr.f.fillInbox(tr.t, p, appUser)
	tr.open("/inbox", http.StatusOK)
	tr.do(chromedp.WaitVisible(`//p[@id="live-status"][normalize-space(.) != ""]`)) // the live stream is open
	tr.see("inbox", "li.message .code")
	tr.open("/account", http.StatusOK)
	tr.see("account", "#apps")
	tr.deviceLinks(appUser)
}

// signIn: the sign-in form, a wrong password, and a form sent without
// its CSRF token, as after a long pause.
func (tr *tourist) signIn(p person) {
	tr.open("/login", http.StatusOK)
	tr.see("login", "#login-form")
	tr.submit(http.StatusUnauthorized, chromedp.SendKeys("#phone", p.phone), chromedp.SendKeys("#password", "not-the-password"), chromedp.Click("#login"))
	tr.see("login-error", "#error")
	tr.open("/login", http.StatusOK)
	tr.submit(http.StatusForbidden, chromedp.SendKeys("#phone", p.phone), chromedp.SendKeys("#password", apptest.Password),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#login-form [name=csrf]").value = ""`), chromedp.Click("#login"))
	tr.see("error-403", "#error-title")
}

// signUp: the sign-up form, a bad phone number, the code form, a wrong
// code, the right one, which signs the new account in to its empty
// inbox, and signing out. It returns the new account's phone.
func (tr *tourist) signUp(p person) string {
	tr.open("/signup", http.StatusOK)
	tr.see("signup", "#signup-form")
	signup := func(phone string, status int) {
		tr.submit(status, chromedp.SendKeys("#phone", phone), chromedp.SendKeys("#password", apptest.Password),
			chromedp.SendKeys("#first_name", "Grace"), chromedp.SendKeys("#last_name", "Hopper"),
			chromedp.SendKeys("#email", "grace@example.com"), chromedp.Click("#signup"))
	}
	signup("0612", http.StatusBadRequest)
	tr.see("signup-error", "#error")
	tr.open("/signup", http.StatusOK)
	phone := fmt.Sprintf("+3161299%04d", p.n)
	signup(phone, http.StatusOK)
	tr.see("verify", "#verify-form")
	tr.submit(http.StatusBadRequest, chromedp.SendKeys("#code", "000000"), chromedp.Click("#verify"))
	tr.see("verify-error", "#error")
	tr.submit(http.StatusOK, chromedp.SendKeys("#code", tr.f.code(tr.t, phone)), chromedp.Click("#verify"))
	tr.see("inbox-empty", "#empty:not([hidden])")
	tr.open("/account", http.StatusOK)
	tr.submit(http.StatusOK, chromedp.Click("#logout"))
	return phone
}

// newPassword is what the tour's new account resets its password to.
const newPassword = "a-new-battery-staple"

// password: from the sign-in page to the forgotten-password form, the
// form for the code and a new password, a wrong code, then the right one,
// which leads to the sign-in page saying so.
func (tr *tourist) password(phone string) {
	tr.open("/login", http.StatusOK)
	tr.submit(http.StatusOK, chromedp.Click("#forgot-link"))
	tr.see("forgot", "#forgot-form")
	tr.submit(http.StatusOK, chromedp.SendKeys("#phone", phone), chromedp.Click("#send-code"))
	tr.see("reset", "#reset-form")
	tr.submit(http.StatusBadRequest, chromedp.SendKeys("#code", "000000"), chromedp.SendKeys("#new_password", newPassword), chromedp.Click("#reset"))
	tr.see("reset-error", "#error")
	tr.submit(http.StatusOK, chromedp.SendKeys("#code", tr.f.code(tr.t, phone)), chromedp.SendKeys("#new_password", newPassword), chromedp.Click("#reset"))
	tr.see("login-reset", "#notice")
}

// deleting: signed in with the new password, the confirmation to delete
// the account, a wrong password, the right one, and the sign-in page
// saying the account is gone.
func (tr *tourist) deleting(phone string) {
	tr.submit(http.StatusOK, chromedp.SendKeys("#phone", phone), chromedp.SendKeys("#password", newPassword), chromedp.Click("#login"))
	tr.open("/account/delete", http.StatusOK)
	tr.see("account-delete", "#delete-form")
	tr.submit(http.StatusBadRequest, chromedp.SendKeys("#password", "not-the-password"), chromedp.Click("#delete"))
	tr.see("account-delete-error", "#error")
	tr.submit(http.StatusOK, chromedp.SendKeys("#password", newPassword), chromedp.Click("#delete"))
	tr.see("login-deleted", "#notice")
}

// linking: an app's link page signed out and in, approved, then used,
// and a link that never was.
func (tr *tourist) linking(p person, appUser string) {
	link := tr.f.linkURL(tr.t, appUser)
	tr.open(link, http.StatusOK)
	tr.see("consent-login", "#notice")
	tr.submit(http.StatusOK, chromedp.SendKeys("#phone", p.phone), chromedp.SendKeys("#password", apptest.Password), chromedp.Click("#login"))
	tr.see("consent", "#approve")
	tr.submit(http.StatusOK, chromedp.Click("#approve"))
	if loc, err := chromedp.Run(tr.b, chromedp.Location()); err != nil || loc != tr.f.returnURL+appUser {
		tr.t.Fatalf("approved, the browser is at %s (%v), want %s", loc, err, tr.f.returnURL+appUser)
	}
	tr.open(link, http.StatusGone)
	tr.see("error-410", "#error-title")
	tr.open("/linking/no-such-link", http.StatusNotFound)
	tr.see("error-404", "#error-title")
}

// deviceLinks: a supplier's connect page, the device picker, a session
// that never was, and the supplier selector of a session that a
// manufacturer started.
func (tr *tourist) deviceLinks(appUser string) {
	tr.open(tr.f.deviceLinkURL(tr.t, "supplier-user-"+appUser), http.StatusOK)
	tr.see("connect", "#brand-fake")
	tr.submit(http.StatusOK, chromedp.Click("#brand-fake"))
	tr.see("connect-devices", "#device-b2")
	tr.open("/connect?token=no-such-session", http.StatusNotFound)
	tr.see("connect-error-404", "#error-title")
	tr.open(tr.f.selectURL(tr.t, "hp-"+appUser), http.StatusOK)
	tr.see("supplier-select", "#suppliers")
}

// open navigates to url, or to the path url on the stack, and wants the
// page's status.
func (tr *tourist) open(url string, status int) {
	tr.t.Helper()
	if strings.HasPrefix(url, "/") {
		url = tr.f.st.URL + url
	}
	ctx, cancel := context.WithTimeout(tr.b, 30*time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		tr.t.Fatalf("open %s: %v", url, err)
	}
	if resp.Status != int64(status) {
		tr.t.Fatalf("open %s: %d, want %d", url, resp.Status, status)
	}
}

// submit runs steps, the last of which sends a form, waits for the page
// the answer leads to and wants its status.
func (tr *tourist) submit(status int, steps ...chromedp.Action[chromedp.Void]) {
	tr.t.Helper()
	ctx, cancel := context.WithTimeout(tr.b, 30*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(tr.b, chromedp.Location())
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		tr.t.Fatalf("submit at %s: %v", loc, err)
	}
	if resp.Status != int64(status) {
		tr.t.Fatalf("submit at %s: %d, want %d", loc, resp.Status, status)
	}
}

// do runs browser steps that stay on the page.
func (tr *tourist) do(steps ...chromedp.Action[chromedp.Void]) {
	tr.t.Helper()
	if err := apptest.Do(tr.b, steps...); err != nil {
		tr.t.Fatal(err)
	}
}

// see checks the page the browser shows as the state name: it has an
// element that mark selects, which tells the state, and axe-core finds no
// serious or critical violation on it. With -update it is screenshot too.
func (tr *tourist) see(name, mark string) {
	tr.t.Helper()
	found, err := chromedp.Run(tr.b, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", mark)))
	if err != nil || !found {
		loc, _ := chromedp.Run(tr.b, chromedp.Location())
		body, _ := apptest.Text(tr.b, "main")
		tr.t.Fatalf("%s: no %s at %s (%v): %.300s", name, mark, loc, err, body)
	}
	vs, err := audit(tr.b)
	if err != nil {
		tr.t.Fatalf("%s: axe-core: %v", name, err)
	}
	for _, v := range vs {
		if v.blocking() {
			tr.t.Errorf("%s (%s): %v", name, tr.vp.name, v)
		} else {
			tr.t.Logf("%s (%s), not blocking: %v", name, tr.vp.name, v)
		}
	}
	file := fmt.Sprintf("%s-%s.png", name, tr.vp.name)
	if !strings.Contains(tr.doc, "pages/"+file) {
		tr.t.Errorf("docs/pages.md does not show %s", file)
	}
	if tr.shoot {
		if err := screenshot(tr.b, filepath.Join(shots, file)); err != nil {
			tr.t.Fatalf("%s: %v", name, err)
		}
	}
}
