package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/inbox"
	"github.com/linkbox/linkbox/internal/realtime"
	"github.com/linkbox/linkbox/internal/secrets"
)

// waitTimeout bounds every wait, so that a broken stream fails the test
// instead of hanging it.
const waitTimeout = 10 * time.Second

// start is the test clock's first reading: a whole second, as the API shows
// times to the second.
var start = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// clock is the tests' settable clock.
type clock = clocktest.Clock

func newClock() *clock { return clocktest.New(start) }

// tokenAuth accepts "Authorization: Bearer tok-<userID>", a credential of
// the session "fam_<userID>" without expiry, and the tokens of the
// credentials a test made (env.credential).
type tokenAuth struct {
	mu    sync.Mutex
	creds map[string]testCredential
}

// testCredential is a credential a test made; during, if set, runs while
// the credential is checked.
type testCredential struct {
	inbox.Credential
	during func()
}

func (a *tokenAuth) Authenticate(r *http.Request) (inbox.Credential, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return inbox.Credential{}, errs.E(errs.Unauthorized, "missing_token", "Send the access token as \"Authorization: Bearer <token>\"")
	}
	a.mu.Lock()
	c, ok := a.creds[strings.TrimPrefix(h, "Bearer ")]
	a.mu.Unlock()
	if ok {
		if c.during != nil {
			c.during()
		}
		return c.Credential, nil
	}
	userID, ok := strings.CutPrefix(h, "Bearer tok-")
	if !ok || userID == "" {
		return inbox.Credential{}, errs.E(errs.Unauthorized, "invalid_token", "The token is invalid")
	}
	return inbox.Credential{UserID: userID, Session: "fam_" + userID}, nil
}

func token(userID string) string { return "tok-" + userID }

// credential returns a new token standing for c; during, if not nil, runs
// each time the token is checked.
func (e *env) credential(c inbox.Credential, during func()) string {
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	tok := fmt.Sprintf("cred-%d", len(e.auth.creds)+1)
	e.auth.creds[tok] = testCredential{c, during}
	return tok
}

// env is an inbox service behind a real HTTP server, over a fresh store.
type env struct {
	url    string // the store's
	db     *db.DB
	keys   *secrets.Keyring
	svc    *inbox.Service
	clock  *clock
	auth   *tokenAuth
	server *httptest.Server
	users  atomic.Int64
}

// options change what newEnv builds; the zero value is the default.
type options struct {
	broker    realtime.Broker // default realtime.NewMemory()
	heartbeat time.Duration   // default inbox.DefaultHeartbeat
	http2     bool            // serve over TLS with HTTP/2
	// perUser and perIP are the stream caps: 0 the defaults, -1 none.
	perUser, perIP int
	noRun          bool // do not run the revocation poller
}

// trustedProxy is the address of the tests' clients, trusted as a proxy:
// a test names another client address with X-Forwarded-For.
var trustedProxy = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}

func newEnv(t testing.TB, databaseURL string, opt options) *env {
	t.Helper()
	d := dbtest.Open(t, databaseURL)
	keys := testKeys(t)
	if opt.broker == nil {
		opt.broker = realtime.NewMemory()
	}
	e := &env{url: databaseURL, db: d, keys: keys, clock: newClock(), auth: &tokenAuth{creds: map[string]testCredential{}}}
	e.svc = inbox.NewService(d, keys, opt.broker, slog.New(slog.DiscardHandler), e.clock.Now)
	if opt.heartbeat > 0 {
		e.svc.HeartbeatInterval = opt.heartbeat
	}
	e.svc.StreamsPerUser = streamCap(opt.perUser, e.svc.StreamsPerUser)
	e.svc.StreamsPerIP = streamCap(opt.perIP, e.svc.StreamsPerIP)
	mux := http.NewServeMux()
	e.svc.Routes(mux, e.auth)
	e.server = httptest.NewUnstartedServer(httpx.WithClientIP(trustedProxy)(mux))
	if opt.http2 {
		e.server.EnableHTTP2 = true
		e.server.StartTLS()
	} else {
		e.server.Start()
	}
	// Streams outlive their requests (HTTP/1.1 ones are taken over from
	// net/http): the service ends them before the server closes.
	t.Cleanup(e.server.Close)
	t.Cleanup(e.server.CloseClientConnections)
	t.Cleanup(e.svc.Close)
	if !opt.noRun {
		e.run(t)
	}
	return e
}

// testKeys is the keyring of newEnv's services.
func testKeys(t testing.TB) *secrets.Keyring {
	t.Helper()
	keys, err := secrets.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// streamCap is the cap an option asks for.
func streamCap(opt, def int) int {
	switch opt {
	case 0:
		return def
	case -1:
		return 0
	}
	return opt
}

// run runs the service's revocation poller until t ends.
func (e *env) run(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.svc.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// newUser inserts an account and returns its id.
func (e *env) newUser(t testing.TB) string {
	t.Helper()
	n := e.users.Add(1)
	id := fmt.Sprintf("user_%012d", n)
	_, err := e.db.Exec(context.Background(), `INSERT INTO users
		(id, phone, password_hash, first_name, last_name, email, role, status, created_at, updated_at)
		VALUES (?, ?, 'x', 'Ada', 'Lovelace', ?, 'user', 'active', 0, 0)`,
		id, fmt.Sprintf("+1555%07d", n), fmt.Sprintf("u%d@example.com", n))
	if err != nil {
		t.Fatalf("insert user: %v", err)
	}
	return id
}

// add delivers m as connect does, in a transaction of its own (announced
// once it commits), and returns its id.
func (e *env) add(t testing.TB, m inbox.NewMessage) string {
	t.Helper()
	ctx := context.Background()
	var num int64
	err := e.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		num, err = e.svc.Add(ctx, tx, m)
		return err
	})
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return e.svc.IDOf(num)
}

// erase erases the code of message id, as connect does when its OTP dies.
func (e *env) erase(t testing.TB, id string) {
	t.Helper()
	ctx := context.Background()
	if err := e.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error { return e.svc.EraseCode(ctx, tx, e.svc.NumOf(id)) }); err != nil {
		t.Fatalf("EraseCode: %v", err)
	}
}

// acme is the source of the tests' messages: an app.
var acme = inbox.Source{Kind: inbox.SourceApp, ID: "app_1", Name: "Acme"}

func note(userID, text string) inbox.NewMessage {
	return inbox.NewMessage{UserID: userID, Source: acme, Type: inbox.TypeNotification, Message: text}
}

// do sends a request with userID's token ("" for none) and returns the
// status and the body.
func (e *env) do(t testing.TB, method, path, userID string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.server.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if userID != "" {
		req.Header.Set("Authorization", "Bearer "+token(userID))
	}
	resp, body := send(t, e, req)
	return resp.StatusCode, body
}

// send sends req and returns the response with its body read.
func send(t testing.TB, e *env, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := e.server.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return resp, body
}

// decode unmarshals body into a generic value, so that tests see the exact
// fields on the wire.
func decode(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return v
}

// wantError checks an error answer's status and shape.
func wantError(t testing.TB, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", status, wantStatus, body)
	}
	v := decode(t, body)
	detail, ok := v["error"].(map[string]any)
	if !ok || len(v) != 1 {
		t.Fatalf("body %s, want {\"error\":{…}}", body)
	}
	if msg, _ := detail["message"].(string); detail["code"] != wantCode || msg == "" || len(detail) != 2 {
		t.Fatalf("error %v, want code %q and a message", detail, wantCode)
	}
}
