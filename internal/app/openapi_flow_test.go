package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestOpenAPIConformance drives every surface through its flows and its
// errors, holding each request and response to the document the server
// serves: a status the document does not list, a field it does not know or
// a request it would refuse but the server takes fails the test.
func TestOpenAPIConformance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		c := newContract(t, databaseURL)
		c.operations(t)
		u := c.accounts(t)
		key := c.connect(t, u)
		c.otps(t, u, key)
		c.inbox(t, u)
		c.stream(t, u, key)
		c.blocked(t, u)
	})
}

// account is the user the flows act as.
type account struct{ id, phone, password, access string }

const (
	flowPhone       = "+25761234567"
	flowPassword    = "your_secure_password"
	flowNewPassword = "another_secure_password"
	flowReturnURL   = "https://your-app.com/nofbox-return/100"
)

func decode(t *testing.T, r *result, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: %v", r, err)
	}
}

// otherCode is a well-formed code that is not code.
func otherCode(code string) string {
	if code[0] == '0' {
		return "1" + code[1:]
	}
	return "0" + code[1:]
}

func loginBody(pw string) string {
	return `{"phone":"` + flowPhone + `","password":"` + pw + `"}`
}

func (c *contract) operations(t *testing.T) {
	c.do(t, get("/healthz", http.StatusOK))
	c.do(t, get("/readyz", http.StatusOK))
	c.do(t, get("/.well-known/jwks.json", http.StatusOK))
	doc := c.do(t, get("/openapi.json", http.StatusOK))
	if got := doc.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("/openapi.json Content-Type = %q, want application/json", got)
	}
	c.do(t, get("/openapi.json", http.StatusNotModified).with("If-None-Match", doc.header.Get("ETag")))
}

// accounts signs up, verifies, logs in, refreshes, logs out and resets the
// password, with the errors of each step, and returns the account signed in.
func (c *contract) accounts(t *testing.T) account {
	const signup = `{"phone":"` + flowPhone + `","password":"` + flowPassword + `","first_name":"John","last_name":"Doe",` +
		`"email":"hello.world@gmail.com","username":"johndoe"`
	c.do(t, post("/v1/auth/signup", signup+`,"role":"user"}`, http.StatusCreated))
	code := c.code(t, flowPhone)
	c.do(t, post("/v1/auth/signup", signup+`}`, http.StatusConflict))
	c.do(t, post("/v1/auth/signup", `{"phone":"`+flowPhone+`","first_name":"John"}`, http.StatusBadRequest).breaking())
	c.do(t, post("/v1/auth/signup", signup+`,"role":"admin"}`, http.StatusForbidden))
	c.do(t, post("/v1/auth/signup", signup+`,"role":"boss"}`, http.StatusBadRequest).breaking())
	c.do(t, post("/v1/auth/signup", `{`, http.StatusBadRequest).breaking())
	c.do(t, post("/v1/auth/signup", signup+`}`, http.StatusBadRequest).with("Content-Type", "text/plain").breaking())
	c.do(t, post("/v1/auth/resend", `{"phone":"`+flowPhone+`"}`, http.StatusAccepted)) // refused (one SMS a minute), untold
	c.do(t, post("/v1/auth/login", loginBody(flowPassword), http.StatusForbidden))

	verify := func(code string, want int) exchange {
		return post("/v1/auth/verify", `{"phone":"`+flowPhone+`","verification_code":"`+code+`"}`, want)
	}
	c.do(t, verify(otherCode(code), http.StatusBadRequest))
	c.do(t, verify("12345", http.StatusBadRequest).breaking())
	c.do(t, verify(code, http.StatusOK))
	c.do(t, verify(code, http.StatusBadRequest)) // verified: as an unknown phone
	c.do(t, post("/v1/auth/resend", `{"phone":"`+flowPhone+`"}`, http.StatusAccepted))
	c.do(t, post("/v1/auth/resend", `{"phone":"+25761234568"}`, http.StatusAccepted))

	c.do(t, post("/v1/auth/login", loginBody("wrong_password"), http.StatusUnauthorized))
	c.do(t, post("/v1/auth/login", `{"phone":"`+flowPhone+`","password":"`+strings.Repeat("x", 1<<20)+`"}`,
		http.StatusRequestEntityTooLarge)) // login bounds no password's length: only the body's
	var s struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
		User    struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	decode(t, c.do(t, post("/v1/auth/login", loginBody(flowPassword), http.StatusOK)), &s)
	c.do(t, get("/v1/auth/me", http.StatusUnauthorized).breaking())
	c.do(t, get("/v1/auth/me", http.StatusUnauthorized).bearer("not.a.jwt"))
	c.do(t, get("/v1/auth/me", http.StatusOK).bearer(s.Access))
	c.sessions(t, s.Refresh)
	c.resetPassword(t)
	decode(t, c.do(t, post("/v1/auth/login", loginBody(flowNewPassword), http.StatusOK)), &s)
	return account{id: s.User.ID, phone: flowPhone, password: flowNewPassword, access: s.Access}
}

