package sms_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/sms"
	"github.com/linkbox/linkbox/internal/sms/smstest"
)

func newWebhookSender(t *testing.T, g *smstest.Gateway) sms.Sender {
	t.Helper()
	s, err := sms.New(sms.Config{Provider: "webhook", WebhookURL: g.URL(), WebhookSecret: g.Secret()}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

var msg = sms.Message{ID: "sms_1", To: "+15550100", Body: "Your code is 123456"}

func TestWebhookDelivers(t *testing.T) {
	g := smstest.NewGateway(t)
	if err := newWebhookSender(t, g).Send(t.Context(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got, err := g.Wait(t.Context(), msg.To)
	if err != nil || got != msg {
		t.Errorf("gateway got %+v, %v; want %+v", got, err, msg)
	}
}

func TestWebhookZeroValueDefaults(t *testing.T) {
	g := smstest.NewGateway(t)
	w := &sms.Webhook{URL: g.URL(), Signer: mustSigner(t, g.Secret())}
	if err := w.Send(t.Context(), msg); err != nil {
		t.Fatalf("Send with nil Client and Now: %v", err)
	}
	if got := g.Messages(); len(got) != 1 {
		t.Errorf("gateway recorded %d messages, want 1", len(got))
	}
}

func TestWebhookStatusClassification(t *testing.T) {
	tests := []struct {
		status    int
		permanent bool
	}{
		{http.StatusInternalServerError, false},
		{http.StatusBadGateway, false},
		{http.StatusServiceUnavailable, false},
		{http.StatusRequestTimeout, false},
		{http.StatusTooManyRequests, false},
		{http.StatusBadRequest, true},
		{http.StatusForbidden, true},
		{http.StatusNotFound, true},
		{http.StatusConflict, true},
		{http.StatusUnprocessableEntity, true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			g := smstest.NewGateway(t)
			s := newWebhookSender(t, g)
			g.FailNext(1, tt.status)
			err := s.Send(t.Context(), msg)
			if err == nil || errors.Is(err, sms.ErrPermanent) != tt.permanent {
				t.Fatalf("Send after %d = %v, want an error with permanent=%v", tt.status, err, tt.permanent)
			}
			if err := s.Send(t.Context(), msg); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if got := g.Messages(); len(got) != 1 || got[0] != msg {
				t.Errorf("gateway recorded %+v, want only %+v", got, msg)
			}
		})
	}
}

func TestWebhookBadSignatureIsPermanent(t *testing.T) {
	g := smstest.NewGateway(t)
	other := smstest.NewGateway(t)
	wrongSecret := &sms.Webhook{URL: g.URL(), Signer: mustSigner(t, other.Secret())}
	staleClock := &sms.Webhook{URL: g.URL(), Signer: mustSigner(t, g.Secret()), Now: func() time.Time {
		return time.Now().Add(-time.Hour)
	}}
	for name, s := range map[string]*sms.Webhook{"wrong secret": wrongSecret, "stale clock": staleClock} {
		if err := s.Send(t.Context(), msg); !errors.Is(err, sms.ErrPermanent) {
			t.Errorf("%s: Send = %v, want ErrPermanent (gateway answers 401)", name, err)
		}
	}
	if got := g.Messages(); len(got) != 0 {
		t.Errorf("gateway recorded %+v, want none", got)
	}
}

func TestWebhookRejectsIncompleteMessages(t *testing.T) {
	g := smstest.NewGateway(t)
	s := newWebhookSender(t, g)
	for _, m := range []sms.Message{
		{To: "+15550100", Body: "hi"},
		{ID: "sms_1", Body: "hi"},
		{ID: "sms_1", To: "+15550100"},
	} {
		if err := s.Send(t.Context(), m); !errors.Is(err, sms.ErrPermanent) {
			t.Errorf("Send(%+v) = %v, want ErrPermanent", m, err)
		}
	}
	if got := g.Messages(); len(got) != 0 {
		t.Errorf("gateway recorded %+v, want none", got)
	}
}

func TestWebhookNetworkErrorIsRetryable(t *testing.T) {
	s := &sms.Webhook{URL: closedServerURL(t), Signer: mustSigner(t, testSecret)}
	if err := s.Send(t.Context(), msg); err == nil || errors.Is(err, sms.ErrPermanent) {
		t.Errorf("Send to a stopped server = %v, want a retryable error", err)
	}
}

func TestWebhookContextCancellation(t *testing.T) {
	g := smstest.NewGateway(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := newWebhookSender(t, g).Send(ctx, msg)
	if !errors.Is(err, context.Canceled) || errors.Is(err, sms.ErrPermanent) {
		t.Errorf("Send with a cancelled context = %v, want context.Canceled, not permanent", err)
	}
	if got := g.Messages(); len(got) != 0 {
		t.Errorf("gateway recorded %+v, want none", got)
	}

	url, arrived := hangingServer(t)
	s := &sms.Webhook{URL: url, Signer: mustSigner(t, testSecret)}
	if err := sendCancelledMidFlight(t, s, arrived); !errors.Is(err, context.Canceled) || errors.Is(err, sms.ErrPermanent) {
		t.Errorf("Send cancelled mid-flight = %v, want context.Canceled, not permanent", err)
	}
}
