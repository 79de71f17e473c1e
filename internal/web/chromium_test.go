package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/inbox"
)

// chrome is headless Chromium on e's pages, with JavaScript turned off
// unless js: the pages must work either way.
func (e *env) chrome(t *testing.T, js bool) context.Context {
	t.Helper()
	b := apptest.Browser(t)
	if !js {
		if _, err := chromedp.Call(b, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("turn JavaScript off: %v", err)
		}
	}
	return b
}

// run runs browser steps, failing t on the first error.
func run(t *testing.T, b context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := apptest.Do(b, steps...); err != nil {
		t.Fatal(err)
	}
}

// textOf returns the visible text of the first element sel matches.
func textOf(t *testing.T, b context.Context, sel string) string {
	t.Helper()
	s, err := apptest.Text(b, chromedp.CSS(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// title returns the page's title.
func title(t *testing.T, b context.Context) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantText fails t unless the text of sel contains every one of want.
func wantText(t *testing.T, b context.Context, sel string, want ...string) {
	t.Helper()
	got := textOf(t, b, sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s reads %q, want it to contain %q", sel, got, w)
		}
	}
}

// chromeLogin signs u in with password through the login form at path.
func (e *env) chromeLogin(t *testing.T, b context.Context, path string, u accounts.User, pw string) {
	t.Helper()
	run(t, b, chromedp.Navigate(e.server.URL+path), chromedp.WaitVisible(chromedp.CSS("#phone")),
		chromedp.SendKeys(chromedp.CSS("#phone"), u.Phone), chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#login")))
}

// deliver adds messages to u's inbox as a surface does, and returns their
// numbers.
func (e *env) deliver(t *testing.T, msgs ...inbox.NewMessage) []int64 {
	t.Helper()
	var nums []int64
	err := e.db.InTx(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		for _, m := range msgs {
			num, err := e.inbox.Add(ctx, tx, m)
			if err != nil {
				return err
			}
			nums = append(nums, num)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	return nums
}

// note is a notification to u from the app "Acme".
func note(u accounts.User, text string) inbox.NewMessage {
	return inbox.NewMessage{UserID: u.ID, Source: inbox.Source{Kind: inbox.SourceApp, ID: "app_acme", Name: "Acme"},
		Type: inbox.TypeNotification, Message: text}
}

// otp is a one-time code to u from "Acme", expiring at expires.
func otp(u accounts.User, code string, expires time.Time) inbox.NewMessage {
	return inbox.NewMessage{UserID: u.ID, Source: inbox.Source{Kind: inbox.SourceApp, ID: "app_acme", Name: "Acme"},
		Type: inbox.TypeOTP, Message: "Your code", Code: code, Reference: "login", ExpiresAt: expires}
}

// erase kills the code of message num, as a used OTP does.
func (e *env) erase(t *testing.T, num int64) {
	t.Helper()
	err := e.db.InTx(context.Background(), func(ctx context.Context, tx *db.Tx) error { return e.inbox.EraseCode(ctx, tx, num) })
	if err != nil {
		t.Fatal(err)
	}
}
