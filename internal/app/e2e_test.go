package app_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/sms/smstest"
)

// stack is the whole Linkbox over one store, served on a real port, sending
// its SMS to gw.
type stack struct {
	srv *app.Server
	url string
	gw  *smstest.Gateway
}

// newStack starts a stack with opt (its Hash is always a cheap one).
func newStack(t *testing.T, databaseURL string, opt app.Options) *stack {
	t.Helper()
	return newStackWith(t, databaseURL, opt, nil)
}

// newStackWith is newStack with settings of a test's own (variable: value).
func newStackWith(t *testing.T, databaseURL string, opt app.Options, settings map[string]string) *stack {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	gw := smstest.NewGateway(t)
	vars := map[string]string{
		"LINKBOX_DATABASE_URL":       databaseURL,
		"LINKBOX_PUBLIC_URL":         "http://" + ts.Listener.Addr().String(),
		"LINKBOX_SMS_PROVIDER":       "webhook",
		"LINKBOX_SMS_WEBHOOK_URL":    gw.URL(),
		"LINKBOX_SMS_WEBHOOK_SECRET": gw.Secret(),
	}
	maps.Copy(vars, settings)
	raw := config.FromEnv(env(vars))
	cfg, err := raw.Parse()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cheap := accounts.HashParams{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	opt.Hash = &cheap
	srv, err := app.New(context.Background(), cfg, log, opt)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start(context.Background())
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return &stack{srv: srv, url: ts.URL, gw: gw}
}

// api posts body to a Connect endpoint and decodes the answer.
func (s *stack) api(t *testing.T, key, path string, body map[string]string) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.url+path, bytes.NewReader(b))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return resp.StatusCode, out
}

