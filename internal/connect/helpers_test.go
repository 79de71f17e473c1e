package connect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	"github.com/linkbox/linkbox/internal/webhooks"
)

const publicURL = "https://linkbox.test"

// start is the test clock's first reading.
var start = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// clock is the tests' settable clock.
type clock = clocktest.Clock

func newClock() *clock { return clocktest.New(start) }

// env is a Connect service over the real inbox, behind a real HTTP server on
// 127.0.0.1, over a fresh store.
type env struct {
	t      testing.TB
	db     *db.DB
	keys   *secrets.Keyring
	inbox  *inbox.Service
	svc    *connect.Service
	clock  *clock
	server *httptest.Server
	users  atomic.Int64
	// hooks, when set (withWebhooks), is the outbox the service queues
	// webhooks and OTP expiry checks in.
	hooks *outbox.Outbox
	queue *webhooks.Queue
}

// newEnv builds an env; limiter nil means ratelimit.Unlimited{}.
func newEnv(t testing.TB, databaseURL string, limiter ratelimit.Limiter, opts ...func(*env)) *env {
	t.Helper()
	d := dbtest.Open(t, databaseURL)
	keys, err := secrets.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: d, keys: keys, clock: newClock()}
	e.inbox = inbox.NewService(d, keys, realtime.NewMemory(), slog.New(slog.DiscardHandler), e.clock.Now)
	if limiter == nil {
		limiter = ratelimit.Unlimited{}
	}
	for _, o := range opts {
		o(e)
	}
	e.svc = e.newService(limiter)
	mux := http.NewServeMux()
	e.svc.Routes(mux)
	e.server = httptest.NewServer(httpx.WithClientIP(nil)(mux))
	t.Cleanup(e.server.Close)
	return e
}

// newService returns another Service over the same store and clock: another
// instance, with a key cache of its own.
func (e *env) newService(limiter ratelimit.Limiter) *connect.Service {
	e.t.Helper()
	// 5xx are logged at Error level: make them visible in the test output.
	log := slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelError}))
	svc, err := connect.NewService(e.db, e.keys, e.inbox, limiter,
		connect.Config{PublicURL: publicURL + "/", Now: e.clock.Now, Webhooks: e.queue, Outbox: e.hooks}, log)
	if err != nil {
		e.t.Fatalf("NewService: %v", err)
	}
	return svc
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// createApp registers an app returning to the seed's example URLs.
func (e *env) createApp(name string, returnURLs ...string) (connect.App, string) {
	e.t.Helper()
	if len(returnURLs) == 0 {
		returnURLs = []string{"https://your-app.com/nofbox-return/"}
	}
	app, key, err := e.svc.CreateApp(context.Background(), name, returnURLs, 0)
	if err != nil {
		e.t.Fatalf("CreateApp: %v", err)
	}
	return app, key
}

// account is a row of the users table.
type account struct{ id, phone, email, username string }

// createUser inserts an active account; username "" leaves it NULL.
func (e *env) createUser(email, username string) account {
	e.t.Helper()
	n := e.users.Add(1)
	a := account{id: fmt.Sprintf("user_test%07d", n), phone: fmt.Sprintf("+4479%08d", 11009982+n*10000), email: email, username: username}
	var uname any
	if username != "" {
		uname = username
	}
	now := e.clock.Now().UnixMilli()
	_, err := e.db.Exec(context.Background(), `INSERT INTO users
		(id, phone, password_hash, first_name, last_name, email, username, role, status, created_at, updated_at)
		VALUES (?, ?, 'x', 'Test', 'User', ?, ?, 'user', 'active', ?, ?)`, a.id, a.phone, email, uname, now, now)
	if err != nil {
		e.t.Fatalf("insert user: %v", err)
	}
	return a
}

// reply is a decoded answer of the API.
type reply struct {
	status int
	header http.Header
	body   map[string]any
}

// post sends body (raw JSON text) to path with key in a lower-case
// "x-api-key" header, as the seed's curl examples do; key "" sends none.
func (e *env) post(key, path, body string) reply {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.server.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header["content-type"] = []string{"application/json"}
	if key != "" {
		req.Header["x-api-key"] = []string{key}
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) reply {
	e.t.Helper()
	res, err := e.server.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := reply{status: res.StatusCode, header: res.Header}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		e.t.Fatalf("%s %s: %d %q is not a JSON object: %v", req.Method, req.URL.Path, res.StatusCode, raw, err)
	}
	if got := res.Header.Get("Content-Type"); got != "application/json" {
		e.t.Errorf("%s %s: Content-Type = %q, want application/json", req.Method, req.URL.Path, got)
	}
	return r
}

