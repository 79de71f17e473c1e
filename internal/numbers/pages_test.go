package numbers_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/numbers"
)

// pageFixture is a stack whose pool is one telegram number on a gateway's
// SIM 1, and a browser signed in on /numbers.
type pageFixture struct {
	fixture
	gw, secret string
	b          context.Context
}

func startPage(t *testing.T, url string, js bool) pageFixture {
	t.Helper()
	f := pageFixture{fixture: start(t, url, 0, 1000, nil)}
	ctx := context.Background()
	n := f.st.Server.Numbers
	g, secret, err := n.CreateGateway(ctx, "pixel")
	if err != nil {
		t.Fatal(err)
	}
	f.gw, f.secret = g.ID, secret
	if _, err := n.AddNumber(ctx, numbers.Number{Number: "+12025550999", Country: "US", Operator: "verizon",
		Services: []string{"telegram"}, GatewayID: g.ID, SIM: 1}); err != nil {
		t.Fatal(err)
	}
	f.b = apptest.Browser(t)
	if !js {
		if _, err := chromedp.Call(f.b, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
	}
	f.do(t, chromedp.Navigate(f.st.URL+"/numbers"), chromedp.WaitVisible(chromedp.CSS("#phone")),
		chromedp.SendKeys(chromedp.CSS("#phone"), f.phone), chromedp.SendKeys(chromedp.CSS("#password"), apptest.Password),
		chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#rent-form")))
	return f
}

func (f pageFixture) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := apptest.Do(f.b, steps...); err != nil {
		body, _ := apptest.Text(f.b, "body")
		t.Fatalf("%v; the page reads: %.400s", err, body)
	}
}

func (f pageFixture) text(t *testing.T, sel string) string {
	t.Helper()
	s, err := apptest.Text(f.b, chromedp.CSS(sel))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// sms has the gateway post an SMS for SIM 1.
func (f pageFixture) sms(t *testing.T, event, text string) {
	t.Helper()
	body := `{"deviceId":"dev1","event":"sms:received","id":"` + event + `","payload":{"messageId":"m1","message":"` + text +
		`","phoneNumber":"Telegram","simNumber":1},"webhookId":"wh1"}`
	now := strconv.FormatInt(f.clock.Now().Unix(), 10)
	if got := post(t, f.st, f.gw, body, map[string]string{"X-Timestamp": now, "X-Signature": sign(f.secret, body, now)}); got != 200 {
		t.Fatalf("webhook: %d", got)
	}
}

// TestPageLive: signed in, with JavaScript: the balance, a rent from the
// form, its SMS shown live when the gateway's webhook brings it (no
// reload, no cancel any more), then finish; the transactions show it.
func TestPageLive(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := startPage(t, url, true)
		if got := f.text(t, "#balance-credits"); got != "1000" || f.text(t, "#balance-money") != "0.5" {
			t.Fatalf("balance %q %q", got, f.text(t, "#balance-money"))
		}
		f.do(t, chromedp.Click(chromedp.CSS("#rent")), chromedp.WaitVisible(chromedp.CSS("#notice")),
			chromedp.WaitVisible(`//p[@id="live-status"][starts-with(normalize-space(.), "Live")]`))
		if got := f.text(t, "li.rental .number"); got != "+12025550999" || f.text(t, "#balance-credits") != "900" {
			t.Fatalf("rental %q, credits %q", got, f.text(t, "#balance-credits"))
		}
		if got := f.text(t, "li.rental .status"); got != "Waiting for an SMS" {
			t.Fatalf("status %q", got)
		}
		f.sms(t, "ev-live", "Telegram code: 48213")
		f.do(t, chromedp.WaitVisible(`//li[contains(@class,"rental")]//p[@class="code"][.="48213"]`))
		if got := f.text(t, "li.rental .status"); got != "SMS received" {
			t.Errorf("status after the SMS %q", got)
		}
		if n, _ := chromedp.Run(f.b, chromedp.Evaluate[int](`document.querySelectorAll("form.cancel-form").length`)); n != 0 {
			t.Error("a rental with an SMS still offers cancel")
		}
		f.do(t, chromedp.Click(chromedp.CSS("button.finish")), chromedp.WaitVisible(chromedp.CSS("#no-rentals")))
		if got := f.text(t, "#notice"); got != "The rental is finished." {
			t.Errorf("notice %q", got)
		}
		if got := f.text(t, "#transactions tbody tr:first-child"); !strings.Contains(got, "-100") || !strings.Contains(got, "rent") {
			t.Errorf("newest transaction %q", got)
		}
		// A form without its token is refused.
		code, err := chromedp.Run(f.b, chromedp.Evaluate[int](`fetch("/numbers/rent", {method: "POST",
			body: new URLSearchParams({csrf: "forged", service: "telegram", country: "US"})}).then(r => r.status)`, chromedp.EvalAwaitPromise))
		if err != nil || code != http.StatusForbidden {
			t.Errorf("a forged form: %d %v", code, err)
		}
		f.checkLedger(t)
	})
}

