package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/outbox"
)

// Kind is the outbox kind of a signed webhook.
const Kind = "webhook"

// Schedule is how a failed webhook is retried, Standard Webhooks' suggested
// schedule: after the first attempt fails, the next ones follow 5 s, 5 min,
// 30 min, 2 h, 5 h, 10 h and 10 h after each failure — 8 attempts over
// about 27.6 hours — then the webhook is given up, its payload kept for a
// replay (outbox.Replay).
func Schedule() outbox.Retry {
	return outbox.Schedule(5*time.Second, 5*time.Minute, 30*time.Minute, 2*time.Hour, 5*time.Hour, 10*time.Hour, 10*time.Hour)
}

// Event is a webhook as the outbox keeps it: whom to post to, and what.
type Event struct {
	// Endpoint names the receiver (a client's id). Its URL and secret are
	// asked of Endpoints at each attempt: the store holds no secret in the
	// row, and a rotated secret or a moved URL applies to the retries.
	Endpoint string `json:"endpoint"`
	// Body is the JSON document posted, byte for byte on every attempt.
	Body json.RawMessage `json:"body"`
}

// Endpoints gives the receivers of webhooks.
type Endpoints interface {
	// Endpoint returns the URL to post owner's webhooks to and its
	// "whsec_…" secret, or an error wrapping ErrNoEndpoint when owner has
	// none (deleted, or its webhook unset), which gives the webhook up;
	// any other error is retried.
	Endpoint(ctx context.Context, owner string) (url, secret string, err error)
}

// ErrNoEndpoint is wrapped by Endpoints for an owner without a receiver.
var ErrNoEndpoint = errors.New("webhooks: no endpoint")

// Queue is the door of webhooks into the durable outbox.
type Queue struct {
	outbox *outbox.Outbox
}

// NewQueue registers kind "webhook" with o, delivered by d and retried per
// retry (Schedule when nil), and returns the Queue that enqueues webhooks.
// A given-up webhook keeps its payload, for a replay.
func NewQueue(o *outbox.Outbox, d *Deliverer, retry outbox.Retry) *Queue {
	if retry == nil {
		retry = Schedule()
	}
	o.Register(Kind, d, outbox.Policy{Retry: retry})
	return &Queue{outbox: o}
}

// Enqueue queues body, encoded with encoding/json, to be posted to
// endpoint's receiver, inside the transaction tx that decides to send it.
// The outbox row's id is the webhook-id of every attempt.
func (q *Queue) Enqueue(ctx context.Context, tx *db.Tx, endpoint string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("webhooks: encode body for %s: %w", endpoint, err)
	}
	if err := q.outbox.Enqueue(ctx, tx, Kind, Event{Endpoint: endpoint, Body: raw}); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	return nil
}

// Deliverer posts the outbox's webhooks, signed per Standard Webhooks with
// webhook-id set to the message's id. A 2xx answer delivers the webhook;
// 408, 429 and 5xx answers (after their Retry-After, if any), timeouts and
// connection errors are retried; any other answer gives it up at once.
type Deliverer struct {
	Endpoints Endpoints
	Client    *http.Client     // nil: a client with a 10 s timeout that follows no redirect
	Now       func() time.Time // nil: time.Now
}

var _ outbox.Deliverer = (*Deliverer)(nil)

// Deliver makes one attempt at posting m.
func (d *Deliverer) Deliver(ctx context.Context, m outbox.Message) error {
	var ev Event
	if err := json.Unmarshal(m.Payload, &ev); err != nil || len(ev.Body) == 0 {
		return outbox.Permanent(fmt.Errorf("webhooks: payload of %s is not an Event: %v", m.ID, err))
	}
	req, err := d.request(ctx, m.ID, ev)
	if err != nil {
		return err
	}
	resp, err := d.client().Do(req)
	if err != nil {
		return fmt.Errorf("webhooks: %s to %s: %w", m.ID, ev.Endpoint, err)
	}
	defer resp.Body.Close()
	// The status decides; a body cut short does not undo a 2xx.
	detail, _ := io.ReadAll(io.LimitReader(resp.Body, maxDetailBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("webhooks: %s to %s: answered %d %s: %q", m.ID, ev.Endpoint,
		resp.StatusCode, http.StatusText(resp.StatusCode), strings.TrimSpace(string(detail)))
	if !retryable(resp.StatusCode) {
		return outbox.Permanent(err)
	}
	if after, ok := retryAfter(resp.Header.Get("Retry-After"), d.now()); ok {
		return outbox.RetryAfter(err, after)
	}
	return err
}

// request builds the signed POST of ev for message id.
func (d *Deliverer) request(ctx context.Context, id string, ev Event) (*http.Request, error) {
	target, secret, err := d.Endpoints.Endpoint(ctx, ev.Endpoint)
	if errors.Is(err, ErrNoEndpoint) {
		return nil, outbox.Permanent(fmt.Errorf("webhooks: %s: %w", id, err))
	}
	if err != nil {
		return nil, fmt.Errorf("webhooks: %s: endpoint of %s: %w", id, ev.Endpoint, err)
	}
	signer, err := NewSigner(secret)
	if err != nil {
		return nil, outbox.Permanent(fmt.Errorf("webhooks: %s: secret of %s: %w", id, ev.Endpoint, err))
	}
	if u, err := url.Parse(target); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, outbox.Permanent(fmt.Errorf("webhooks: %s: %q of %s is not an absolute http(s) URL", id, target, ev.Endpoint))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(ev.Body))
	if err != nil {
		return nil, outbox.Permanent(fmt.Errorf("webhooks: %s: request: %w", id, err))
	}
	req.Header.Set("Content-Type", "application/json")
	signer.SetHeaders(req.Header, id, d.now(), ev.Body)
	return req, nil
}

// maxDetailBytes caps how much of an error answer is read and quoted.
const maxDetailBytes = 256

// retryable reports whether another attempt may succeed after status.
func retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil {
		return max(time.Duration(s)*time.Second, 0), true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// defaultClient bounds an attempt to 10 s and follows no redirect: Go
// would replay a redirected POST as a body-less GET, and a receiver that
// redirects is misconfigured, not briefly down.
var defaultClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (d *Deliverer) client() *http.Client {
	if d.Client != nil {
		return d.Client
	}
	return defaultClient
}

func (d *Deliverer) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}
