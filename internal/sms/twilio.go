package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// DefaultTwilioBaseURL is where Twilio's REST API lives.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// Twilio sends messages through Twilio's Programmable Messaging REST API.
type Twilio struct {
	BaseURL    string // empty means DefaultTwilioBaseURL
	AccountSID string
	AuthToken  string
	// From is the sending phone number, or a Messaging Service SID ("MG…"),
	// which lets Twilio pick the number.
	From   string
	Client *http.Client // nil means a client with a 10 s timeout
}

var _ Sender = (*Twilio)(nil)

// TwilioError is an error answer of Twilio's API. It wraps ErrPermanent for
// a 4xx status other than 408 and 429.
type TwilioError struct {
	Status   int    // HTTP status
	Code     int    // Twilio error code, see https://www.twilio.com/docs/api/errors
	Message  string // Twilio's explanation
	MoreInfo string // link to the code's documentation
}

// Error describes the error with Twilio's code and message.
func (e *TwilioError) Error() string {
	msg := fmt.Sprintf("sms: twilio answered %d: error %d: %s", e.Status, e.Code, e.Message)
	if e.MoreInfo != "" {
		msg += " (" + e.MoreInfo + ")"
	}
	return msg
}

// Unwrap returns ErrPermanent when retrying cannot help, nil otherwise.
func (e *TwilioError) Unwrap() error {
	if retryable(e.Status) {
		return nil
	}
	return ErrPermanent
}

// LogValue lets a Twilio sender be logged without its auth token.
func (t *Twilio) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", t.baseURL()),
		slog.String("account_sid", t.AccountSID),
		slog.String("from", t.From),
	)
}

// Send asks Twilio to send m. Twilio has no idempotency key for messages, so
// m.ID is not passed on.
func (t *Twilio) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	req, err := t.request(ctx, m)
	if err != nil {
		return err
	}
	status, body, err := do(t.client(), req)
	if err != nil {
		return fmt.Errorf("sms: twilio %s: %w", m.ID, err)
	}
	if status >= 200 && status < 300 {
		return checkCreated(body)
	}
	return twilioError(status, body)
}

func (t *Twilio) request(ctx context.Context, m Message) (*http.Request, error) {
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	if strings.HasPrefix(t.From, "MG") {
		form.Set("MessagingServiceSid", t.From)
	} else {
		form.Set("From", t.From)
	}
	endpoint := t.baseURL() + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: twilio request: %w", ErrPermanent, err)
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// checkCreated makes sure a 2xx answer is Twilio's: a message resource with a
// sid. Anything else means BaseURL points elsewhere; the error is permanent
// because a retry could send the message twice if it did go out.
func checkCreated(body []byte) error {
	var created struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body, &created); err != nil || created.SID == "" {
		return fmt.Errorf("%w: twilio answered 2xx without a message sid: %q",
			ErrPermanent, body[:min(len(body), maxDetailBytes)])
	}
	return nil
}

// twilioError turns an error answer into a *TwilioError, or a plain status
// error when the body is not Twilio's error JSON (a proxy's page, say).
func twilioError(status int, body []byte) error {
	var e struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		MoreInfo string `json:"more_info"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Code == 0 {
		return statusError("twilio", status, body)
	}
	return &TwilioError{Status: status, Code: e.Code, Message: e.Message, MoreInfo: e.MoreInfo}
}

func (t *Twilio) baseURL() string {
	if t.BaseURL == "" {
		return DefaultTwilioBaseURL
	}
	return strings.TrimSuffix(t.BaseURL, "/")
}

func (t *Twilio) client() *http.Client {
	if t.Client == nil {
		return newHTTPClient()
	}
	return t.Client
}
