package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestInboxWithoutJavaScript: the inbox pages its messages with "Older
// messages", labels used and expired codes rather than dropping them,
// shows and sets the read state with a form, and counts the unread in its
// title; times are in UTC.
func TestInboxWithoutJavaScript(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		u := e.user()
		now := e.clock.Now()
		for i := range 55 {
			e.deliver(t, note(u, fmt.Sprintf("note %d", i)))
		}
		nums := e.deliver(t, otp(u, "111111", now.Add(-time.Minute)), otp(u, "222222", now.Add(5*time.Minute)),
			otp(u, "333333", now.Add(5*time.Minute)))
		e.erase(t, nums[1])

		b := e.chrome(t, false)
		e.chromeLogin(t, b, "/inbox", u, password)
		run(t, b, chromedp.WaitVisible(chromedp.CSS("#messages")))
		if got := title(t, b); got != "(58) Inbox · Linkbox" {
			t.Errorf("title %q, want the unread count", got)
		}
		wantText(t, b, "#messages li:nth-child(1)", "333333", "Expires at 2025-03-14 09:31 UTC", "Unread", "Mark as read")
		wantText(t, b, "#messages li:nth-child(2)", "This code has been used or is no longer valid.")
		wantText(t, b, "#messages li:nth-child(3)", "This code has expired.")
		for i, code := range []string{"222222", "111111"} {
			if s := textOf(t, b, fmt.Sprintf("#messages li:nth-child(%d)", i+2)); strings.Contains(s, code) {
				t.Errorf("a dead code is shown: %q", s)
			}
		}
		if n := count(t, b, "#messages > li"); n != 50 {
			t.Errorf("%d messages on the first page, want 50", n)
		}

		run(t, b, chromedp.Click(chromedp.CSS("#messages li:nth-child(1) .mark-read")),
			chromedp.WaitVisible(chromedp.CSS("#messages li:nth-child(1).read")))
		if got := title(t, b); got != "(57) Inbox · Linkbox" {
			t.Errorf("title after marking one read %q", got)
		}
		if s := textOf(t, b, "#messages li:nth-child(1)"); strings.Contains(s, "Mark as read") || strings.Contains(s, "Unread") {
			t.Errorf("a read message still reads %q", s)
		}

		run(t, b, chromedp.Click(chromedp.CSS("#older")), chromedp.WaitVisible(chromedp.CSS("#newest")))
		if n := count(t, b, "#messages > li"); n != 8 {
			t.Errorf("%d messages on the second page, want 8", n)
		}
		wantText(t, b, "#messages li:nth-child(8)", "2025-03-14 09:26 UTC")
		if got := textOf(t, b, "#messages li:nth-child(8) p.text"); got != "note 0" {
			t.Errorf("message text %q, want %q", got, "note 0")
		}
		if n := count(t, b, "#older"); n != 0 {
			t.Error("the last page offers older messages")
		}
		// Marking read on an older page comes back to it.
		run(t, b, chromedp.Click(chromedp.CSS("#messages li:nth-child(8) .mark-read")),
			chromedp.WaitVisible(chromedp.CSS("#messages li:nth-child(8).read")), chromedp.WaitVisible(chromedp.CSS("#newest")))
	})
}

