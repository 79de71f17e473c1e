package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/outbox"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// answer is how the receiver answers one delivery.
type answer struct {
	status     int
	retryAfter string
	hang       bool // until the sender gives up
}

// delivery is what the receiver got.
type delivery struct {
	id, timestamp string
	body          []byte
	verified      error
}

// receiver is a webhook endpoint that verifies every delivery with its
// secret, answering per its script, then 204.
type receiver struct {
	*httptest.Server
	secret string
	signer *webhooks.Signer
	mu     sync.Mutex
	script []answer
	got    []delivery
}

func newReceiver(t *testing.T, script ...answer) *receiver {
	t.Helper()
	secret, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{secret: secret, script: script}
	if r.signer, err = webhooks.NewSigner(secret); err != nil {
		t.Fatal(err)
	}
	r.Server = httptest.NewServer(http.HandlerFunc(r.receive))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) receive(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, delivery{id: req.Header.Get(webhooks.HeaderID), timestamp: req.Header.Get(webhooks.HeaderTimestamp),
		body: body, verified: r.signer.Verify(req.Header, body, time.Now())})
	a := answer{status: http.StatusNoContent}
	if len(r.script) > 0 {
		a, r.script = r.script[0], r.script[1:]
	}
	r.mu.Unlock()
	if a.hang {
		<-req.Context().Done()
		return
	}
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.WriteHeader(a.status)
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// endpoints knows one receiver, as client "app_1".
type endpoints struct{ r *receiver }

func (e endpoints) Endpoint(_ context.Context, owner string) (string, string, error) {
	if owner != "app_1" {
		return "", "", fmt.Errorf("%w: %s", webhooks.ErrNoEndpoint, owner)
	}
	return e.r.URL + "/hooks", e.r.secret, nil
}

// webhookEnv is an outbox on a settable clock delivering webhooks to r
// with Standard Webhooks' schedule.
type webhookEnv struct {
	d     *db.DB
	clock *clock
	o     *outbox.Outbox
	q     *webhooks.Queue
	r     *receiver
}

func newWebhookEnv(t *testing.T, url string, script ...answer) *webhookEnv {
	t.Helper()
	e := &webhookEnv{d: dbtest.Open(t, url), clock: newClock(), r: newReceiver(t, script...)}
	e.o = outbox.New(e.d, quiet, e.clock.Now)
	e.q = webhooks.NewQueue(e.o, &webhooks.Deliverer{Endpoints: endpoints{e.r}, Client: &http.Client{Timeout: 200 * time.Millisecond}}, nil)
	return e
}

func (e *webhookEnv) enqueue(t *testing.T, endpoint string, body any) {
	t.Helper()
	if err := e.d.InTx(t.Context(), func(ctx context.Context, tx *db.Tx) error {
		return e.q.Enqueue(ctx, tx, endpoint, body)
	}); err != nil {
		t.Fatal(err)
	}
}

var event = map[string]any{"type": "link.created", "data": map[string]string{"user": "42"}}

// TestWebhookRetriedOn5xxThenDeliveredOnce: a 503 is retried 5 s later
// (the schedule's first wait); both attempts carry the row's id as
// webhook-id and the same body, correctly signed; the 2xx ends it.
func TestWebhookRetriedOn5xxThenDeliveredOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newWebhookEnv(t, url, answer{status: http.StatusServiceUnavailable})
		e.enqueue(t, "app_1", event)
		t0 := e.clock.Now()
		deliverDue(t, e.o)
		if r := only(t, e.d, webhooks.Kind); r.delivered || r.givenUp || r.attempts != 1 || !r.next.Equal(t0.Add(5*time.Second)) {
			t.Fatalf("after a 503: %+v, want pending, next attempt 5 s later", r)
		}
		e.clock.Advance(4 * time.Second)
		if n := deliverDue(t, e.o); n != 0 {
			t.Fatalf("retried %d before its time", n)
		}
		e.clock.Advance(time.Second)
		deliverDue(t, e.o)
		deliverDue(t, e.o)
		r, got := only(t, e.d, webhooks.Kind), e.r.deliveries()
		if !r.delivered || r.attempts != 2 || len(got) != 2 {
			t.Fatalf("row %+v after %d deliveries: want delivered on the second of 2", r, len(got))
		}
		for i, g := range got {
			if g.verified != nil || g.id != r.id || string(g.body) != `{"data":{"user":"42"},"type":"link.created"}` {
				t.Errorf("delivery %d: id %s (row %s), body %s, signature %v", i, g.id, r.id, g.body, g.verified)
			}
		}
		if strings.Contains(r.payload, e.r.secret) || payloadOf(t, []byte(r.payload))["endpoint"] != "app_1" {
			t.Errorf("payload %s: want the endpoint named, no secret", r.payload)
		}
	})
}

