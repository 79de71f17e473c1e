package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestFormErrorsInPeoplesWords: a form's error is the page's own text in
// every language, never the API's message about a field.
func TestFormErrorsInPeoplesWords(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		texts := map[string]string{
			"en": "Enter a valid phone number, starting with",
			"nl": "Vul een geldig telefoonnummer in",
			"de": "Telefonnummer",
			"fr": "numéro de téléphone",
		}
		for lang, text := range texts {
			b := e.browser()
			b.get("/signup?lang=" + lang)
			form := url.Values{"phone": {"0612345678"}, "password": {password}, "first_name": {"Grace"},
				"last_name": {"Hopper"}, "email": {"grace@example.com"}}
			p := b.submit("/signup", "/signup", form)
			want(t, lang+" bad phone", p, http.StatusBadRequest, text)
			form.Set("phone", e.phone())
			form.Del("first_name")
			q := b.submit("/signup", "/signup", form)
			want(t, lang+" missing name", q, http.StatusBadRequest, "")
			for _, api := range []string{"E.164", `Field &#34;`, `Field "`, "must be a valid"} {
				if strings.Contains(p.body, api) || strings.Contains(q.body, api) {
					t.Errorf("%s: a page shows the API's words %q", lang, api)
				}
			}
		}
	})
}

// attrs returns the attributes of the first element sel matches.
func attrs(t *testing.T, b context.Context, sel string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b, 30*time.Second)
	defer cancel()
	m, err := chromedp.Run(ctx, chromedp.Attributes(chromedp.CSS(sel)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestResendCooldown: after a code is sent the resend button counts down
// its minute, disabled meanwhile; without JavaScript the page says how
// long to wait and the button stays.
func TestResendCooldown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		verify := "/signup/verify?phone=" + url.QueryEscape(e.phone()) + "&sent=1"

		b := e.chrome(t, true)
		run(t, b, chromedp.Navigate(e.server.URL+verify), chromedp.WaitVisible(`//button[@id="resend"][contains(., " s)")]`))
		if _, disabled := attrs(t, b, "#resend")["disabled"]; !disabled {
			t.Error("the resend button is enabled during its cooldown")
		}
		wantText(t, b, "#resend", "Resend code (")
		wantText(t, b, "#cooldown", "You can ask for another code in ")

		off := e.chrome(t, false)
		run(t, off, chromedp.Navigate(e.server.URL+verify), chromedp.WaitVisible(chromedp.CSS("#cooldown")))
		wantText(t, off, "#cooldown", "You can ask for another code in 60 seconds.")
		if _, disabled := attrs(t, off, "#resend")["disabled"]; disabled {
			t.Error("without JavaScript the resend button is disabled")
		}
	})
}
