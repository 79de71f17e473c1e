package sms_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/sms"
	"github.com/linkbox/linkbox/internal/sms/smstest"
)

const (
	accountSID = "AC00000000000000000000000000000001"
	authToken  = "twilio-test-token-do-not-log"
	serviceSID = "MG00000000000000000000000000000001"
)

func newTwilioSender(t *testing.T, srv *smstest.TwilioServer, from string) *sms.Twilio {
	t.Helper()
	s, err := sms.New(sms.Config{
		Provider: "twilio", TwilioBaseURL: srv.URL(),
		TwilioAccountSID: accountSID, TwilioAuthToken: authToken, TwilioFrom: from,
	}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s.(*sms.Twilio)
}

func TestTwilioSends(t *testing.T) {
	tests := []struct {
		from, field, absent string
	}{
		{"+15005550006", "From", "MessagingServiceSid"},
		{serviceSID, "MessagingServiceSid", "From"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			srv := smstest.NewTwilio(t, accountSID, authToken)
			if err := newTwilioSender(t, srv, tt.from).Send(t.Context(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got, err := srv.Wait(t.Context(), msg.To)
			if err != nil || got.To != msg.To || got.Body != msg.Body {
				t.Fatalf("Twilio got %+v, %v; want to %s body %q", got, err, msg.To, msg.Body)
			}
			form := srv.Form(got.ID)
			if form.Get(tt.field) != tt.from || form.Has(tt.absent) {
				t.Errorf("form = %v, want %s=%s and no %s", form, tt.field, tt.from, tt.absent)
			}
		})
	}
}

func TestTwilioBaseURLWithTrailingSlash(t *testing.T) {
	srv := smstest.NewTwilio(t, accountSID, authToken)
	s := &sms.Twilio{BaseURL: srv.URL() + "/", AccountSID: accountSID, AuthToken: authToken, From: "+15005550006"}
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func TestTwilioErrors(t *testing.T) {
	tests := []struct {
		name      string
		token     string
		to        string
		fail      int // FailNext status, 0 for none
		status    int
		code      int
		permanent bool
	}{
		{"bad auth token", "wrong", msg.To, 0, 401, 20003, true},
		{"invalid To", authToken, "15550100", 0, 400, 21211, true},
		{"server error", authToken, msg.To, 500, 500, 20500, false},
		{"unavailable", authToken, msg.To, 503, 503, 20503, false},
		{"rate limited", authToken, msg.To, 429, 429, 20429, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smstest.NewTwilio(t, accountSID, authToken)
			s := newTwilioSender(t, srv, "+15005550006")
			s.AuthToken = tt.token
			if tt.fail != 0 {
				srv.FailNext(1, tt.fail)
			}
			err := s.Send(t.Context(), sms.Message{ID: "sms_1", To: tt.to, Body: "hi"})
			var te *sms.TwilioError
			if !errors.As(err, &te) || te.Status != tt.status || te.Code != tt.code || te.Message == "" || !strings.Contains(te.MoreInfo, "twilio.com") {
				t.Fatalf("Send = %#v, want a TwilioError with status %d and code %d", err, tt.status, tt.code)
			}
			if errors.Is(err, sms.ErrPermanent) != tt.permanent {
				t.Errorf("Send = %v, want permanent=%v", err, tt.permanent)
			}
			if strings.Contains(err.Error(), authToken) {
				t.Errorf("error %q reveals the auth token", err)
			}
			if got := srv.Messages(); len(got) != 0 {
				t.Errorf("Twilio recorded %+v, want none", got)
			}
		})
	}
}

func TestTwilioUnexpectedAnswers(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		permanent bool
	}{
		{"proxy page 502", http.StatusBadGateway, "<html>bad gateway</html>", false},
		{"proxy page 403", http.StatusForbidden, "<html>forbidden</html>", true},
		{"201 without sid", http.StatusCreated, `{"status":"queued"}`, true},
		{"200 HTML", http.StatusOK, "<html>welcome</html>", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sms.Twilio{BaseURL: rawServer(t, tt.status, tt.body), AccountSID: accountSID, AuthToken: authToken, From: "+15005550006"}
			err := s.Send(t.Context(), msg)
			if err == nil || errors.Is(err, sms.ErrPermanent) != tt.permanent {
				t.Errorf("Send = %v, want an error with permanent=%v", err, tt.permanent)
			}
		})
	}
}

func TestTwilioRetryableFailureThenSuccess(t *testing.T) {
	srv := smstest.NewTwilio(t, accountSID, authToken)
	s := newTwilioSender(t, srv, "+15005550006")
	srv.FailNext(2, http.StatusInternalServerError)
	for range 2 {
		if err := s.Send(t.Context(), msg); err == nil || errors.Is(err, sms.ErrPermanent) {
			t.Fatalf("Send = %v, want a retryable error", err)
		}
	}
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatalf("third Send: %v", err)
	}
	if got := srv.Messages(); len(got) != 1 {
		t.Errorf("Twilio recorded %d messages, want 1", len(got))
	}
}

func TestTwilioRejectsIncompleteMessages(t *testing.T) {
	srv := smstest.NewTwilio(t, accountSID, authToken)
	s := newTwilioSender(t, srv, "+15005550006")
	for _, m := range []sms.Message{{ID: "sms_1", Body: "hi"}, {ID: "sms_1", To: "+15550100"}} {
		if err := s.Send(t.Context(), m); !errors.Is(err, sms.ErrPermanent) {
			t.Errorf("Send(%+v) = %v, want ErrPermanent", m, err)
		}
	}
	if got := srv.Messages(); len(got) != 0 {
		t.Errorf("Twilio recorded %+v, want none", got)
	}
}

func TestTwilioNetworkErrorIsRetryable(t *testing.T) {
	s := &sms.Twilio{BaseURL: closedServerURL(t), AccountSID: accountSID, AuthToken: authToken, From: "+15005550006"}
	err := s.Send(t.Context(), msg)
	if err == nil || errors.Is(err, sms.ErrPermanent) {
		t.Errorf("Send to a stopped server = %v, want a retryable error", err)
	}
	if err != nil && strings.Contains(err.Error(), authToken) {
		t.Errorf("error %q reveals the auth token", err)
	}
}

func TestTwilioContextCancellation(t *testing.T) {
	srv := smstest.NewTwilio(t, accountSID, authToken)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := newTwilioSender(t, srv, "+15005550006").Send(ctx, msg)
	if !errors.Is(err, context.Canceled) || errors.Is(err, sms.ErrPermanent) {
		t.Errorf("Send with a cancelled context = %v, want context.Canceled, not permanent", err)
	}

	url, arrived := hangingServer(t)
	s := &sms.Twilio{BaseURL: url, AccountSID: accountSID, AuthToken: authToken, From: "+15005550006"}
	if err := sendCancelledMidFlight(t, s, arrived); !errors.Is(err, context.Canceled) || errors.Is(err, sms.ErrPermanent) {
		t.Errorf("Send cancelled mid-flight = %v, want context.Canceled, not permanent", err)
	}
}
