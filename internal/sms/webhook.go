package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/linkbox/linkbox/internal/webhooks"
)

// Webhook delivers a message to an SMS gateway of the operator's choosing:
// a POST of the JSON object {"id","to","body"}, signed per Standard Webhooks
// with webhook-id set to the message ID, so the gateway can drop retries it
// already handled. Any 2xx answer means the gateway took the message.
type Webhook struct {
	URL    string
	Signer *webhooks.Signer
	Client *http.Client     // nil means a client with a 10 s timeout
	Now    func() time.Time // nil means time.Now
}

var _ Sender = (*Webhook)(nil)

// webhookPayload is the JSON body of a delivery.
type webhookPayload struct {
	ID   string `json:"id"`
	To   string `json:"to"`
	Body string `json:"body"`
}

// Send posts m to the gateway.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	if m.ID == "" {
		return fmt.Errorf("%w: message to %q has no ID to sign", ErrPermanent, m.To)
	}
	if err := m.validate(); err != nil {
		return err
	}
	req, err := w.request(ctx, m)
	if err != nil {
		return err
	}
	status, body, err := do(w.client(), req)
	if err != nil {
		return fmt.Errorf("sms: webhook %s: %w", m.ID, err)
	}
	if status >= 200 && status < 300 {
		return nil
	}
	return statusError("webhook", status, body)
}

func (w *Webhook) request(ctx context.Context, m Message) (*http.Request, error) {
	payload, err := json.Marshal(webhookPayload{ID: m.ID, To: m.To, Body: m.Body})
	if err != nil {
		return nil, fmt.Errorf("sms: encode webhook payload: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("%w: webhook request: %w", ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	w.Signer.SetHeaders(req.Header, m.ID, w.now(), payload)
	return req, nil
}

func (w *Webhook) client() *http.Client {
	if w.Client == nil {
		return newHTTPClient()
	}
	return w.Client
}

func (w *Webhook) now() time.Time {
	if w.Now == nil {
		return time.Now()
	}
	return w.Now()
}
