package sms_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/sms"
	"github.com/linkbox/linkbox/internal/webhooks"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestNewRejectsBadConfig(t *testing.T) {
	webhook := func(url, secret string) sms.Config {
		return sms.Config{Provider: "webhook", WebhookURL: url, WebhookSecret: secret}
	}
	twilio := func(base, sid, token, from string) sms.Config {
		return sms.Config{Provider: "twilio", TwilioBaseURL: base, TwilioAccountSID: sid, TwilioAuthToken: token, TwilioFrom: from}
	}
	tests := []struct {
		name    string
		cfg     sms.Config
		wantErr string
	}{
		{"unknown provider", sms.Config{Provider: "carrier-pigeon"}, `unknown provider "carrier-pigeon"`},
		{"provider in capitals", sms.Config{Provider: "Console"}, "unknown provider"},
		{"webhook without URL", webhook("", testSecret), "needs both a webhook URL and a webhook secret"},
		{"webhook without secret", webhook("https://gw.example/sms", ""), "needs both a webhook URL and a webhook secret"},
		{"webhook relative URL", webhook("/sms", testSecret), "not an absolute http(s) URL"},
		{"webhook ftp URL", webhook("ftp://gw.example/sms", testSecret), "not an absolute http(s) URL"},
		{"webhook unparsable URL", webhook("http://gw example/%zz", testSecret), "webhook URL"},
		{"webhook secret without prefix", webhook("https://gw.example/sms", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "webhook secret"},
		{"webhook secret too short", webhook("https://gw.example/sms", "whsec_c2hvcnQ="), "webhook secret"},
		{"twilio without SID", twilio("", "", "tok", "+15005550006"), "needs an account SID, an auth token and a From"},
		{"twilio without token", twilio("", "AC1", "", "+15005550006"), "needs an account SID, an auth token and a From"},
		{"twilio without From", twilio("", "AC1", "tok", ""), "needs an account SID, an auth token and a From"},
		{"twilio bad base URL", twilio("api.twilio.com", "AC1", "tok", "+15005550006"), "twilio base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sms.New(tt.cfg, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, %v; want error containing %q", s, err, tt.wantErr)
			}
		})
	}
}

func TestNewBuildsProviders(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, p := range []string{"", "console"} {
		s, err := sms.New(sms.Config{Provider: p}, log)
		if c, ok := s.(*sms.Console); err != nil || !ok || c.Log != log {
			t.Errorf("New(provider %q) = %#v, %v; want *Console with the logger", p, s, err)
		}
	}

	s, err := sms.New(sms.Config{Provider: "webhook", WebhookURL: "https://gw.example/sms", WebhookSecret: testSecret}, log)
	w, ok := s.(*sms.Webhook)
	if err != nil || !ok || w.URL != "https://gw.example/sms" || w.Signer == nil || w.Now == nil || w.Client.Timeout != 10*time.Second {
		t.Errorf("New(webhook) = %#v, %v; want *Webhook with signer, clock and a 10s client", s, err)
	}

	s, err = sms.New(sms.Config{Provider: "twilio", TwilioAccountSID: "AC1", TwilioAuthToken: "tok", TwilioFrom: "+15005550006"}, log)
	tw, ok := s.(*sms.Twilio)
	if err != nil || !ok || tw.AccountSID != "AC1" || tw.AuthToken != "tok" || tw.From != "+15005550006" || tw.Client.Timeout != 10*time.Second {
		t.Errorf("New(twilio) = %#v, %v; want *Twilio with the settings and a 10s client", s, err)
	}
}

func TestSecretsStayOutOfLogs(t *testing.T) {
	cfg := sms.Config{
		Provider: "twilio", WebhookSecret: testSecret,
		TwilioAccountSID: "AC1", TwilioAuthToken: "super-secret-token", TwilioFrom: "+15005550006",
	}
	s, err := sms.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("configured", "config", cfg, "sender", s)
	out := buf.String()
	for _, secret := range []string{"super-secret-token", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		if strings.Contains(out, secret) {
			t.Errorf("log line %q contains secret %q", out, secret)
		}
	}
	for _, setting := range []string{"config.provider=twilio", "config.twilio_account_sid=AC1", "sender.from=+15005550006"} {
		if !strings.Contains(out, setting) {
			t.Errorf("log line %q lacks %q", out, setting)
		}
	}
}

// The client built by New must not follow a redirect: it would deliver the
// signed POST somewhere else, or turn it into a GET.
func TestNewClientDoesNotFollowRedirects(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("redirect followed: %s %s", r.Method, r.URL)
	}))
	t.Cleanup(target.Close)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)

	s, err := sms.New(sms.Config{Provider: "webhook", WebhookURL: redirect.URL, WebhookSecret: testSecret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), sms.Message{ID: "sms_1", To: "+15550100", Body: "hi"})
	if !errors.Is(err, sms.ErrPermanent) || !strings.Contains(err.Error(), "307") {
		t.Errorf("Send = %v, want a permanent error naming status 307", err)
	}
}

// hangingServer answers no request; arrived receives one value per request.
func hangingServer(t *testing.T) (url string, arrived <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices a client hanging up (and ends r's context)
		// only once the request body has been read.
		io.Copy(io.Discard, r.Body)
		ch <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

// rawServer answers every request with status and body.
func rawServer(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// closedServerURL returns the address of a server that has stopped.
func closedServerURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

// sendCancelledMidFlight starts s.Send against a server that never answers,
// cancels its context once the request has arrived, and returns Send's error.
func sendCancelledMidFlight(t *testing.T, s sms.Sender, arrived <-chan struct{}) error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.Send(ctx, sms.Message{ID: "sms_1", To: "+15550100", Body: "hi"}) }()
	<-arrived
	cancel()
	return <-errc
}

func mustSigner(t *testing.T, secret string) *webhooks.Signer {
	t.Helper()
	s, err := webhooks.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