// sessions rotates refresh, replays it, and logs out.
func (c *contract) sessions(t *testing.T, refresh string) {
	token := func(rt string) string { return `{"refresh_token":"` + rt + `"}` }
	var s struct {
		Refresh string `json:"refresh_token"`
	}
	decode(t, c.do(t, post("/v1/auth/refresh", token(refresh), http.StatusOK)), &s)
	c.do(t, post("/v1/auth/refresh", token(refresh), http.StatusOK)) // within the grace: the same successor
	c.clock.advance(time.Minute)
	c.do(t, post("/v1/auth/refresh", token(refresh), http.StatusUnauthorized)) // reused: the family dies
	c.do(t, post("/v1/auth/refresh", token(s.Refresh), http.StatusUnauthorized))
	c.do(t, post("/v1/auth/refresh", token(""), http.StatusBadRequest).breaking())
	c.do(t, post("/v1/auth/logout", token("rt_unknown"), http.StatusUnauthorized))
	decode(t, c.do(t, post("/v1/auth/login", loginBody(flowPassword), http.StatusOK)), &s)
	c.do(t, post("/v1/auth/logout", token(s.Refresh), http.StatusNoContent))
	c.do(t, post("/v1/auth/logout", token(s.Refresh), http.StatusNoContent))
}

func (c *contract) resetPassword(t *testing.T) {
	c.clock.advance(2 * time.Minute) // past the phone's SMS cooldown
	c.do(t, post("/v1/auth/password/forgot", `{"phone":"`+flowPhone+`"}`, http.StatusAccepted))
	code := c.code(t, flowPhone)
	reset := func(code string, want int) exchange {
		return post("/v1/auth/password/reset",
			`{"phone":"`+flowPhone+`","code":"`+code+`","new_password":"`+flowNewPassword+`"}`, want)
	}
	c.do(t, reset(otherCode(code), http.StatusBadRequest))
	c.do(t, post("/v1/auth/password/reset", `{"phone":"`+flowPhone+`","code":"`+code+`","new_password":"short"}`,
		http.StatusBadRequest).breaking())
	c.do(t, reset(code, http.StatusOK))
	c.do(t, post("/v1/auth/login", loginBody(flowPassword), http.StatusUnauthorized))
}

