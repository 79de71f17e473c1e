package smstest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/sms"
)

// TwilioServer fakes the part of Twilio's REST API that sms.Twilio uses:
// POST /2010-04-01/Accounts/{sid}/Messages.json with HTTP basic auth and a
// form (To, Body, and From or MessagingServiceSid). It answers like Twilio:
// 201 with the message resource, or Twilio's error JSON — 401 code 20003 for
// bad credentials, 400 code 21211 for a To number not starting with "+", and
// so on. Each accepted message is recorded with its Twilio sid as ID.
type TwilioServer struct {
	*inbox
	srv        *httptest.Server
	accountSID string
	authToken  string

	mu    sync.Mutex
	forms map[string]url.Values // by message sid
}

// NewTwilio starts a TwilioServer accepting the given credentials; it stops
// when t ends. Point sms.Twilio's BaseURL at its URL.
func NewTwilio(t testing.TB, accountSID, authToken string) *TwilioServer {
	t.Helper()
	s := &TwilioServer{inbox: newInbox(), accountSID: accountSID, authToken: authToken, forms: map[string]url.Values{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.create)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeTwilioError(w, http.StatusNotFound, 20404, fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the API's base URL, in place of https://api.twilio.com.
func (s *TwilioServer) URL() string { return s.srv.URL }

// Form returns the form fields posted for the message with the given sid,
// or nil if no such message was accepted.
func (s *TwilioServer) Form(sid string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.forms[sid]
	if !ok {
		return nil
	}
	clone := make(url.Values, len(f))
	for k, v := range f {
		clone[k] = slices.Clone(v)
	}
	return clone
}

func (s *TwilioServer) create(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		writeTwilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if status := s.failing(); status != 0 {
		// Twilio's codes for HTTP-level failures are 20000 + the status (20429, 20500…).
		writeTwilioError(w, status, 20000+status, http.StatusText(status))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	if err := r.ParseForm(); err != nil {
		writeTwilioError(w, http.StatusBadRequest, 20001, "Invalid form: "+err.Error())
		return
	}
	form := r.PostForm
	if status, code, msg := checkMessageForm(form); code != 0 {
		writeTwilioError(w, status, code, msg)
		return
	}
	sid := newSID("SM")
	s.record(sid, form)
	writeJSON(w, http.StatusCreated, s.resource(sid, form))
}

func (s *TwilioServer) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	return ok &&
		subtle.ConstantTimeCompare([]byte(user), []byte(s.accountSID)) == 1 &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.authToken)) == 1 &&
		r.PathValue("sid") == s.accountSID
}

// checkMessageForm validates a Messages.json form the way Twilio does,
// returning code 0 when it is acceptable.
func checkMessageForm(f url.Values) (status, code int, msg string) {
	to, from, service := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid")
	switch {
	case to == "":
		return http.StatusBadRequest, 21604, "A 'To' phone number is required."
	case !strings.HasPrefix(to, "+"):
		return http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)
	case from == "" && service == "":
		return http.StatusBadRequest, 21603, "A 'From' phone number is required."
	case from != "" && !strings.HasPrefix(from, "+"):
		return http.StatusBadRequest, 21212, fmt.Sprintf("The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", from)
	case service != "" && !strings.HasPrefix(service, "MG"):
		return http.StatusBadRequest, 21701, fmt.Sprintf("The Messaging Service Sid %s is invalid.", service)
	case f.Get("Body") == "":
		return http.StatusBadRequest, 21602, "Message body is required."
	}
	return 0, 0, ""
}

func (s *TwilioServer) record(sid string, form url.Values) {
	s.mu.Lock()
	s.forms[sid] = form
	s.mu.Unlock()
	s.add(sms.Message{ID: sid, To: form.Get("To"), Body: form.Get("Body")})
}

// resource is the message resource Twilio answers a create with.
func (s *TwilioServer) resource(sid string, form url.Values) map[string]any {
	now := time.Now().UTC().Format(time.RFC1123Z)
	return map[string]any{
		"sid":                   sid,
		"account_sid":           s.accountSID,
		"api_version":           "2010-04-01",
		"body":                  form.Get("Body"),
		"date_created":          now,
		"date_updated":          now,
		"date_sent":             nil,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  nullable(form.Get("From")),
		"messaging_service_sid": nullable(form.Get("MessagingServiceSid")),
		"num_media":             "0",
		"num_segments":          "1",
		"price":                 nil,
		"status":                "queued",
		"to":                    form.Get("To"),
		"uri":                   "/2010-04-01/Accounts/" + s.accountSID + "/Messages/" + sid + ".json",
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func writeTwilioError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{
		"code":      code,
		"message":   msg,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		"status":    status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) // the client hanging up is its own problem
}

// newSID returns a Twilio-shaped sid: prefix and 32 hex digits.
func newSID(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b) // never fails since Go 1.24
	return prefix + hex.EncodeToString(b)
}
