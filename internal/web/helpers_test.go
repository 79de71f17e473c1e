package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/inbox"
	"github.com/linkbox/linkbox/internal/outbox"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/realtime"
	"github.com/linkbox/linkbox/internal/secrets"
	"github.com/linkbox/linkbox/internal/sms"
	"github.com/linkbox/linkbox/internal/sms/smstest"
	"github.com/linkbox/linkbox/internal/web"
	"github.com/linkbox/linkbox/internal/webhooks"
)

const (
	password  = "correct horse battery"
	returnURL = "https://your-app.com/nofbox-return/?state=a%20b"
)

var start = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// clock is the tests' settable clock.
type clock = clocktest.Clock

// env is the hosted pages over the real accounts, connect and inbox
// services, behind a real HTTP server on 127.0.0.1, over a fresh store.
type env struct {
	t       testing.TB
	db      *db.DB
	clock   *clock
	gw      *smstest.Gateway
	acc     *accounts.Service
	connect *connect.Service
	web     *web.Service
	inbox   *inbox.Service
	server  *httptest.Server
	phones  atomic.Int64
}

// newEnv starts the pages on the store at databaseURL; publicURL, when
// given, is LINKBOX_PUBLIC_URL instead of http://127.0.0.1.
func newEnv(t testing.TB, databaseURL string, publicURL ...string) *env {
	t.Helper()
	public := "http://127.0.0.1"
	if len(publicURL) > 0 {
		public = publicURL[0]
	}
	return newEnvWith(t, databaseURL, public, nil)
}

// newEnvWith is newEnv with register, when not nil, called on the page kit
// before its routes are mounted, as another surface registers its pages.
func newEnvWith(t testing.TB, databaseURL, public string, register func(*web.Kit)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, clock: clocktest.New(start), gw: smstest.NewGateway(t)}
	e.db = dbtest.Open(t, databaseURL)
	keys, err := secrets.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
	e.acc, err = accounts.NewService(ctx, e.db, keys, newOutbox(t, e.db, e.gw), accounts.Config{
		Issuer: "http://127.0.0.1", HashConcurrency: 4, Now: e.clock.Now,
		Hash: accounts.HashParams{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}}, log)
	if err != nil {
		t.Fatalf("accounts.NewService: %v", err)
	}
	ib := inbox.NewService(e.db, keys, realtime.NewMemory(), log, e.clock.Now)
	e.inbox = ib
	cfg := connect.Config{PublicURL: "http://127.0.0.1", Now: e.clock.Now}
	if e.connect, err = connect.NewService(e.db, keys, ib, ratelimit.Unlimited{}, cfg, log); err != nil {
		t.Fatalf("connect.NewService: %v", err)
	}
	if e.web, err = web.NewService(e.db, keys, e.acc, e.connect, ib, web.Config{PublicURL: public, Now: e.clock.Now}, log); err != nil {
		t.Fatalf("web.NewService: %v", err)
	}
	e.acc.AddRevoker(e.web)
	e.acc.AddRevoker(ib)
	if register != nil {
		register(e.web.Kit)
	}
	mux := http.NewServeMux()
	e.web.Routes(mux)
	ib.Routes(mux, cookieAuth{e.web})
	e.connect.Routes(mux)
	e.acc.Routes(mux)
	e.server = httptest.NewServer(httpx.WithClientIP(nil)(mux))
	t.Cleanup(e.server.Close)
	return e
}

// cookieAuth lets the inbox API and its stream take the pages' session
// cookie, as the server wires them (the app's inboxAuth, without tokens).
type cookieAuth struct{ web *web.Service }

func (a cookieAuth) Authenticate(r *http.Request) (inbox.Credential, error) {
	id, key, check, err := a.web.StreamSession(r)
	return inbox.Credential{UserID: id, Session: key, Check: check}, err
}