// postJSON is post with v encoded.
func (e *env) postJSON(key, path string, v any) reply {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.post(key, path, string(b))
}

// wantBody fails unless r has the status and exactly the body want.
func wantBody(t testing.TB, what string, r reply, status int, want map[string]any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status = %d %v, want %d %v", what, r.status, r.body, status, want)
	}
	got, _ := json.Marshal(r.body)
	w, _ := json.Marshal(want)
	if string(got) != string(w) {
		t.Fatalf("%s: body = %s, want %s", what, got, w)
	}
}

var success = map[string]any{"success": true}

// wantError fails unless r is the error status with message.
func wantError(t testing.TB, what string, r reply, status int, message string) {
	t.Helper()
	wantBody(t, what, r, status, map[string]any{"message": message})
}

// linkURL asks link-account for (key, userID) and returns the linking URL.
func (e *env) linkURL(key, userID, returnURL string) string {
	e.t.Helper()
	r := e.postJSON(key, "/api/link-account", map[string]any{"user_id": userID, "return_url": returnURL})
	url, _ := r.body["url"].(string)
	if r.status != http.StatusOK || r.body["linked"] != false || url == "" {
		e.t.Fatalf("link-account: %d %v, want linked:false with a url", r.status, r.body)
	}
	return url
}

// tokenOf returns the token at the end of a linking URL.
func tokenOf(t testing.TB, url string) string {
	t.Helper()
	token, ok := strings.CutPrefix(url, publicURL+"/linking/")
	if !ok || token == "" || strings.Contains(token, "/") {
		t.Fatalf("linking URL %q: want %s/linking/<token>", url, publicURL)
	}
	return token
}

// link links (key's app, userID) to a through the hosted page's methods.
func (e *env) link(key, userID string, a account) {
	e.t.Helper()
	url := e.linkURL(key, userID, "https://your-app.com/nofbox-return/"+userID)
	if _, err := e.svc.ApproveLink(context.Background(), tokenOf(e.t, url), a.id); err != nil {
		e.t.Fatalf("ApproveLink: %v", err)
	}
}

// sendOTP asks for an OTP and returns the code found in a's inbox.
func (e *env) sendOTP(key, userID, reference string, a account) string {
	e.t.Helper()
	r := e.postJSON(key, "/api/otp", map[string]any{"user_id": userID, "reference": reference, "message": "Your code"})
	wantBody(e.t, "otp", r, http.StatusOK, success)
	return e.newest(a).Code
}

// newest returns a's newest inbox message.
func (e *env) newest(a account) inbox.Message {
	e.t.Helper()
	msgs := e.messages(a)
	if len(msgs) == 0 {
		e.t.Fatalf("inbox of %s is empty", a.id)
	}
	return msgs[0]
}

// messages returns a's inbox, newest first.
func (e *env) messages(a account) []inbox.Message {
	e.t.Helper()
	msgs, err := e.inbox.List(context.Background(), a.id, inbox.MaxLimit, "")
	if err != nil {
		e.t.Fatalf("inbox.List: %v", err)
	}
	return msgs
}

// verify posts a code to /api/otp/verify.
func (e *env) verify(key, userID, reference, code string) reply {
	e.t.Helper()
	return e.postJSON(key, "/api/otp/verify", map[string]any{"user_id": userID, "reference": reference, "code": code})
}

// snapshot summarises everything the Connect API may write, so that a test
// can check that a refused request wrote nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	var parts []string
	for _, q := range []string{
		`SELECT COUNT(*) FROM clients`,
		`SELECT COUNT(*) FROM client_keys`,
		`SELECT COUNT(*) FROM links`,
		`SELECT COUNT(*) FROM link_tokens`,
		`SELECT COUNT(*) FROM link_tokens WHERE used_at IS NOT NULL`,
		`SELECT COUNT(*) FROM otps`,
		`SELECT COALESCE(SUM(attempts), 0) FROM otps`,
		`SELECT COUNT(*) FROM inbox_messages`,
		`SELECT COUNT(*) FROM inbox_messages WHERE code_sealed IS NULL`,
	} {
		var n int64
		if err := e.db.QueryRow(context.Background(), q).Scan(&n); err != nil {
			e.t.Fatalf("%s: %v", q, err)
		}
		parts = append(parts, fmt.Sprintf("%s = %d", q, n))
	}
	return strings.Join(parts, "\n")
}

// count runs a COUNT query.
func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}
