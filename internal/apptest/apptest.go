// Package apptest runs the whole Linkbox for the tests of any package: the
// real server over a real store on a real port, its SMS going to a fake
// gateway that speaks the webhook provider's protocol, with helpers for
// what every surface's tests do (sign a user up and in, call a JSON API,
// read an event stream, drive headless Chromium).
//
// A package imports it from its external tests (package x_test), since
// apptest imports every surface through internal/app.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/sms/smstest"
)

// Stack is the whole Linkbox over one store, served on a real port.
type Stack struct {
	Server *app.Server
	URL    string            // its public URL, "http://127.0.0.1:port"
	SMS    *smstest.Gateway  // where its SMS go
	Vars   map[string]string // the configuration it was started with
}

// Start starts a stack over the store at databaseURL, with settings of the
// test's own (variable: value) over the defaults, and closes it when t
// ends. Its password hash is a cheap one unless opt says otherwise.
func Start(t testing.TB, databaseURL string, settings map[string]string, opt app.Options) *Stack {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	gw := smstest.NewGateway(t)
	vars := map[string]string{
		"LINKBOX_DATABASE_URL":       databaseURL,
		"LINKBOX_PUBLIC_URL":         "http://" + ts.Listener.Addr().String(),
		"LINKBOX_SMS_PROVIDER":       "webhook",
		"LINKBOX_SMS_WEBHOOK_URL":    gw.URL(),
		"LINKBOX_SMS_WEBHOOK_SECRET": gw.Secret(),
	}
	if settings["LINKBOX_SECRET_FILE"] == "" {
		vars["LINKBOX_SECRET"] = Secret
	}
	maps.Copy(vars, settings)
	cfg, err := config.FromEnv(func(k string) string { return vars[k] }).Parse()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if opt.Hash == nil {
		opt.Hash = &CheapHash
	}
	srv, err := app.New(context.Background(), cfg, log, opt)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start(context.Background())
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return &Stack{Server: srv, URL: ts.URL, SMS: gw, Vars: vars}
}

// Secret is the master secret of a stack whose settings name none, so that
// commands run beside it (with the same LINKBOX_SECRET) share it. Without
// one, a PostgreSQL store's secret would be generated into the working
// directory, the test package's.
var Secret = strings.Repeat("s", 32)

// CheapHash is a password hash that costs next to nothing, for tests.
var CheapHash = accounts.HashParams{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Password is the password of the users SignUp makes.
const Password = "correct-horse-battery"

// SignUp signs a user up with phone through the Accounts API, verifies
// them with the code their SMS brought, and returns their access token.
func (s *Stack) SignUp(t testing.TB, phone string) string {
	t.Helper()
	body := map[string]string{"phone": phone, "password": Password, "first_name": "John", "last_name": "Doe", "email": "john.doe@example.com"}
	if r := s.Call(t, "POST", "/v1/auth/signup", "", body); r.Status != http.StatusCreated {
		t.Fatalf("sign-up %s: %d %s", phone, r.Status, r.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := s.SMS.Wait(ctx, phone)
	if err != nil {
		t.Fatal(err)
	}
	verify := map[string]string{"phone": phone, "verification_code": smstest.Code(m.Body)}
	if r := s.Call(t, "POST", "/v1/auth/verify", "", verify); r.Status != http.StatusOK {
		t.Fatalf("verify %s: %d %s", phone, r.Status, r.Body)
	}
	return s.Login(t, phone, Password).Access
}

// Tokens are a session's token pair.
type Tokens struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
}

// Login logs a verified user in, a new session, and returns its tokens.
func (s *Stack) Login(t testing.TB, phone, password string) Tokens {
	t.Helper()
	r := s.Call(t, "POST", "/v1/auth/login", "", map[string]string{"phone": phone, "password": password})
	var tk Tokens
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &tk) != nil || tk.Access == "" {
		t.Fatalf("login %s: %d %s", phone, r.Status, r.Body)
	}
	return tk
}

// Response is an answer as a test reads it.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map, failing t when it is not a JSON object.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("not a JSON object (%d): %s", r.Status, r.Body)
	}
	return m
}

// Call sends a request to the stack: body, unless nil, as JSON (a string
// or []byte as it is), token, unless empty, as a Bearer token, and
// headers as name, value pairs.
func (s *Stack) Call(t testing.TB, method, path, token string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
