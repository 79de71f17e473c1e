package smstest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/sms/smstest"
)

const (
	sid   = "AC00000000000000000000000000000001"
	token = "test-auth-token"
)

type twilioAnswer struct {
	status int
	json   map[string]any
}

func postMessage(t *testing.T, endpoint, user, pass string, form url.Values) twilioAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := twilioAnswer{status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&a.json); err != nil {
		t.Fatalf("answer with status %d is not JSON: %v", resp.StatusCode, err)
	}
	return a
}

func messagesURL(s *smstest.TwilioServer, account string) string {
	return s.URL() + "/2010-04-01/Accounts/" + account + "/Messages.json"
}

func TestTwilioCreatesMessage(t *testing.T) {
	s := smstest.NewTwilio(t, sid, token)
	for _, sender := range []url.Values{
		{"From": {"+15005550006"}},
		{"MessagingServiceSid": {"MG00000000000000000000000000000001"}},
	} {
		form := url.Values{"To": {"+15550100"}, "Body": {"code 123456"}}
		for k, v := range sender {
			form[k] = v
		}
		a := postMessage(t, messagesURL(s, sid), sid, token, form)
		msgSID, _ := a.json["sid"].(string)
		if a.status != http.StatusCreated || len(msgSID) != 34 || !strings.HasPrefix(msgSID, "SM") || a.json["status"] != "queued" {
			t.Fatalf("answer = %d %v, want 201 with an SM… sid and status queued", a.status, a.json)
		}
		m, err := s.Wait(t.Context(), "+15550100")
		if err != nil || m.ID != msgSID || m.Body != "code 123456" {
			t.Errorf("Wait = %+v, %v; want message %s with the posted body", m, err, msgSID)
		}
		if got := s.Form(msgSID); got.Encode() != form.Encode() {
			t.Errorf("Form(%s) = %v, want %v", msgSID, got, form)
		}
	}
	if got := s.Form("SMunknown"); got != nil {
		t.Errorf("Form(unknown) = %v, want nil", got)
	}
}

func TestTwilioRejectsBadRequests(t *testing.T) {
	s := smstest.NewTwilio(t, sid, token)
	good := url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "Body": {"hi"}}
	with := func(key, value string) url.Values {
		f := url.Values{}
		for k, v := range good {
			f[k] = v
		}
		if value == "" {
			f.Del(key)
		} else {
			f.Set(key, value)
		}
		return f
	}
	tests := []struct {
		name       string
		endpoint   string
		user, pass string
		form       url.Values
		wantStatus int
		wantCode   float64
	}{
		{"no auth", messagesURL(s, sid), "", "", good, 401, 20003},
		{"wrong token", messagesURL(s, sid), sid, "nope", good, 401, 20003},
		{"wrong account", messagesURL(s, sid), "AC0", token, good, 401, 20003},
		{"other account in path", messagesURL(s, "AC0"), sid, token, good, 401, 20003},
		{"no To", messagesURL(s, sid), sid, token, with("To", ""), 400, 21604},
		{"To without +", messagesURL(s, sid), sid, token, with("To", "5550100"), 400, 21211},
		{"no From", messagesURL(s, sid), sid, token, with("From", ""), 400, 21603},
		{"bad From", messagesURL(s, sid), sid, token, with("From", "MG123"), 400, 21212},
		{"bad service", messagesURL(s, sid), sid, token, with("MessagingServiceSid", "+15005550006"), 400, 21701},
		{"no Body", messagesURL(s, sid), sid, token, with("Body", ""), 400, 21602},
		{"unknown path", s.URL() + "/2010-04-01/Accounts/" + sid + "/Calls.json", sid, token, good, 404, 20404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := postMessage(t, tt.endpoint, tt.user, tt.pass, tt.form)
			if a.status != tt.wantStatus || a.json["code"] != tt.wantCode || a.json["status"] != float64(tt.wantStatus) || a.json["message"] == "" {
				t.Errorf("answer = %d %v, want %d with code %v", a.status, a.json, tt.wantStatus, tt.wantCode)
			}
		})
	}
	if got := s.Messages(); len(got) != 0 {
		t.Errorf("Messages = %+v, want none", got)
	}
}

func TestTwilioFailNext(t *testing.T) {
	s := smstest.NewTwilio(t, sid, token)
	s.FailNext(1, http.StatusTooManyRequests)
	form := url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "Body": {"hi"}}
	if a := postMessage(t, messagesURL(s, sid), sid, token, form); a.status != 429 || a.json["code"] != float64(20429) {
		t.Errorf("first answer = %d %v, want 429 with code 20429", a.status, a.json)
	}
	if a := postMessage(t, messagesURL(s, sid), sid, token, form); a.status != 201 {
		t.Errorf("second answer = %d %v, want 201", a.status, a.json)
	}
	if got := len(s.Messages()); got != 1 {
		t.Errorf("recorded %d messages, want 1", got)
	}
}
