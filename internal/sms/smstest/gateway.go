package smstest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/sms"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// Gateway is an SMS gateway receiving the sms.Webhook provider's deliveries:
// it verifies each POST's Standard Webhooks signature with its own secret,
// answering 401 to a bad one, and records the message of each good one
// (every delivery, duplicates included, so that tests can count them).
type Gateway struct {
	*inbox
	srv    *httptest.Server
	secret string
	signer *webhooks.Signer
}

// NewGateway starts a Gateway with a fresh secret; it stops when t ends.
func NewGateway(t testing.TB) *Gateway {
	t.Helper()
	secret, err := webhooks.NewSecret()
	if err != nil {
		t.Fatalf("smstest: %v", err)
	}
	signer, err := webhooks.NewSigner(secret)
	if err != nil {
		t.Fatalf("smstest: %v", err)
	}
	g := &Gateway{inbox: newInbox(), secret: secret, signer: signer}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /", g.receive)
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

// URL returns the address to post deliveries to.
func (g *Gateway) URL() string { return g.srv.URL }

// Secret returns the "whsec_…" secret deliveries must be signed with.
func (g *Gateway) Secret() string { return g.secret }

func (g *Gateway) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err := g.signer.Verify(r.Header, body, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if status := g.failing(); status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	var p struct {
		ID   string `json:"id"`
		To   string `json:"to"`
		Body string `json:"body"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.To == "" {
		http.Error(w, `want a JSON object {"id","to","body"}`, http.StatusBadRequest)
		return
	}
	if p.ID != r.Header.Get(webhooks.HeaderID) {
		http.Error(w, "id differs from the webhook-id header", http.StatusBadRequest)
		return
	}
	g.add(sms.Message{ID: p.ID, To: p.To, Body: p.Body})
	w.WriteHeader(http.StatusNoContent)
}
