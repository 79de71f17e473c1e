// Package manufacturertest is a fake device manufacturer for tests: a real
// OAuth2 server on 127.0.0.1 (authorize, token with PKCE S256 checked,
// refresh, devices, settings).
package manufacturertest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/ids"
)

// Credentials of Linkbox's client at the fake.
const (
	ClientID     = "linkbox"
	ClientSecret = "fake-secret"
)

// Device is a device the fake lists.
type Device struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Type string `json:"type"`
}

// Server is the fake manufacturer.
type Server struct {
	URL string

	mu       sync.Mutex
	deny     bool
	devices  []Device
	codes    map[string]grant     // code → what it grants
	tokens   map[string]time.Time // live access tokens → their expiry
	issued   []string             // the access tokens issued, in order
	lifetime time.Duration        // of the access tokens issued
	refresh  map[string]bool      // live refresh tokens
	failPuts int                  // settings PUTs to answer 500 first
	got      chan json.RawMessage // each body PUT to /settings
}

type grant struct{ challenge, redirect string }

// New starts the fake, closed when t ends.
func New(t testing.TB) *Server {
	s := &Server{codes: map[string]grant{}, tokens: map[string]time.Time{}, refresh: map[string]bool{}, lifetime: time.Hour, got: make(chan json.RawMessage, 16),
		devices: []Device{{ID: "hp-1", Name: "Heat pump", Type: "heat_pump"}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /devices", s.authed(s.listDevices))
	mux.HandleFunc("PUT /settings", s.authed(s.putSettings))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// SetDevices sets the devices the user has.
func (s *Server) SetDevices(d ...Device) { s.mu.Lock(); s.devices = d; s.mu.Unlock() }

// SetTokenLifetime sets the lifetime of the access tokens issued next
// (whole seconds, at least one): golang.org/x/oauth2 refreshes a token 10 s
// before it expires, so one shorter than that is refreshed at once.
func (s *Server) SetTokenLifetime(d time.Duration) { s.mu.Lock(); s.lifetime = d; s.mu.Unlock() }

// Issued are the access tokens issued, by code or refresh, in order.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// SetDeny makes the user deny (true) or allow the next authorizations.
func (s *Server) SetDeny(deny bool) { s.mu.Lock(); s.deny = deny; s.mu.Unlock() }

// FailSettings makes the next n settings PUTs answer 500.
func (s *Server) FailSettings(n int) { s.mu.Lock(); s.failPuts = n; s.mu.Unlock() }

// NextSettings waits for the next body PUT to the settings URL, with a
// live access token; false when none came within timeout.
func (s *Server) NextSettings(timeout time.Duration) (json.RawMessage, bool) {
	select {
	case b := <-s.got:
		return b, true
	case <-time.After(timeout):
		return nil, false
	}
}

// authorize stands for the manufacturer's login and consent: it answers at
// once, with a code (PKCE S256 required) or access_denied.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || q.Get("client_id") != ClientID || q.Get("response_type") != "code" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	s.mu.Lock()
	switch {
	case s.deny:
		back.Set("error", "access_denied")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		back.Set("error", "invalid_request")
	default:
		code := ids.Token("", 16)
		s.codes[code] = grant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		back.Set("code", code)
	}
	s.mu.Unlock()
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != ClientID || r.PostForm.Get("client_secret") != ClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		g, ok := s.codes[r.PostForm.Get("code")]
		delete(s.codes, r.PostForm.Get("code"))
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || g.redirect != r.PostForm.Get("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
	case "refresh_token":
		if !s.refresh[r.PostForm.Get("refresh_token")] {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		delete(s.refresh, r.PostForm.Get("refresh_token"))
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	access, refresh := ids.Token("at_", 16), ids.Token("rt_", 16)
	lifetime := max(s.lifetime.Truncate(time.Second), time.Second)
	s.tokens[access], s.refresh[refresh] = time.Now().Add(lifetime), true
	s.issued = append(s.issued, access)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": access, "token_type": "Bearer", "refresh_token": refresh,
		"expires_in": int(lifetime.Seconds())})
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code})
}

// authed refuses a request without a live (issued, unexpired) access token.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		s.mu.Lock()
		exp, ok := s.tokens[strings.TrimPrefix(auth, "Bearer ")]
		ok = ok && time.Now().Before(exp)
		s.mu.Unlock()
		if !ok {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}

func (s *Server) listDevices(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s.devices)
}

func (s *Server) putSettings(w http.ResponseWriter, r *http.Request) {
	var body json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad settings", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failPuts > 0 {
		s.failPuts--
		http.Error(w, "settings store down", http.StatusInternalServerError)
		return
	}
	select {
	case s.got <- body:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}
