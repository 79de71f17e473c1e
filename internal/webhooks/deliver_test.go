package webhooks_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/outbox"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// endpoint is one receiver's address and secret, or an error.
type endpoint struct {
	url, secret string
	err         error
}

func (e endpoint) Endpoint(context.Context, string) (string, string, error) {
	return e.url, e.secret, e.err
}

// hook is a message of kind webhook to "app_1".
var hook = outbox.Message{ID: "webhook_1", Kind: webhooks.Kind, Attempt: 1,
	Payload: []byte(`{"endpoint":"app_1","body":{"type":"ping","data":{}}}`)}

// server answers status to every POST it can verify with secret (401
// otherwise), and counts them.
func server(t *testing.T, secret string, status int) (url string, hits *atomic.Int32) {
	t.Helper()
	signer, err := webhooks.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	hits = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			string(body) != `{"type":"ping","data":{}}` || r.Header.Get(webhooks.HeaderID) != hook.ID ||
			signer.Verify(r.Header, body, time.Now()) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

func TestDeliverStatusClassification(t *testing.T) {
	secret := newSecret(t)
	for _, tt := range []struct {
		status    int
		ok        bool
		permanent bool
	}{
		{http.StatusOK, true, false},
		{http.StatusAccepted, true, false},
		{http.StatusNoContent, true, false},
		{http.StatusInternalServerError, false, false},
		{http.StatusBadGateway, false, false},
		{http.StatusServiceUnavailable, false, false},
		{http.StatusRequestTimeout, false, false},
		{http.StatusTooManyRequests, false, false},
		{http.StatusBadRequest, false, true},
		{http.StatusNotFound, false, true},
		{http.StatusGone, false, true},
		{http.StatusUnprocessableEntity, false, true},
		{http.StatusFound, false, true}, // a redirect is not followed
	} {
		url, hits := server(t, secret, tt.status)
		d := &webhooks.Deliverer{Endpoints: endpoint{url: url, secret: secret}}
		err := d.Deliver(t.Context(), hook)
		if (err == nil) != tt.ok || errors.Is(err, outbox.ErrPermanent) != tt.permanent || hits.Load() != 1 {
			t.Errorf("answer %d: Deliver = %v after %d requests; want ok %v, permanent %v, one request",
				tt.status, err, hits.Load(), tt.ok, tt.permanent)
		}
	}
}

func TestDeliverRefusals(t *testing.T) {
	secret := newSecret(t)
	url, hits := server(t, secret, http.StatusNoContent)
	stopped := httptest.NewServer(http.NotFoundHandler())
	stopped.Close()
	for _, tt := range []struct {
		name      string
		ep        endpoint
		payload   string
		permanent bool
	}{
		{"endpoint gone", endpoint{err: webhooks.ErrNoEndpoint}, "", true},
		{"endpoint lookup failed", endpoint{err: errors.New("store down")}, "", false},
		{"bad secret", endpoint{url: url, secret: "whsec_short"}, "", true},
		{"relative URL", endpoint{url: "/hooks", secret: secret}, "", true},
		{"not an event", endpoint{url: url, secret: secret}, `"text"`, true},
		{"no body", endpoint{url: url, secret: secret}, `{"endpoint":"app_1"}`, true},
		{"connection refused", endpoint{url: stopped.URL, secret: secret}, "", false},
	} {
		m := hook
		if tt.payload != "" {
			m.Payload = []byte(tt.payload)
		}
		err := (&webhooks.Deliverer{Endpoints: tt.ep}).Deliver(t.Context(), m)
		if err == nil || errors.Is(err, outbox.ErrPermanent) != tt.permanent {
			t.Errorf("%s: Deliver = %v, want an error with permanent %v", tt.name, err, tt.permanent)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the receiver, want none", n)
	}
}

func TestSchedule(t *testing.T) {
	retry := webhooks.Schedule()
	var total time.Duration
	for n, want := range []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour} {
		wait, again := retry(n + 1)
		if wait != want || !again {
			t.Errorf("after failure %d: wait %v, %v; want %v", n+1, wait, again, want)
		}
		total += wait
	}
	if _, again := retry(8); again {
		t.Error("an 8th failure is retried; want given up")
	}
	if total != 27*time.Hour+35*time.Minute+5*time.Second {
		t.Errorf("schedule spans %v", total)
	}
}

func newSecret(t *testing.T) string {
	t.Helper()
	s, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
