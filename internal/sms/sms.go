// Package sms delivers text messages through one of several providers, all
// behind the Sender interface: the log (console), a Standard Webhooks gateway
// (webhook) or Twilio's REST API (twilio).
package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/linkbox/linkbox/internal/webhooks"
)

// Message is one SMS to send.
type Message struct {
	// ID names the message and stays the same across retries, so that a
	// receiver can drop a duplicate delivery.
	ID   string
	To   string
	Body string
}

// Sender delivers a message. An error wrapping ErrPermanent means that
// retrying the same message cannot succeed; any other error may be transient.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrPermanent is wrapped by errors that retrying cannot cure: a rejected
// request, an invalid number, bad credentials.
var ErrPermanent = errors.New("sms: permanent failure")

// The provider names accepted by New.
const (
	ProviderConsole = "console"
	ProviderWebhook = "webhook"
	ProviderTwilio  = "twilio"
)

// httpTimeout bounds one delivery attempt, so that a stalled provider holds
// up the caller (and the outbox behind it) for seconds, not forever.
const httpTimeout = 10 * time.Second

// Config selects and configures a provider.
type Config struct {
	Provider         string // ProviderConsole (also when empty), ProviderWebhook or ProviderTwilio
	WebhookURL       string
	WebhookSecret    string // "whsec_…"
	TwilioBaseURL    string // default DefaultTwilioBaseURL
	TwilioAccountSID string
	TwilioAuthToken  string
	TwilioFrom       string // a phone number, or a Messaging Service SID ("MG…")
}

// LogValue lets a Config be logged without its secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("provider", c.Provider),
		slog.String("webhook_url", c.WebhookURL),
		slog.String("twilio_base_url", c.TwilioBaseURL),
		slog.String("twilio_account_sid", c.TwilioAccountSID),
		slog.String("twilio_from", c.TwilioFrom),
	)
}

// New returns the Sender that cfg selects. log receives the console
// provider's lines, and the warning that they hold the codes.
func New(cfg Config, log *slog.Logger) (Sender, error) {
	switch cfg.Provider {
	case ProviderConsole, "":
		warnConsole(log)
		return &Console{Log: log}, nil
	case ProviderWebhook:
		return newWebhook(cfg)
	case ProviderTwilio:
		return newTwilio(cfg)
	default:
		return nil, fmt.Errorf("sms: unknown provider %q: want %q, %q or %q",
			cfg.Provider, ProviderConsole, ProviderWebhook, ProviderTwilio)
	}
}

// warnConsole says at start-up what the console provider does by design:
// its log line is the message, code and all.
func warnConsole(log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	log.Warn("SMS provider is console: every SMS, with its code, is written to this log instead of being sent; " +
		"for development only, set LINKBOX_SMS_PROVIDER to deliver them")
}

func newWebhook(cfg Config) (*Webhook, error) {
	if cfg.WebhookURL == "" || cfg.WebhookSecret == "" {
		return nil, errors.New("sms: the webhook provider needs both a webhook URL and a webhook secret")
	}
	if err := checkHTTPURL(cfg.WebhookURL); err != nil {
		return nil, fmt.Errorf("sms: webhook URL: %w", err)
	}
	signer, err := webhooks.NewSigner(cfg.WebhookSecret)
	if err != nil {
		return nil, fmt.Errorf("sms: webhook secret: %w", err)
	}
	return &Webhook{URL: cfg.WebhookURL, Signer: signer, Client: newHTTPClient(), Now: time.Now}, nil
}

func newTwilio(cfg Config) (*Twilio, error) {
	if cfg.TwilioAccountSID == "" || cfg.TwilioAuthToken == "" || cfg.TwilioFrom == "" {
		return nil, errors.New("sms: the twilio provider needs an account SID, an auth token and a From number or Messaging Service SID")
	}
	if cfg.TwilioBaseURL != "" {
		if err := checkHTTPURL(cfg.TwilioBaseURL); err != nil {
			return nil, fmt.Errorf("sms: twilio base URL: %w", err)
		}
	}
	return &Twilio{
		BaseURL:    cfg.TwilioBaseURL,
		AccountSID: cfg.TwilioAccountSID,
		AuthToken:  cfg.TwilioAuthToken,
		From:       cfg.TwilioFrom,
		Client:     newHTTPClient(),
	}, nil
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return nil
}

// newHTTPClient returns the client used by the HTTP providers. It does not
// follow redirects: Go would replay a redirected POST as a body-less GET, and
// a provider that redirects its API is misconfigured, not briefly down.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: httpTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// validate rejects messages no provider could deliver.
func (m Message) validate() error {
	if m.To == "" || m.Body == "" {
		return fmt.Errorf("%w: message %q has no recipient or no body", ErrPermanent, m.ID)
	}
	return nil
}