// TestWebhookGivenUpAtOnceOn4xx: a 4xx other than 408 and 429 gives the
// webhook up at its first attempt, as does an endpoint that no longer
// exists (without a request); the payload stays for a replay.
func TestWebhookGivenUpAtOnceOn4xx(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		for _, status := range []int{http.StatusGone, http.StatusBadRequest, http.StatusUnauthorized} {
			e := newWebhookEnv(t, url, answer{status: status})
			e.enqueue(t, "app_1", event)
			e.enqueue(t, "app_deleted", event)
			deliverDue(t, e.o)
			for _, r := range rows(t, e.d, webhooks.Kind) {
				if !r.givenUp || r.attempts != 1 || payloadOf(t, []byte(r.payload))["body"] == nil {
					t.Errorf("after %d: %+v, want given up at once, payload kept", status, r)
				}
			}
			if n := len(e.r.deliveries()); n != 1 {
				t.Errorf("after %d: %d requests, want 1 (none for the deleted endpoint)", status, n)
			}
			if _, err := e.d.Exec(t.Context(), `DELETE FROM outbox`); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestWebhookTimeoutRetried: a receiver that does not answer in time is
// tried again; so is one answering 429, no sooner than its Retry-After.
func TestWebhookTimeoutRetried(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newWebhookEnv(t, url, answer{hang: true}, answer{status: http.StatusTooManyRequests, retryAfter: "120"})
		e.enqueue(t, "app_1", event)
		t0 := e.clock.Now()
		deliverDue(t, e.o)
		if r := only(t, e.d, webhooks.Kind); r.givenUp || r.attempts != 1 || !r.next.Equal(t0.Add(5*time.Second)) || r.lastError == "" {
			t.Fatalf("after a timeout: %+v, want a retry 5 s later", r)
		}
		e.clock.Advance(5 * time.Second)
		deliverDue(t, e.o)
		// The schedule's second wait is 5 min; the receiver asked for 2.
		if r := only(t, e.d, webhooks.Kind); r.givenUp || r.attempts != 2 || !r.next.Equal(t0.Add(5*time.Second+5*time.Minute)) {
			t.Fatalf("after a 429: %+v, want the longer of Retry-After and the schedule", r)
		}
		e.clock.Advance(5 * time.Minute)
		deliverDue(t, e.o)
		if r, got := only(t, e.d, webhooks.Kind), e.r.deliveries(); !r.delivered || len(got) != 3 || got[0].id != got[2].id {
			t.Errorf("row %+v after %d deliveries: want delivered on the third, one webhook-id", r, len(got))
		}
	})
}

// TestWebhookReplayAfterGivingUp: a webhook given up after every attempt
// of Standard Webhooks' schedule is replayed whole, with its webhook-id.
func TestWebhookReplayAfterGivingUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		var script []answer
		for range 8 {
			script = append(script, answer{status: http.StatusInternalServerError})
		}
		e := newWebhookEnv(t, url, script...)
		e.enqueue(t, "app_1", event)
		for _, wait := range []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour} {
			e.clock.Advance(wait)
			if n := deliverDue(t, e.o); n != 1 {
				t.Fatalf("%v later: %d claimed, want the next attempt", wait, n)
			}
		}
		r := only(t, e.d, webhooks.Kind)
		if !r.givenUp || r.attempts != 8 {
			t.Fatalf("after the schedule: %+v, want given up after 8 attempts", r)
		}
		if err := e.o.Replay(t.Context(), r.id); err != nil {
			t.Fatal(err)
		}
		deliverDue(t, e.o)
		got := e.r.deliveries()
		if r := only(t, e.d, webhooks.Kind); !r.delivered || r.attempts != 1 || len(got) != 9 {
			t.Fatalf("after the replay: %+v, %d deliveries; want delivered at its first new attempt, the ninth", r, len(got))
		}
		var body map[string]any
		if err := json.Unmarshal(got[8].body, &body); err != nil || got[8].id != r.id || got[8].verified != nil || body["type"] != "link.created" {
			t.Errorf("replayed delivery: id %s, body %s (%v), signature %v", got[8].id, got[8].body, err, got[8].verified)
		}
	})
}
