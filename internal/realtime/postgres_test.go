package realtime

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testDatabaseURL returns LINKBOX_TEST_DATABASE_URL or skips the test.
func testDatabaseURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("LINKBOX_TEST_DATABASE_URL")
	if url == "" {
		t.Skip("LINKBOX_TEST_DATABASE_URL is not set")
	}
	return url
}

// testChannel returns a channel name no other test listens on.
func testChannel() string {
	return "linkbox_test_" + strings.ToLower(rand.Text())
}

// newPostgres starts a broker on channel and closes it when the test ends.
// Its connections carry application_name app (unless empty), which lets a
// test find its backends. It fails, never skips, when the database is
// configured but unreachable.
func newPostgres(t testing.TB, channel, app string, opts ...Option) *Postgres {
	t.Helper()
	dbURL := testDatabaseURL(t)
	if app != "" {
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatalf("parse LINKBOX_TEST_DATABASE_URL: %v", err)
		}
		q := u.Query()
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
		dbURL = u.String()
	}
	p, err := NewPostgres(context.Background(), dbURL, nil, append(opts, WithChannel(channel))...)
	if err != nil {
		t.Fatalf("NewPostgres: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// adminConn is a plain connection for inspecting and killing backends.
func adminConn(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), testDatabaseURL(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { closeConn(conn) })
	return conn
}

// listenerPID finds the listener of the broker whose application_name is
// app: its last statement was LISTEN or a health-check ping, while the
// notifier's is pg_notify or nothing yet.
func listenerPID(t testing.TB, admin *pgx.Conn, app, channel string) uint32 {
	t.Helper()
	var pid uint32
	err := admin.QueryRow(context.Background(),
		"SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query IN ($2, '-- ping')",
		app, "LISTEN "+pgx.Identifier{channel}.Sanitize()).Scan(&pid)
	if err != nil {
		t.Fatalf("find listener backend: %v", err)
	}
	return pid
}

func terminate(t testing.TB, admin *pgx.Conn, pid uint32) {
	t.Helper()
	var ok bool
	if err := admin.QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v; want true, nil", pid, ok, err)
	}
}

// eventually polls cond until it holds, failing after waitTimeout. Only for
// conditions that nothing announces, such as server-side state or the exit
// of goroutines.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not within %v", what, waitTimeout)
		}
	}
}

func wantEvent(t testing.TB, k *sink, topic, data string) {
	t.Helper()
	if e := recv(t, k); e.Topic != topic || string(e.Data) != data {
		t.Fatalf("got %q %q, want %q %q", e.Topic, e.Data, topic, data)
	}
}

func TestPostgresAcrossInstances(t *testing.T) {
	channel := testChannel()
	a, b := newPostgres(t, channel, ""), newPostgres(t, channel, "")
	_, onB := subscribe(t, b, "acct_1")
	_, onA := subscribe(t, a, "acct_1")
	_, other := subscribe(t, b, "acct_2")
	publish(t, a, "acct_2", "first")
	publish(t, a, "acct_1", `{"id":"msg_1"}`)
	wantEvent(t, onB, "acct_1", `{"id":"msg_1"}`)
	wantEvent(t, onA, "acct_1", `{"id":"msg_1"}`)
	// Notifications keep their order, so acct_2's event came first.
	wantEvent(t, other, "acct_2", "first")

	_, stranger := subscribe(t, newPostgres(t, testChannel(), ""), "acct_1")
	publish(t, b, "acct_1", "second")
	wantEvent(t, onA, "acct_1", "second")
	wantNoCall(t, stranger, "broker on another channel")
}

