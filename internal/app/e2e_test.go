package app_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// api posts body to a Connect endpoint and decodes the answer.
func api(t *testing.T, s *apptest.Stack, key, path string, body map[string]string) (int, map[string]any) {
	t.Helper()
	r := s.Call(t, http.MethodPost, path, "", body, "x-api-key", key)
	return r.Status, r.JSON(t)
}

// sseClient reads an inbox stream with a Bearer token and sends each event
// with data on the returned channel as its type, a space and its data.
func sseClient(t *testing.T, s *apptest.Stack, token string) <-chan string {
	t.Helper()
	raw, events := s.Stream(t, token), make(chan string, 16)
	go func() {
		for ev := range raw {
			if ev.Data != "" {
				events <- ev.Name + " " + ev.Data
			}
		}
	}()
	return events
}

// TestSeedFlowInABrowser walks the Connect document's whole flow: an app asks
// to link, the user approves on the hosted page in a real browser, the app
// sends an OTP that appears live in the user's open inbox page, verifies it,
// sends a notification seen by the page and an SSE client, and unlinks.
func TestSeedFlowInABrowser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		s := apptest.Start(t, databaseURL, nil, app.Options{})
		ctx := context.Background()
		returned := make(chan string, 1)
		shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			returned <- r.URL.String()
			io.WriteString(w, "<!doctype html><title>Your-App</title>back at the app")
		}))
		defer shop.Close()
		a, key, err := s.Server.Connect.CreateApp(ctx, "Your-App", []string{shop.URL + "/nofbox-return/"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.Server.Accounts.CreateUser(ctx, accounts.NewUser{Phone: "+25761234567", Password: "your_secure_password",
			FirstName: "John", LastName: "Doe", Email: "Hello.World@Gmail.com", Username: "johndoe", Role: "user"})
		if err != nil {
			t.Fatal(err)
		}

		// 1. The app asks; the user approves in the browser.
		status, out := api(t, s, key, "/api/link-account", map[string]string{"user_id": "100", "return_url": shop.URL + "/nofbox-return/100"})
		linkURL, _ := out["url"].(string)
		if status != 200 || out["linked"] != false || !strings.HasPrefix(linkURL, s.URL+"/linking/") {
			t.Fatalf("link-account = %d %v", status, out)
		}
		b := apptest.Browser(t)
		err = apptest.Do(b,
			chromedp.Navigate(linkURL),
			chromedp.WaitVisible(chromedp.CSS("#phone")),
			chromedp.SendKeys(chromedp.CSS("#phone"), "+25761234567"),
			chromedp.SendKeys(chromedp.CSS("#password"), "your_secure_password"),
			chromedp.Click(chromedp.CSS("#login")),
			chromedp.WaitVisible(chromedp.CSS("#approve")),
		)
		if err != nil {
			t.Fatalf("linking page: %v", err)
		}
		consent, err := apptest.Text(b, chromedp.CSS("main"))
		if err != nil {
			t.Fatal(err)
		}
		if err := apptest.Do(b, chromedp.Click(chromedp.CSS("#approve"))); err != nil {
			t.Fatalf("approve: %v", err)
		}
		if !strings.Contains(consent, "Your-App") {
			t.Errorf("consent screen does not name the app: %q", consent)
		}
		select {
		case got := <-returned:
			if got != "/nofbox-return/100" {
				t.Errorf("returned to %q, want /nofbox-return/100", got)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the browser was not sent back to the return_url")
		}

		// 2. The app asks again: linked, with the documented shape.
		_, out = api(t, s, key, "/api/link-account", map[string]string{"user_id": "100", "return_url": shop.URL + "/nofbox-return/100"})
		wantEmail := md5hex("hello.world@gmail.com") + "-he****@gmail.com"
		wantPhone := md5hex("+25761234567") + "-4567"
		if out["linked"] != true || out["email"] != wantEmail || out["phone"] != wantPhone || out["username"] != "johndoe" {
			t.Fatalf("linked answer = %v, want email %s phone %s", out, wantEmail, wantPhone)
		}

		// 3. The inbox page and an SSE client are open; an OTP arrives live.
		pair, err := s.Server.Accounts.IssueSession(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		events := sseClient(t, s, pair.AccessToken)
		err = apptest.Do(b,
			chromedp.Navigate(s.URL+"/inbox"),
			chromedp.WaitVisible(`//p[@id="live-status"][starts-with(normalize-space(.), "Live")]`),
		)
		if err != nil {
			t.Fatalf("inbox page: %v", err)
		}
		if status, out := api(t, s, key, "/api/otp", map[string]string{"user_id": "100", "reference": "login", "message": "Use this OTP code to login to Your-App"}); status != 200 || out["success"] != true {
			t.Fatalf("otp = %d %v", status, out)
		}
		if err := apptest.Do(b, chromedp.WaitVisible(chromedp.CSS("li.message .code"))); err != nil {
			t.Fatalf("the OTP did not appear live on the inbox page: %v", err)
		}
		code, err := apptest.Text(b, chromedp.CSS("li.message .code"))
		if err != nil || !regexp.MustCompile(`^\d{6}$`).MatchString(strings.TrimSpace(code)) {
			t.Fatalf("code on the inbox page = %q, %v", code, err)
		}
		<-events // the OTP reached the SSE client too
		if status, out := api(t, s, key, "/api/otp/verify", map[string]string{"user_id": "100", "reference": "login", "code": strings.TrimSpace(code)}); status != 200 || out["success"] != true {
			t.Fatalf("otp/verify = %d %v", status, out)
		}
		// The used code leaves the open page, and the SSE client learns it.
		if err := apptest.Do(b, chromedp.WaitNotPresent(chromedp.CSS("li.message .code"))); err != nil {
			t.Fatalf("used code still on the inbox page: %v", err)
		}
		if data := <-events; !strings.HasPrefix(data, `update {"id":"`) || strings.Contains(data, `"code"`) || !strings.Contains(data, `"reference":"login"`) {
			t.Errorf("SSE event after the OTP was used = %s, want an update without the code", data)
		}
		if status, out := api(t, s, key, "/api/otp/verify", map[string]string{"user_id": "100", "reference": "login", "code": strings.TrimSpace(code)}); status != 400 || out["message"] != "Invalid OTP code" {
			t.Errorf("replayed OTP = %d %v, want 400 Invalid OTP code", status, out)
		}

		// 4. A notification reaches the page and the SSE client.
		note := "Deposit $1.0 received successfuly"
		if status, out := api(t, s, key, "/api/notification", map[string]string{"user_id": "100", "message": note}); status != 200 || out["success"] != true {
			t.Fatalf("notification = %d %v", status, out)
		}
		err = apptest.Do(b, chromedp.WaitVisible(`//li[contains(@class,"message")]/p[@class="text"][.="`+note+`"]`))
		if err != nil {
			t.Fatalf("notification not shown live on the inbox page: %v", err)
		}
		select {
		case data := <-events:
			if !strings.HasPrefix(data, "message ") || !strings.Contains(data, note) || !strings.Contains(data, `"name":"Your-App"`) || !strings.Contains(data, a.ID) {
				t.Errorf("SSE event = %s", data)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the SSE client did not receive the notification")
		}

		// 5. Unlink: the app can no longer reach the user.
		if status, out := api(t, s, key, "/api/link-account/unlink", map[string]string{"user_id": "100"}); status != 200 || out["success"] != true {
			t.Fatalf("unlink = %d %v", status, out)
		}
		if status, out := api(t, s, key, "/api/otp", map[string]string{"user_id": "100", "reference": "login", "message": "x"}); status != 404 || out["message"] != "User not linked" {
			t.Errorf("otp after unlink = %d %v, want 404 User not linked", status, out)
		}
	})
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
