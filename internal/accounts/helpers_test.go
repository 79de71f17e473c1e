package accounts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/outbox"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/secrets"
	"github.com/linkbox/linkbox/internal/sms"
	"github.com/linkbox/linkbox/internal/sms/smstest"
	"github.com/linkbox/linkbox/internal/webhooks"
)

var _ accounts.SMSQueue = (*sms.Queue)(nil)

var quiet = slog.New(slog.DiscardHandler)

// cheapHash keeps tests fast; the benchmarks use the real parameters.
var cheapHash = accounts.HashParams{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

const (
	issuer   = "https://linkbox.test"
	password = "your_secure_password"
	master   = "0123456789abcdef0123456789abcdef-test-master"
)

// clock is the tests' settable clock; it starts at the seed's sign-up
// time.
type clock = clocktest.Clock

func newClock() *clock { return clocktest.New(time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)) }

// env is one Accounts API over a fresh store, served over HTTP, delivering
// its SMS through the real outbox to a real webhook gateway.
type env struct {
	t     testing.TB
	url   string
	d     *db.DB
	svc   *accounts.Service
	srv   *httptest.Server
	mux   http.Handler
	gw    *smstest.Gateway
	clock *clock
	keys  *secrets.Keyring
	outbx *sms.Queue
	cfg   accounts.Config
}

// newEnv starts an env on the store at url; opts adjust the Config, whose
// defaults are cheap hashing, EdDSA, no request limits and the env's clock.
func newEnv(t testing.TB, url string, opts ...func(*accounts.Config)) *env {
	t.Helper()
	e := &env{t: t, url: url, clock: newClock(), gw: smstest.NewGateway(t)}
	e.d = dbtest.Open(t, url)
	keys, err := secrets.New([]byte(master))
	if err != nil {
		t.Fatal(err)
	}
	e.keys = keys
	e.outbx = newOutbox(t, e.d, e.gw)
	e.cfg = accounts.Config{Issuer: issuer, Hash: cheapHash, HashConcurrency: 4,
		Limiter: ratelimit.Unlimited{}, Now: e.clock.Now}
	for _, o := range opts {
		o(&e.cfg)
	}
	e.svc = e.service()
	mux := http.NewServeMux()
	e.svc.Routes(mux)
	e.mux = httpx.WithClientIP(nil)(mux)
	e.srv = httptest.NewServer(e.mux)
	t.Cleanup(e.srv.Close)
	return e
}

// service returns another Service on the env's store, as a second instance
// or the admin command would have.
func (e *env) service() *accounts.Service {
	e.t.Helper()
	svc, err := accounts.NewService(context.Background(), e.d, e.keys, e.outbx, e.cfg, quiet)
	if err != nil {
		e.t.Fatalf("NewService: %v", err)
	}
	return svc
}

// newOutbox runs an outbox delivering SMS to g until the test ends, and
// returns its SMS queue.
func newOutbox(t testing.TB, d *db.DB, g *smstest.Gateway) *sms.Queue {
	t.Helper()
	signer, err := webhooks.NewSigner(g.Secret())
	if err != nil {
		t.Fatal(err)
	}
	o := outbox.New(d, quiet, time.Now)
	o.Poll = 20 * time.Millisecond
	q := sms.NewQueue(o, &sms.Webhook{URL: g.URL(), Signer: signer}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return q
}

// resp is an HTTP answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with a JSON body (none when body is "") and the given
// header lines ("Name: value").
func (e *env) do(method, path, body string, headers ...string) resp {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (e *env) post(path string, v any) resp {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do("POST", path, string(b))
}

// object decodes the body as a JSON object.
func (r resp) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// want fails t unless r has the status, and, for errors, the error code.
func (r resp) want(t testing.TB, status int, code string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if r.status == http.StatusNoContent {
		return nil
	}
	m := r.object(t)
	if code == "" {
		return m
	}
	e, _ := m["error"].(map[string]any)
	if got, _ := e["code"].(string); got != code {
		t.Fatalf("error code %q, want %q; body %s", got, code, r.body)
	}
	if msg, _ := e["message"].(string); msg == "" || len(e) != 2 {
		t.Fatalf("error %s: want exactly a code and a non-empty message", r.body)
	}
	return m
}

// wantKeys fails t unless m has exactly the keys.
func wantKeys(t testing.TB, what string, m map[string]any, keys ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(keys)
	if fmt.Sprint(got) != fmt.Sprint(keys) {
		t.Errorf("%s has keys %v, want %v", what, got, keys)
	}
}

// phone returns the i-th of a range of valid Burundi mobile numbers.
func phone(i int) string { return fmt.Sprintf("+257612%05d", i) }

func signupBody(phone string) map[string]any {
	return map[string]any{"phone": phone, "password": password, "first_name": "John",
		"last_name": "Doe", "email": "john.doe@example.com", "role": "user"}
}

// signup signs phone up and returns the account id.
func (e *env) signup(phone string) string {
	e.t.Helper()
	m := e.post("/v1/auth/signup", signupBody(phone)).want(e.t, http.StatusCreated, "")
	return m["id"].(string)
}

// code waits for the next SMS to phone and returns its code.
func (e *env) code(phone string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := e.gw.Wait(ctx, phone)
	if err != nil {
		e.t.Fatal(err)
	}
	c := smstest.Code(m.Body)
	if c == "" {
		e.t.Fatalf("SMS %q has no code", m.Body)
	}
	return c
}

// active signs phone up and verifies it.
func (e *env) active(phone string) string {
	e.t.Helper()
	id := e.signup(phone)
	e.post("/v1/auth/verify", map[string]string{"phone": phone, "verification_code": e.code(phone)}).
		want(e.t, http.StatusOK, "")
	return id
}

// login returns the access and refresh tokens of phone.
func (e *env) login(phone string) (access, refresh string) {
	e.t.Helper()
	m := e.post("/v1/auth/login", map[string]string{"phone": phone, "password": password}).
		want(e.t, http.StatusOK, "")
	return m["access_token"].(string), m["refresh_token"].(string)
}

func (e *env) refresh(token string) resp {
	e.t.Helper()
	return e.post("/v1/auth/refresh", map[string]string{"refresh_token": token})
}

func (e *env) me(access string) resp {
	e.t.Helper()
	return e.do("GET", "/v1/auth/me", "", "Authorization: Bearer "+access)
}

// tables whose rows bad input must never change, by name; "sms" is the
// SMS queued in the outbox.
var tables = map[string]string{
	"users": "users", "verification_codes": "verification_codes", "refresh_tokens": "refresh_tokens",
	"signing_keys": "signing_keys", "sms_quota": "sms_quota", "sms": "outbox WHERE kind = 'sms'",
}

// counts returns the number of rows of each table.
func (e *env) counts() map[string]int {
	e.t.Helper()
	n := map[string]int{}
	for name, from := range tables {
		var c int
		if err := e.d.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+from).Scan(&c); err != nil {
			e.t.Fatal(err)
		}
		n[name] = c
	}
	return n
}

// bigBody is a 2 MiB JSON object, over the 1 MiB cap.
func bigBody() string {
	var b bytes.Buffer
	b.WriteString(`{"phone":"+25761234567","password":"`)
	b.WriteString(strings.Repeat("x", 2<<20))
	b.WriteString(`"}`)
	return b.String()
}