// TestPostgresPublishesConcurrently: publishes made at once, which share
// the notifier's statements, each reach the subscribers of every broker.
func TestPostgresPublishesConcurrently(t *testing.T) {
	a := newPostgres(t, testChannel(), "")
	b := newPostgres(t, a.channel, "")
	const n = 200
	got := make(chan string, n)
	sub := b.Subscribe("acct_1", func(e Event, ok bool) {
		if ok {
			got <- string(e.Data)
		}
	})
	t.Cleanup(sub.Close)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := a.Publish(context.Background(), Event{Topic: "acct_1", Data: []byte(strconv.Itoa(i))}); err != nil {
				t.Errorf("publish %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for len(seen) < n {
		select {
		case d := <-got:
			seen[d] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d events arrived", len(seen), n)
		}
	}
}

func TestPostgresPublishRejects(t *testing.T) {
	p := newPostgres(t, testChannel(), "")
	for _, tc := range []struct {
		name  string
		event Event
		want  error
	}{
		{"oversize", Event{Topic: "t", Data: make([]byte, MaxPayload-1)}, ErrPayloadTooLarge},
		{"oversize topic", Event{Topic: strings.Repeat("t", MaxPayload)}, ErrPayloadTooLarge},
		{"newline in topic", Event{Topic: "a\nb", Data: []byte("x")}, ErrInvalidEvent},
		{"invalid UTF-8 data", Event{Topic: "t", Data: []byte{0xff}}, ErrInvalidEvent},
		{"invalid UTF-8 topic", Event{Topic: "\xff", Data: []byte("x")}, ErrInvalidEvent},
		{"NUL in data", Event{Topic: "t", Data: []byte("a\x00b")}, ErrInvalidEvent},
		{"NUL in topic", Event{Topic: "a\x00b", Data: []byte("x")}, ErrInvalidEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := p.Publish(context.Background(), tc.event); !errors.Is(err, tc.want) {
				t.Errorf("Publish = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPostgresLargestPayloadArrives(t *testing.T) {
	p := newPostgres(t, testChannel(), "")
	_, k := subscribe(t, p, "t")
	data := strings.Repeat("é", (MaxPayload-2)/2) // topic, newline and data fill MaxPayload
	publish(t, p, "t", data)
	wantEvent(t, k, "t", data)
}

func TestNewPostgresBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, url, channel string
	}{
		{"empty channel", "postgres://127.0.0.1:1/x", ""},
		{"channel too long", "postgres://127.0.0.1:1/x", strings.Repeat("c", maxChannelLen+1)},
		{"bad URL", "postgres://%zz", DefaultChannel},
		{"unreachable", "postgres://postgres@127.0.0.1:1/x?connect_timeout=5", DefaultChannel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPostgres(context.Background(), tc.url, nil, WithChannel(tc.channel))
			if err == nil {
				p.Close()
				t.Fatal("NewPostgres succeeded, want an error")
			}
		})
	}
}

func TestPostgresListenerReconnects(t *testing.T) {
	channel := testChannel()
	a, b := newPostgres(t, channel, ""), newPostgres(t, channel, channel)
	_, k := subscribe(t, b, "acct_1")
	publish(t, a, "acct_1", "before")
	wantEvent(t, k, "acct_1", "before")

	admin := adminConn(t)
	terminate(t, admin, listenerPID(t, admin, channel, channel))
	if e := recv(t, k); e.Topic != "acct_1" || !e.IsResync() {
		t.Fatalf("after the listener died got %q %q, want a resync for acct_1", e.Topic, e.Data)
	}
	publish(t, a, "acct_1", "after")
	wantEvent(t, k, "acct_1", "after")
}

func TestPostgresNotifierReconnects(t *testing.T) {
	p := newPostgres(t, testChannel(), "")
	_, k := subscribe(t, p, "t")
	publish(t, p, "t", "before")
	wantEvent(t, k, "t", "before")

	p.turn <- struct{}{}
	pid := p.notify.PgConn().PID()
	<-p.turn
	terminate(t, adminConn(t), pid)
	publish(t, p, "t", "after")
	wantEvent(t, k, "t", "after")
}

// TestPostgresHealthCheck lets the listener time out and ping several times,
// then checks that it still delivers.
func TestPostgresHealthCheck(t *testing.T) {
	channel := testChannel()
	p := newPostgres(t, channel, channel, func(s *settings) { s.healthEvery = 20 * time.Millisecond })
	_, k := subscribe(t, p, "t")
	admin := adminConn(t)
	pid := listenerPID(t, admin, channel, channel)
	eventually(t, "listener pinged", func() bool {
		var query string
		err := admin.QueryRow(context.Background(), "SELECT query FROM pg_stat_activity WHERE pid = $1", pid).Scan(&query)
		return err == nil && query == "-- ping"
	})
	publish(t, p, "t", "x")
	wantEvent(t, k, "t", "x")
}

func TestPostgresClose(t *testing.T) {
	url := testDatabaseURL(t)
	before := runtime.NumGoroutine()
	p, err := NewPostgres(context.Background(), url, nil, WithChannel(testChannel()))
	if err != nil {
		t.Fatalf("NewPostgres: %v", err)
	}
	_, k := subscribe(t, p, "t")
	publish(t, p, "t", "x")
	wantEvent(t, k, "t", "x")
	p.Close()
	p.Close()
	wantEnd(t, k, "t")
	wantNoCall(t, k, "after Close")
	if err := p.Publish(context.Background(), Event{Topic: "t", Data: []byte("x")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	// Connection goroutines exit asynchronously after Close returns.
	eventually(t, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= before })
}

func TestPostgresPublishGivesUpWaiting(t *testing.T) {
	p := newPostgres(t, testChannel(), "")
	p.turn <- struct{}{} // another Publish holds the notifier
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.Publish(ctx, Event{Topic: "t", Data: []byte("x")})
	<-p.turn
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Publish while the notifier is busy and ctx is done = %v, want context.Canceled", err)
	}
}