// newOutbox delivers SMS to g until the test ends; it returns the SMS queue.
func newOutbox(t testing.TB, d *db.DB, g *smstest.Gateway) *sms.Queue {
	t.Helper()
	signer, err := webhooks.NewSigner(g.Secret())
	if err != nil {
		t.Fatal(err)
	}
	o := outbox.New(d, slog.New(slog.DiscardHandler), time.Now)
	o.Poll = 20 * time.Millisecond
	q := sms.NewQueue(o, &sms.Webhook{URL: g.URL(), Signer: signer}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return q
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// phone returns a phone number no other account of the env has.
func (e *env) phone() string {
	return fmt.Sprintf("+1415555%04d", e.phones.Add(1))
}

// user creates an active account and returns it.
func (e *env) user() accounts.User {
	e.t.Helper()
	u, err := e.acc.CreateUser(context.Background(), accounts.NewUser{Phone: e.phone(), Password: password,
		FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"})
	if err != nil {
		e.t.Fatalf("CreateUser: %v", err)
	}
	return u
}

// app registers an app returning to returnURL's prefix and returns its key.
func (e *env) app(name string) (connect.App, string) {
	e.t.Helper()
	app, key, err := e.connect.CreateApp(context.Background(), name, []string{"https://your-app.com/nofbox-return/"}, 0)
	if err != nil {
		e.t.Fatalf("CreateApp: %v", err)
	}
	return app, key
}

// api posts v to a Connect endpoint with key and decodes the answer.
func (e *env) api(key, path string, v any) (int, map[string]any) {
	e.t.Helper()
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest(http.MethodPost, e.server.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", key)
	res, err := e.server.Client().Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	return res.StatusCode, out
}

// linkPath asks for a link of extID and returns the linking page's path.
func (e *env) linkPath(key, extID string) string {
	e.t.Helper()
	status, out := e.api(key, "/api/link-account", map[string]any{"user_id": extID, "return_url": returnURL})
	u, _ := out["url"].(string)
	if status != http.StatusOK || u == "" {
		e.t.Fatalf("link-account: %d %v, want 200 with a url", status, out)
	}
	return strings.TrimPrefix(u, "http://127.0.0.1")
}

// approve has b, signed in, approve the link of the app's extID through
// the consent page.
func (e *env) approve(b *browser, key, extID string) {
	e.t.Helper()
	path := e.linkPath(key, extID)
	want(e.t, "approve", b.submit(path, path, url.Values{"action": {"approve"}}), http.StatusSeeOther, "")
}

// linked reports whether the app's extID is linked, as the app sees it.
func (e *env) linked(key, extID string) bool {
	e.t.Helper()
	_, out := e.api(key, "/api/link-account", map[string]any{"user_id": extID, "return_url": returnURL})
	return out["linked"] == true
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	return &browser{e: e, c: c}
}

// page is a response.
type page struct {
	status int
	header http.Header
	body   string
}

func (p page) location() string { return p.header.Get("Location") }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the page's first form.
func (p page) csrf(t testing.TB) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token in page:\n%s", p.body)
	}
	return html.UnescapeString(m[1])
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (b *browser) get(path string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.server.URL+path, nil)
	return b.do(req)
}

// post submits form to path as it is, CSRF token included or not.
func (b *browser) post(path string, form url.Values) page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.e.server.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// submit gets the page at from and posts form, with the page's CSRF token,
// to path.
func (b *browser) submit(from, path string, form url.Values) page {
	b.e.t.Helper()
	p := b.get(from)
	if p.status != http.StatusOK {
		b.e.t.Fatalf("GET %s: status %d, want 200:\n%s", from, p.status, p.body)
	}
	form.Set("csrf", p.csrf(b.e.t))
	return b.post(path, form)
}

// login signs u in through the login form.
func (b *browser) login(u accounts.User) {
	b.e.t.Helper()
	p := b.submit("/login", "/login", url.Values{"phone": {u.Phone}, "password": {password}})
	want(b.e.t, "login", p, http.StatusSeeOther, "")
}

// cookie returns the value of the browser's cookie name.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.server.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// value returns the value of the page's input with the id, unescaped.
func (p page) value(id string) string {
	m := regexp.MustCompile(`<input id="` + id + `"[^>]*value="([^"]*)"`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// want fails unless p has status and, when not "", contains text.
func want(t testing.TB, what string, p page, status int, text string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status = %d, want %d; body:\n%s", what, p.status, status, p.body)
	}
	if text != "" && !strings.Contains(p.body, text) {
		t.Fatalf("%s: body does not contain %q:\n%s", what, text, p.body)
	}
}