// TestPageWithoutJavaScript: the page works with forms alone: a cancel in
// the first 2 minutes is refused on the page (409), then done with the
// refund; a rent, its SMS on reload, finish. The rent limit is the API's:
// spent there, the page's rent is refused (429).
func TestPageWithoutJavaScript(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := startPage(t, url, false)
		f.do(t, chromedp.Click(chromedp.CSS("#rent")), chromedp.WaitVisible(chromedp.CSS("li.rental")))
		f.do(t, chromedp.Click(chromedp.CSS("button.cancel")), chromedp.WaitVisible(chromedp.CSS("#numbers-error")))
		if got := f.text(t, "#numbers-error"); got != "A rental can be cancelled only after its first 2 minutes." {
			t.Fatalf("early cancel: %q", got)
		}
		f.clock.Advance(2 * time.Minute)
		f.do(t, chromedp.Click(chromedp.CSS("button.cancel")), chromedp.WaitVisible(chromedp.CSS("#no-rentals")))
		if got := f.text(t, "#notice"); got != "The rental is cancelled and its credits are back." || f.text(t, "#balance-credits") != "1000" {
			t.Fatalf("after cancel: %q, %s credits", got, f.text(t, "#balance-credits"))
		}
		f.do(t, chromedp.Click(chromedp.CSS("#rent")), chromedp.WaitVisible(chromedp.CSS("li.rental")))
		f.sms(t, "ev-nojs", "Your code is 771204")
		f.do(t, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("li.rental .code")))
		if got := f.text(t, "li.rental .code"); got != "771204" || f.text(t, "li.rental .sms .text") != "Your code is 771204" {
			t.Fatalf("after reload: code %q", got)
		}
		f.do(t, chromedp.Click(chromedp.CSS("button.finish")), chromedp.WaitVisible(chromedp.CSS("#no-rentals")))
		if c := f.checkLedger(t); c != 900 {
			t.Fatalf("credits %d, want 900", c)
		}
		for i := 0; f.st.Call(t, "POST", "/api/internal/rentals/rnt_nope/cancel", f.token, nil).Status != 429; i++ {
			if i == 60 { // the rent limit (60 a minute), spent on the API
				t.Fatal("no 429 from the API after 60 requests")
			}
		}
		f.do(t, chromedp.Click(chromedp.CSS("#rent")), chromedp.WaitVisible(chromedp.CSS("#numbers-error")))
		if got := f.text(t, "#numbers-error"); !strings.Contains(got, "Too many") {
			t.Fatalf("past the limit: %q", got)
		}
		if c := f.checkLedger(t); c != 900 {
			t.Fatalf("credits %d after a refused rent", c)
		}
	})
}

// TestPageSignedOut: signed out, the page and its forms lead to the login
// page; the page speaks the four languages.
func TestPageSignedOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 0, 0, nil)
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, c := range []struct{ method, path string }{
			{"GET", "/numbers"}, {"POST", "/numbers/rent"}, {"POST", "/numbers/rentals/rnt_x/cancel"}, {"POST", "/numbers/rentals/rnt_x/finish"},
		} {
			req, _ := http.NewRequest(c.method, f.st.URL+c.path, strings.NewReader("service=telegram&country=US"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
				t.Errorf("%s %s: %d to %q", c.method, c.path, resp.StatusCode, loc)
			}
		}
		if n, _ := f.st.Server.Numbers.Rentals(context.Background(), userID(t, f), ""); len(n) != 0 {
			t.Fatalf("rentals made signed out: %v", n)
		}
		for name, want := range map[string]string{"numbers.js": "text/javascript", "numbers.css": "text/css", "nope.js": ""} {
			resp, err := http.Get(f.st.URL + "/numbers/assets/" + name)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); (want == "" && resp.StatusCode != 404) || (want != "" && (resp.StatusCode != 200 || !strings.HasPrefix(ct, want))) {
				t.Errorf("%s: %d %q", name, resp.StatusCode, ct)
			}
		}
	})
}

// TestPageLanguages: the page in each language of the pages.
func TestPageLanguages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := startPage(t, url, false)
		for lang, want := range map[string]string{"en": "Numbers", "nl": "Nummers", "de": "Nummern", "fr": "Numéros"} {
			f.do(t, chromedp.Navigate(f.st.URL+"/numbers?lang="+lang), chromedp.WaitVisible(chromedp.CSS("#numbers-title")))
			if got := f.text(t, "#numbers-title"); got != want {
				t.Errorf("%s: title %q, want %q", lang, got, want)
			}
		}
	})
}
