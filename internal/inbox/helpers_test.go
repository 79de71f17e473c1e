package inbox_test

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
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
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

// tokenAuth accepts "Authorization: Bearer tok-<userID>".
type tokenAuth struct{}

func (tokenAuth) UserID(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", errs.E(errs.Unauthorized, "missing_token", "Send the access token as \"Authorization: Bearer <token>\"")
	}
	userID, ok := strings.CutPrefix(h, "Bearer tok-")
	if !ok || userID == "" {
		return "", errs.E(errs.Unauthorized, "invalid_token", "The token is invalid")
	}
	return userID, nil
}

func token(userID string) string { return "tok-" + userID }

// env is an inbox service behind a real HTTP server, over a fresh store.
type env struct {
	db     *db.DB
	svc    *inbox.Service
	clock  *clock
	server *httptest.Server
	users  atomic.Int64
}

// options change what newEnv builds; the zero value is the default.
type options struct {
	broker    realtime.Broker // default realtime.NewMemory()
	heartbeat time.Duration   // default inbox.DefaultHeartbeat
	http2     bool            // serve over TLS with HTTP/2
}

func newEnv(t testing.TB, databaseURL string, opt options) *env {
	t.Helper()
	d := dbtest.Open(t, databaseURL)
	keys, err := secrets.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	if opt.broker == nil {
		opt.broker = realtime.NewMemory()
	}
	e := &env{db: d, clock: newClock()}
	e.svc = inbox.NewService(d, keys, opt.broker, slog.New(slog.DiscardHandler), e.clock.Now)
	if opt.heartbeat > 0 {
		e.svc.HeartbeatInterval = opt.heartbeat
	}
	mux := http.NewServeMux()
	e.svc.Routes(mux, tokenAuth{})
	e.server = httptest.NewUnstartedServer(mux)
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
	return e
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

// add delivers m as connect does, in a transaction announced after commit,
// and returns its id.
func (e *env) add(t testing.TB, m inbox.NewMessage) string {
	t.Helper()
	ctx := context.Background()
	var num int64
	err := e.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		num, err = e.svc.Add(ctx, tx, m)
		return err
	})
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	e.svc.Published(ctx, m.UserID)
	return e.svc.IDOf(num)
}

// erase erases the code of message id, as connect does when its OTP dies.
func (e *env) erase(t testing.TB, id string) {
	t.Helper()
	ctx := context.Background()
	if err := e.db.InTx(ctx, func(tx *db.Tx) error { return e.svc.EraseCode(ctx, tx, e.svc.NumOf(id)) }); err != nil {
		t.Fatalf("EraseCode: %v", err)
	}
}

func note(userID, text string) inbox.NewMessage {
	return inbox.NewMessage{UserID: userID, AppID: "app_1", AppName: "Acme", Type: inbox.TypeNotification, Message: text}
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