// connect creates an app, links user 100 to u through the link-account
// flow, and returns the app's key.
func (c *contract) connect(t *testing.T, u account) string {
	ctx := context.Background()
	_, key, err := c.srv.Connect.CreateApp(ctx, "Your-App", []string{"https://your-app.com/nofbox-return/"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	link := `{"user_id":"100","return_url":"` + flowReturnURL + `"}`
	c.do(t, post("/api/link-account", link, http.StatusUnauthorized).breaking())
	c.do(t, post("/api/link-account", link, http.StatusUnauthorized).apiKey("lbk_wrong"))
	c.do(t, post("/api/link-account", `{"user_id":"100"}`, http.StatusBadRequest).apiKey(key).breaking())
	c.do(t, post("/api/link-account", `{"user_id":"100","return_url":"https://evil.example/"}`, http.StatusBadRequest).apiKey(key))
	c.do(t, post("/api/link-account", `{"user_id":true,"return_url":"`+flowReturnURL+`"}`, http.StatusBadRequest).apiKey(key).breaking())
	c.do(t, post("/api/link-account", `[]`, http.StatusBadRequest).apiKey(key).breaking())
	c.do(t, post("/api/link-account", link, http.StatusBadRequest).apiKey(key).with("Content-Type", "text/plain").breaking())
	c.do(t, post("/api/link-account", `{"user_id":"100","return_url":"`+strings.Repeat("x", 1<<20)+`"}`,
		http.StatusRequestEntityTooLarge).apiKey(key).breaking())

	url := c.do(t, post("/api/link-account", link, http.StatusOK).apiKey(key)).text("url")
	if _, err := c.srv.Connect.ApproveLink(ctx, path.Base(url), u.id); err != nil {
		t.Fatalf("approve %s: %v", url, err)
	}
	var linked struct {
		Linked   bool   `json:"linked"`
		Username string `json:"username"`
	}
	decode(t, c.do(t, post("/api/link-account", `{"user_id":100,"return_url":"`+flowReturnURL+`"}`, http.StatusOK).apiKey(key)), &linked)
	if !linked.Linked || linked.Username != "johndoe" {
		t.Fatalf("after approval: %+v, want linked johndoe", linked)
	}
	c.do(t, post("/api/notification", `{"user_id":"100","message":"Deposit $1.0 received successfuly"}`, http.StatusOK).apiKey(key))
	c.do(t, post("/api/notification", `{"user_id":"100"}`, http.StatusBadRequest).apiKey(key).breaking())
	c.do(t, post("/api/notification", `{"user_id":"200","message":"Hello"}`, http.StatusNotFound).apiKey(key))
	c.do(t, post("/api/otp", `{"user_id":"200","reference":"login","message":"Your code"}`, http.StatusNotFound).apiKey(key))
	c.do(t, post("/api/otp", `{"user_id":"100","reference":"login"}`, http.StatusBadRequest).apiKey(key).breaking())
	c.do(t, post("/api/otp/verify", `{"user_id":"200","reference":"login","code":"123456"}`, http.StatusNotFound).apiKey(key))
	c.do(t, post("/api/link-account", `{"user_id":"300","return_url":"`+flowReturnURL+`"}`, http.StatusOK).apiKey(key))
	c.do(t, post("/api/link-account/unlink", `{"user_id":"300"}`, http.StatusNotFound).apiKey(key))
	return key
}

// sendOTP sends an OTP to user 100 and reads its code in u's inbox.
func (c *contract) sendOTP(t *testing.T, u account, key, reference string) string {
	t.Helper()
	c.do(t, post("/api/otp", `{"user_id":"100","reference":"`+reference+`","message":"Your code"}`, http.StatusOK).apiKey(key))
	for _, m := range c.messages(t, u) {
		if m.Reference == reference && m.Code != "" {
			return m.Code
		}
	}
	t.Fatalf("no live code for %q in the inbox", reference)
	return ""
}

func verifyOTP(key, reference, code string, want int) exchange {
	return post("/api/otp/verify", `{"user_id":"100","reference":"`+reference+`","code":"`+code+`"}`, want).apiKey(key)
}

// otps verifies OTPs right, wrong, expired and killed, then sends until the
// per-user limit answers.
func (c *contract) otps(t *testing.T, u account, key string) {
	code := c.sendOTP(t, u, key, "login")
	c.do(t, verifyOTP(key, "login", otherCode(code), http.StatusBadRequest))
	c.do(t, verifyOTP(key, "login", code, http.StatusOK))
	c.do(t, verifyOTP(key, "login", code, http.StatusBadRequest)) // spent

	code = c.sendOTP(t, u, key, "expiry")
	c.clock.advance(6 * time.Minute) // past the app's 5 min
	c.do(t, verifyOTP(key, "expiry", code, http.StatusGone))

	code = c.sendOTP(t, u, key, "guess")
	for range 5 {
		c.do(t, verifyOTP(key, "guess", otherCode(code), http.StatusBadRequest))
	}
	c.do(t, verifyOTP(key, "guess", code, http.StatusTooManyRequests))

	for i := 0; ; i++ {
		r := c.do(t, post("/api/otp", `{"user_id":"100","reference":"flood","message":"Your code"}`, 0).apiKey(key))
		if r.status == http.StatusTooManyRequests {
			if r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			break
		}
		if r.status != http.StatusOK || i == 20 {
			t.Fatalf("OTP send %d = %s, want 200 until a 429", i, r)
		}
	}
}

// message is an inbox message, as far as the flows read it.
type message struct {
	ID        string  `json:"id"`
	Reference string  `json:"reference"`
	Code      string  `json:"code"`
	ReadAt    *string `json:"read_at"`
}

// messages lists u's inbox, newest first.
func (c *contract) messages(t *testing.T, u account) []message {
	t.Helper()
	var list struct {
		Data []message `json:"data"`
	}
	decode(t, c.do(t, get("/v1/inbox/messages?limit=100", http.StatusOK).bearer(u.access)), &list)
	return list.Data
}

func (c *contract) inbox(t *testing.T, u account) {
	var page struct {
		Data    []message `json:"data"`
		HasMore bool      `json:"has_more"`
	}
	decode(t, c.do(t, get("/v1/inbox/messages?limit=1", http.StatusOK).bearer(u.access)), &page)
	if len(page.Data) != 1 || !page.HasMore {
		t.Fatalf("first page: %+v, want one message and more", page)
	}
	id := page.Data[0].ID
	c.do(t, get("/v1/inbox/messages?limit=1&before="+id, http.StatusOK).bearer(u.access))
	c.do(t, get("/v1/inbox/messages", http.StatusOK).bearer(u.access))
	for _, limit := range []string{"0", "101", "ten"} {
		c.do(t, get("/v1/inbox/messages?limit="+limit, http.StatusBadRequest).bearer(u.access).breaking())
	}
	c.do(t, get("/v1/inbox/messages?before=msg_nope", http.StatusBadRequest).bearer(u.access))
	c.do(t, get("/v1/inbox/messages", http.StatusUnauthorized).breaking())
	c.do(t, get("/v1/inbox/messages", http.StatusUnauthorized).bearer("not.a.jwt"))

	var read message
	decode(t, c.do(t, post("/v1/inbox/messages/"+id+"/read", "", http.StatusOK).bearer(u.access)), &read)
	if read.ID != id || read.ReadAt == nil {
		t.Errorf("read = %+v, want %s with read_at", read, id)
	}
	c.do(t, post("/v1/inbox/messages/"+id+"/read", "", http.StatusOK).bearer(u.access))
	c.do(t, post("/v1/inbox/messages/msg_nope/read", "", http.StatusNotFound).bearer(u.access))
	c.do(t, post("/v1/inbox/messages/"+id+"/read", "", http.StatusUnauthorized).breaking())
}

// stream replays the inbox from the start, then sees an OTP arrive and its
// code die, checking each event's data against the document.
func (c *contract) stream(t *testing.T, u account, key string) {
	c.do(t, get("/v1/inbox/stream", http.StatusBadRequest).bearer(u.access).with("Last-Event-ID", "bogus"))
	c.do(t, get("/v1/inbox/stream", http.StatusUnauthorized).breaking())
	stored := c.messages(t, u)
	events := c.openStream(t, get("/v1/inbox/stream", http.StatusOK).bearer(u.access).with("Last-Event-ID", "0"))
	if ev := apptest.Next(t, events); ev.ID != "0" || ev.Retry != "3000" || ev.Name != "" {
		t.Fatalf("opening = %+v, want id 0 and retry 3000", ev)
	}
	for i := len(stored) - 1; i >= 0; i-- {
		ev := apptest.Next(t, events)
		if ev.Name != "message" || ev.ID != stored[i].ID || c.checkMessage(t, ev)["id"] != ev.ID {
			t.Fatalf("replayed %+v, want message %s", ev, stored[i].ID)
		}
	}
	c.clock.advance(time.Minute) // otps spent the OTP sends of a minute
	code := c.sendOTP(t, u, key, "live")
	ev := apptest.Next(t, events)
	if m := c.checkMessage(t, ev); ev.Name != "message" || m["code"] != code {
		t.Fatalf("after a send: %+v, want the OTP's message with its code", ev)
	}
	c.do(t, verifyOTP(key, "live", code, http.StatusOK))
	for {
		up := apptest.Next(t, events)
		m := c.checkMessage(t, up)
		if up.Name != "update" || up.ID != "" {
			t.Fatalf("after a verification: %+v, want an update without id", up)
		}
		if m["id"] == ev.ID {
			if _, ok := m["code"]; ok {
				t.Errorf("update %s still shows the code", up.Data)
			}
			break
		}
	}
}

// blocked blocks u: its token and password then get 403s.
func (c *contract) blocked(t *testing.T, u account) {
	if _, err := c.srv.Accounts.SetStatus(context.Background(), u.phone, "blocked"); err != nil {
		t.Fatal(err)
	}
	c.do(t, get("/v1/auth/me", http.StatusForbidden).bearer(u.access))
	c.do(t, get("/v1/inbox/messages", http.StatusForbidden).bearer(u.access))
	c.do(t, post("/v1/auth/login", loginBody(u.password), http.StatusForbidden))
}