// evaluate runs the JavaScript expression expr, of a boolean value, in
// the page.
func evaluate(t *testing.T, b context.Context, expr string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(b, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// count returns how many elements match sel.
func count(t *testing.T, b context.Context, sel string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(b, 30*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+fmt.Sprintf("%q", sel)+`).length`))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInboxWithJavaScript: in the reader's time zone (Tokyo here), a live
// code counts down and can be copied, is labelled once used or expired,
// messages are marked read and older ones loaded without leaving the page,
// and the title counts the unread as messages arrive.
func TestInboxWithJavaScript(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		// The script counts on the browser's clock: the server's must agree.
		e.clock.Advance(time.Since(e.clock.Now()))
		u := e.user()
		for i := range 51 {
			e.deliver(t, note(u, fmt.Sprintf("note %d", i)))
		}
		nums := e.deliver(t, otp(u, "123456", e.clock.Now().Add(3*time.Minute)))

		b := e.chrome(t, true)
		if _, err := chromedp.Call(b, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.CallBrowser(b, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-write"}, Setting: cdpbrowser.PermissionSettingGranted, Origin: e.server.URL}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.CallBrowser(b, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-read"}, Setting: cdpbrowser.PermissionSettingGranted, Origin: e.server.URL}); err != nil {
			t.Fatal(err)
		}
		e.chromeLogin(t, b, "/inbox", u, password)
		run(t, b, chromedp.WaitVisible(`//p[@id="live-status"][starts-with(normalize-space(.), "Live")]`),
			chromedp.WaitVisible(chromedp.CSS("#messages li:nth-child(1) .countdown")))
		if got := title(t, b); got != "(52) Inbox · Linkbox" {
			t.Errorf("title %q", got)
		}

		first := e.clock.Now().Truncate(time.Minute)
		tokyo := time.FixedZone("JST", 9*3600)
		shown := strings.ReplaceAll(textOf(t, b, "#messages li:nth-child(1) time"), "\u202f", " ")
		if hour := first.In(tokyo).Format("3:04 PM"); !strings.Contains(shown, hour) && !strings.Contains(shown, first.In(tokyo).Add(time.Minute).Format("3:04 PM")) {
			t.Errorf("time shown %q, want Tokyo's %s", shown, hour)
		}
		if got := textOf(t, b, "#messages li:nth-child(1) .countdown"); !regexp.MustCompile(`^Expires in [23]:[0-5][0-9]$`).MatchString(got) {
			t.Errorf("countdown %q", got)
		}

		run(t, b, chromedp.Click(chromedp.CSS("#messages li:nth-child(1) button.copy")),
			chromedp.WaitVisible(`//li[1]//button[contains(@class,"copy")][.="Copied"]`))
		ctx, cancel := context.WithTimeout(b, 30*time.Second)
		clip, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil || clip != "123456" {
			t.Errorf("clipboard %q, %v; want the code", clip, err)
		}

		// Marking read stays on the page: the marker set here survives.
		evaluate(t, b, `window.stayed = true`)
		run(t, b, chromedp.Click(chromedp.CSS("#messages li:nth-child(2) .mark-read")),
			chromedp.WaitVisible(chromedp.CSS("#messages li:nth-child(2).read")))
		if got := title(t, b); got != "(51) Inbox · Linkbox" {
			t.Errorf("title after marking read %q", got)
		}

		e.deliver(t, note(u, "live one"))
		run(t, b, chromedp.WaitVisible(`//ul[@id="messages"]/li[1]/p[@class="text"][.="live one"]`))
		if got := title(t, b); got != "(52) Inbox · Linkbox" {
			t.Errorf("title after a new message %q", got)
		}
		e.erase(t, nums[0])
		run(t, b, chromedp.WaitVisible(chromedp.CSS("#messages li:nth-child(2) .code-state.used")))

		e.clock.Advance(time.Since(e.clock.Now()))
		e.deliver(t, otp(u, "654321", e.clock.Now().Add(4*time.Second)))
		run(t, b, chromedp.WaitVisible(`//ul[@id="messages"]/li[1]//p[@class="code"][.="654321"]`),
			chromedp.WaitVisible(chromedp.CSS("#messages li:nth-child(1) .code-state.expired")))
		if s := textOf(t, b, "#messages li:nth-child(1)"); strings.Contains(s, "654321") || !strings.Contains(s, "This code has expired.") {
			t.Errorf("an expired code reads %q", s)
		}

		run(t, b, chromedp.Click(chromedp.CSS("#older")), chromedp.WaitNotPresent(chromedp.CSS("#older")))
		if n := count(t, b, "#messages > li"); n != 54 {
			t.Errorf("%d messages after loading older ones, want 54", n)
		}
		if !evaluate(t, b, `window.stayed === true`) {
			t.Error("the page was left")
		}
	})
}

// TestMarkReadRefuses: another account's message, or an unknown id, is a
// 404 page in the page's words; a form without its token a 403.
func TestMarkReadRefuses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		ada, grace := e.user(), e.user()
		e.deliver(t, note(grace, "for Grace"))
		b := e.browser()
		b.login(ada)
		e.deliver(t, note(ada, "for Ada"))
		graces := e.browser()
		graces.login(grace)
		id := regexp.MustCompile(`data-id="(msg_[^"]+)"`).FindStringSubmatch(graces.get("/inbox").body)[1]
		p := b.submit("/inbox", "/inbox/"+id+"/read", url.Values{})
		want(t, "another account's message", p, http.StatusNotFound, "This message is no longer in your inbox.")
		want(t, "an unknown id", b.submit("/inbox", "/inbox/msg_nope/read", url.Values{}), http.StatusNotFound, "This message is no longer in your inbox.")
		want(t, "no CSRF token", b.post("/inbox/"+id+"/read", url.Values{}), http.StatusForbidden, "This form has expired.")
		want(t, "bad cursor", b.get("/inbox?before=msg_nope"), http.StatusBadRequest, "These older messages cannot be found.")
		want(t, "Grace's message still unread", graces.get("/inbox"), http.StatusOK, "<title>(1) Inbox · Linkbox</title>")
	})
}
