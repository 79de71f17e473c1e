package smstest_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/sms"
	"github.com/linkbox/linkbox/internal/sms/smstest"
	"github.com/linkbox/linkbox/internal/webhooks"
)

type delivery struct {
	method string
	secret string // "" leaves the request unsigned
	id     string
	body   string
	sent   string // body actually sent, if it differs from the signed one
}

// post sends d to the gateway and returns the answer's status.
func (d delivery) post(t *testing.T, g *smstest.Gateway) int {
	t.Helper()
	sent := d.body
	if d.sent != "" {
		sent = d.sent
	}
	method := d.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(t.Context(), method, g.URL(), bytes.NewReader([]byte(sent)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if d.secret != "" {
		signer, err := webhooks.NewSigner(d.secret)
		if err != nil {
			t.Fatal(err)
		}
		signer.SetHeaders(req.Header, d.id, time.Now(), []byte(d.body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

const okBody = `{"id":"sms_1","to":"+15550100","body":"Your code is 123456"}`

func TestGatewayRecordsSignedDelivery(t *testing.T) {
	g := smstest.NewGateway(t)
	if got := (delivery{secret: g.Secret(), id: "sms_1", body: okBody}).post(t, g); got != http.StatusNoContent {
		t.Fatalf("status = %d, want %d", got, http.StatusNoContent)
	}
	want := sms.Message{ID: "sms_1", To: "+15550100", Body: "Your code is 123456"}
	if got := g.Messages(); len(got) != 1 || got[0] != want {
		t.Errorf("Messages = %+v, want [%+v]", got, want)
	}
	got, err := g.Wait(t.Context(), "+15550100")
	if err != nil || got != want {
		t.Errorf("Wait = %+v, %v; want %+v", got, err, want)
	}
}

func TestGatewayRejectsBadDeliveries(t *testing.T) {
	other, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	g := smstest.NewGateway(t)
	tests := []struct {
		name string
		d    delivery
		want int
	}{
		{"unsigned", delivery{id: "sms_1", body: okBody}, http.StatusUnauthorized},
		{"other secret", delivery{secret: other, id: "sms_1", body: okBody}, http.StatusUnauthorized},
		{"tampered body", delivery{secret: g.Secret(), id: "sms_1", body: okBody, sent: `{"id":"sms_1","to":"+15550666","body":"x"}`}, http.StatusUnauthorized},
		{"not JSON", delivery{secret: g.Secret(), id: "sms_1", body: "to=+15550100"}, http.StatusBadRequest},
		{"no recipient", delivery{secret: g.Secret(), id: "sms_1", body: `{"id":"sms_1","body":"x"}`}, http.StatusBadRequest},
		{"id differs from webhook-id", delivery{secret: g.Secret(), id: "sms_2", body: okBody}, http.StatusBadRequest},
		{"GET", delivery{method: http.MethodGet, secret: g.Secret(), id: "sms_1", body: okBody}, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.post(t, g); got != tt.want {
				t.Errorf("status = %d, want %d", got, tt.want)
			}
		})
	}
	if got := g.Messages(); len(got) != 0 {
		t.Errorf("Messages = %+v, want none", got)
	}
}

func TestGatewayFailNext(t *testing.T) {
	g := smstest.NewGateway(t)
	g.FailNext(2, http.StatusServiceUnavailable)
	d := delivery{secret: g.Secret(), id: "sms_1", body: okBody}
	for i, want := range []int{http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusNoContent, http.StatusNoContent} {
		if got := d.post(t, g); got != want {
			t.Errorf("delivery %d: status = %d, want %d", i+1, got, want)
		}
	}
	if got := len(g.Messages()); got != 2 {
		t.Errorf("recorded %d messages, want 2 (failed deliveries are not recorded)", got)
	}
}

func TestWaitBlocksUntilAMessageArrives(t *testing.T) {
	g := smstest.NewGateway(t)
	type result struct {
		m   sms.Message
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := g.Wait(t.Context(), "+15550100")
		done <- result{m, err}
	}()
	(delivery{secret: g.Secret(), id: "sms_0", body: `{"id":"sms_0","to":"+15550199","body":"not yours"}`}).post(t, g)
	(delivery{secret: g.Secret(), id: "sms_1", body: okBody}).post(t, g)
	r := <-done
	if r.err != nil || r.m.ID != "sms_1" {
		t.Errorf("Wait = %+v, %v; want message sms_1", r.m, r.err)
	}
}

func TestWaitReturnsEachMessageOnceInOrder(t *testing.T) {
	g := smstest.NewGateway(t)
	for _, id := range []string{"sms_a", "sms_b"} {
		(delivery{secret: g.Secret(), id: id, body: `{"id":"` + id + `","to":"+15550100","body":"x"}`}).post(t, g)
	}
	for _, want := range []string{"sms_a", "sms_b"} {
		if m, err := g.Wait(t.Context(), "+15550100"); err != nil || m.ID != want {
			t.Errorf("Wait = %+v, %v; want message %s", m, err, want)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if m, err := g.Wait(ctx, "+15550100"); !errors.Is(err, context.Canceled) {
		t.Errorf("third Wait = %+v, %v; want context.Canceled", m, err)
	}
}

func TestWaitEndsWhenContextEnds(t *testing.T) {
	g := smstest.NewGateway(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := g.Wait(ctx, "+15550100")
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Wait error = %v, want context.Canceled", err)
	}
}