// browser starts headless Chromium; without it the test is skipped, except
// in CI, where .ci/run installs it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not found; .ci/run installs it")
		}
		t.Skip("chromium not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first call starts the browser for the life of ctx: no timeout on it.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs browser steps with a time limit.
func do(b context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b, 30*time.Second)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// text reads an element's text with a time limit.
func text[S chromedp.Selectable](b context.Context, sel S) (string, error) {
	ctx, cancel := context.WithTimeout(b, 30*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Text(sel))
}

// sseClient reads an inbox stream with a Bearer token and sends each event
// on the returned channel as its type, a space and its data.
func sseClient(t *testing.T, url, token string) <-chan string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/v1/inbox/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %s", resp.Status)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); resp.Body.Close() })
	raw, events := make(chan event), make(chan string, 16)
	go readEvents(resp.Body, raw, done)
	go func() {
		for ev := range raw {
			if ev.data != "" {
				events <- ev.name + " " + ev.data
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
		s := newStack(t, databaseURL, app.Options{})
		ctx := context.Background()
		returned := make(chan string, 1)
		shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			returned <- r.URL.String()
			io.WriteString(w, "<!doctype html><title>Your-App</title>back at the app")
		}))
		defer shop.Close()
		a, key, err := s.srv.Connect.CreateApp(ctx, "Your-App", []string{shop.URL + "/nofbox-return/"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.srv.Accounts.CreateUser(ctx, accounts.NewUser{Phone: "+25761234567", Password: "your_secure_password",
			FirstName: "John", LastName: "Doe", Email: "Hello.World@Gmail.com", Username: "johndoe", Role: "user"})
		if err != nil {
			t.Fatal(err)
		}

		// 1. The app asks; the user approves in the browser.
		status, out := s.api(t, key, "/api/link-account", map[string]string{"user_id": "100", "return_url": shop.URL + "/nofbox-return/100"})
		linkURL, _ := out["url"].(string)
		if status != 200 || out["linked"] != false || !strings.HasPrefix(linkURL, s.url+"/linking/") {
			t.Fatalf("link-account = %d %v", status, out)
		}
		b := browser(t)
		err = do(b,
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
		consent, err := text(b, chromedp.CSS("main"))
		if err != nil {
			t.Fatal(err)
		}
		if err := do(b, chromedp.Click(chromedp.CSS("#approve"))); err != nil {
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
		_, out = s.api(t, key, "/api/link-account", map[string]string{"user_id": "100", "return_url": shop.URL + "/nofbox-return/100"})
		wantEmail := md5hex("hello.world@gmail.com") + "-he****@gmail.com"
		wantPhone := md5hex("+25761234567") + "-4567"
		if out["linked"] != true || out["email"] != wantEmail || out["phone"] != wantPhone || out["username"] != "johndoe" {
			t.Fatalf("linked answer = %v, want email %s phone %s", out, wantEmail, wantPhone)
		}

		// 3. The inbox page and an SSE client are open; an OTP arrives live.
		pair, err := s.srv.Accounts.IssueSession(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		events := sseClient(t, s.url, pair.AccessToken)
		err = do(b,
			chromedp.Navigate(s.url+"/inbox"),
			chromedp.WaitVisible(`//p[@id="live-status"][starts-with(normalize-space(.), "Live")]`),
		)
		if err != nil {
			t.Fatalf("inbox page: %v", err)
		}
		if status, out := s.api(t, key, "/api/otp", map[string]string{"user_id": "100", "reference": "login", "message": "Use this OTP code to login to Your-App"}); status != 200 || out["success"] != true {
			t.Fatalf("otp = %d %v", status, out)
		}
		if err := do(b, chromedp.WaitVisible(chromedp.CSS("li.message .code"))); err != nil {
			t.Fatalf("the OTP did not appear live on the inbox page: %v", err)
		}
		code, err := text(b, chromedp.CSS("li.message .code"))
		if err != nil || !regexp.MustCompile(`^\d{6}$`).MatchString(strings.TrimSpace(code)) {
			t.Fatalf("code on the inbox page = %q, %v", code, err)
		}
		<-events // the OTP reached the SSE client too
		if status, out := s.api(t, key, "/api/otp/verify", map[string]string{"user_id": "100", "reference": "login", "code": strings.TrimSpace(code)}); status != 200 || out["success"] != true {
			t.Fatalf("otp/verify = %d %v", status, out)
		}
		// The used code leaves the open page, and the SSE client learns it.
		if err := do(b, chromedp.WaitNotPresent(chromedp.CSS("li.message .code"))); err != nil {
			t.Fatalf("used code still on the inbox page: %v", err)
		}
		if data := <-events; !strings.HasPrefix(data, `update {"id":"`) || strings.Contains(data, `"code"`) || !strings.Contains(data, `"reference":"login"`) {
			t.Errorf("SSE event after the OTP was used = %s, want an update without the code", data)
		}
		if status, out := s.api(t, key, "/api/otp/verify", map[string]string{"user_id": "100", "reference": "login", "code": strings.TrimSpace(code)}); status != 400 || out["message"] != "Invalid OTP code" {
			t.Errorf("replayed OTP = %d %v, want 400 Invalid OTP code", status, out)
		}

		// 4. A notification reaches the page and the SSE client.
		note := "Deposit $1.0 received successfuly"
		if status, out := s.api(t, key, "/api/notification", map[string]string{"user_id": "100", "message": note}); status != 200 || out["success"] != true {
			t.Fatalf("notification = %d %v", status, out)
		}
		err = do(b, chromedp.WaitVisible(`//li[contains(@class,"message")]/p[@class="text"][.="`+note+`"]`))
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
		if status, out := s.api(t, key, "/api/link-account/unlink", map[string]string{"user_id": "100"}); status != 200 || out["success"] != true {
			t.Fatalf("unlink = %d %v", status, out)
		}
		if status, out := s.api(t, key, "/api/otp", map[string]string{"user_id": "100", "reference": "login", "message": "x"}); status != 404 || out["message"] != "User not linked" {
			t.Errorf("otp after unlink = %d %v, want 404 User not linked", status, out)
		}
	})
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
