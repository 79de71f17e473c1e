package inbox_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/inbox"
	"github.com/linkbox/linkbox/internal/realtime"
)

// wantMessage checks that b is the event of message id.
func wantMessage(t testing.TB, b sseBlock, id string) {
	t.Helper()
	if b.Event != "message" || b.ID != id {
		t.Fatalf("event %q id %q, want message %s", b.Event, b.ID, id)
	}
	if got := decode(t, []byte(b.Data))["id"]; got != id {
		t.Fatalf("event %s carries message %v", id, got)
	}
}

// wantAdded adds m, checks that stream s sends it and returns its id.
func wantAdded(t testing.TB, e *env, s *sseClient, m inbox.NewMessage) string {
	t.Helper()
	id := e.add(t, m)
	wantMessage(t, s.nextMessage(t), id)
	return id
}

// wantOpening checks the block that opens a stream at position pos: the id
// of the newest message known to the client, or "0".
func wantOpening(t testing.TB, b sseBlock, pos string) {
	t.Helper()
	if !reflect.DeepEqual(b.Comments, []string{"connected"}) || b.Retry != "3000" || b.ID != pos || b.Data != "" {
		t.Fatalf("opening block %+v, want comment \"connected\", retry 3000 and id %s without data", b, pos)
	}
}

func TestStreamLive(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user, other := e.newUser(t), e.newUser(t)
		s := e.openStream(t, user, nil, "")
		for name, want := range map[string]string{
			"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no",
		} {
			if got := s.resp.Header.Get(name); got != want {
				t.Errorf("%s: %q, want %q", name, got, want)
			}
		}
		wantOpening(t, s.next(t), "0")

		e.add(t, note(other, "not for this stream"))
		id := e.add(t, otp(user, "042917", start.Add(5*time.Minute)))
		ev := s.nextMessage(t)
		wantMessage(t, ev, id)
		status, body := e.do(t, "GET", "/v1/inbox/messages", user)
		listed := decode(t, body)["data"].([]any)[0]
		if got := decode(t, []byte(ev.Data)); !reflect.DeepEqual(got, listed) {
			t.Errorf("event data %s, want the listed message (status %d) %v", ev.Data, status, listed)
		}
		wantAdded(t, e, s, note(user, "second"))
	})
}

func TestStreamResume(t *testing.T) {
	tests := []struct {
		name   string
		header string // Last-Event-ID
		query  string
	}{
		{"header", "{last}", ""},
		{"query parameter", "", "?last_event_id={last}"},
		{"header over a stale parameter", "{last}", "?last_event_id=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, url string) {
				e := newEnv(t, url, options{})
				user := e.newUser(t)
				before := e.add(t, note(user, "before any stream"))
				first := e.openStream(t, user, nil, "")
				wantOpening(t, first.next(t), before) // starts live: before is not replayed
				last := wantAdded(t, e, first, note(user, "live"))
				fill := strings.NewReplacer("{last}", last).Replace
				first.Close()

				var missed []string
				for i := range 3 {
					missed = append(missed, e.add(t, note(user, fmt.Sprint("while away ", i))))
				}
				header := http.Header{}
				if tt.header != "" {
					header.Set("Last-Event-ID", fill(tt.header))
				}
				again := e.openStream(t, user, header, fill(tt.query))
				wantOpening(t, again.next(t), last)
				for _, id := range missed {
					wantMessage(t, again.nextMessage(t), id)
				}
				// The next event is the next message: nothing repeated.
				wantAdded(t, e, again, note(user, "back live"))
			})
		})
	}
}

func TestStreamLastEventID(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user := e.newUser(t)
		one := e.add(t, note(user, "one"))
		forged := []byte(one)
		forged[len(forged)-2] ^= 1 // still base64url, but not an id made here
		for _, v := range []string{"abc", "-1", "1", "00", "+0", "msg_", "msg_0", one + "A", one[:len(one)-1], string(forged)} {
			req, err := http.NewRequest("GET", e.server.URL+"/v1/inbox/stream", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token(user))
			req.Header.Set("Last-Event-ID", v)
			resp, body := send(t, e, req)
			wantError(t, resp.StatusCode, body, http.StatusBadRequest, "invalid_last_event_id")
		}
		// An id from the future (a restored backup) is brought back to the
		// newest message, so that the next ones still arrive.
		s := e.openStream(t, user, http.Header{"Last-Event-Id": {e.svc.IDOf(1 << 40)}}, "")
		wantOpening(t, s.next(t), one)
		wantAdded(t, e, s, note(user, "two"))
	})
}

func TestStreamHeartbeat(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{heartbeat: 10 * time.Millisecond})
		s := e.openStream(t, e.newUser(t), nil, "")
		wantOpening(t, s.next(t), "0")
		for range 2 {
			if b := s.next(t); !reflect.DeepEqual(b.Comments, []string{"heartbeat"}) || b.HasID || b.Data != "" {
				t.Fatalf("block %+v, want a heartbeat comment", b)
			}
		}
	})
}

// waitStreams waits until the service holds want open streams.
func waitStreams(t testing.TB, e *env, want int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for e.svc.OpenStreams() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d open streams, want %d", e.svc.OpenStreams(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStreamEndsWhenClientLeaves(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user := e.newUser(t)
		streams := make([]*sseClient, 3)
		for i := range streams {
			streams[i] = e.openStream(t, user, nil, "")
			wantOpening(t, streams[i].next(t), "0")
		}
		waitStreams(t, e, 3)
		streams[1].Close()
		waitStreams(t, e, 2)
		// The others still get what comes next.
		id := e.add(t, note(user, "after"))
		wantMessage(t, streams[0].nextMessage(t), id)
		wantMessage(t, streams[2].nextMessage(t), id)
	})
}

func TestStreamEndsWhenBrokerCloses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		broker := realtime.NewMemory()
		e := newEnv(t, url, options{broker: broker})
		user := e.newUser(t)
		id := e.add(t, note(user, "one"))
		s := e.openStream(t, user, http.Header{"Last-Event-Id": {"0"}}, "")
		wantOpening(t, s.next(t), "0")
		wantMessage(t, s.nextMessage(t), id)
		broker.Close()
		if got := s.rest(t); len(got) != 0 {
			t.Fatalf("stream sent %+v after the broker closed, want its end", got)
		}
		waitStreams(t, e, 0)
	})
}

func TestCloseEndsStreams(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user := e.newUser(t)
		s := e.openStream(t, user, nil, "")
		wantOpening(t, s.next(t), "0")
		e.svc.Close()
		if got := s.rest(t); len(got) != 0 {
			t.Fatalf("stream sent %+v after Close, want its end", got)
		}
		status, body := e.do(t, http.MethodGet, "/v1/inbox/stream", user)
		wantError(t, status, body, http.StatusServiceUnavailable, "shutting_down")
	})
}

// TestStreamOverHTTP2 covers streams that cannot be taken over from
// net/http: the handler serves them to the end.
func TestStreamOverHTTP2(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{http2: true, heartbeat: 20 * time.Millisecond})
		user := e.newUser(t)
		s := e.openStream(t, user, nil, "")
		if s.resp.ProtoMajor != 2 {
			t.Fatalf("stream over %s, want HTTP/2", s.resp.Proto)
		}
		wantOpening(t, s.next(t), "0")
		live := wantAdded(t, e, s, note(user, "live"))
		if b := s.next(t); !reflect.DeepEqual(b.Comments, []string{"heartbeat"}) {
			t.Fatalf("block %+v, want a heartbeat", b)
		}
		s.Close()
		waitStreams(t, e, 0)
		again := e.openStream(t, user, nil, "")
		wantOpening(t, again.next(t), live)
		e.svc.Close()
		if got := again.rest(t); len(got) != 0 {
			t.Fatalf("stream sent %+v after Close, want its end", got)
		}
	})
}

// TestStreamEndsOnClientData: a client sends nothing after its request on
// an event stream; bytes, a pipelined request included, end the stream.
func TestStreamEndsOnClientData(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), options{})
	user := e.newUser(t)
	request := "GET /v1/inbox/stream HTTP/1.1\r\nHost: inbox\r\nAuthorization: Bearer " + token(user) + "\r\n\r\n"
	for name, extra := range map[string]string{"pipelined": "GET /v1/inbox/messages HTTP/1.1\r\nHost: inbox\r\n\r\n", "later": ""} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", e.server.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, request+extra); err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(waitTimeout))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			if resp.StatusCode != http.StatusOK || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
				t.Fatalf("status %d, transfer encoding %v; want 200, chunked", resp.StatusCode, resp.TransferEncoding)
			}
			if extra == "" {
				waitStreams(t, e, 1)
				io.WriteString(c, "x")
			}
			body, _ := io.ReadAll(resp.Body)
			if !strings.HasPrefix(string(body), ": connected\n") {
				t.Errorf("body %q, want the opening block", body)
			}
			waitStreams(t, e, 0)
		})
	}
}

func TestConcurrentAddsStreamInOrder(t *testing.T) {
	const writers, each = 8, 10
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		ctx := context.Background()
		user := e.newUser(t)
		s := e.openStream(t, user, nil, "")
		wantOpening(t, s.next(t), "0")
		var wg sync.WaitGroup
		errc := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					err := e.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
						_, err := e.svc.Add(ctx, tx, note(user, fmt.Sprintf("%d.%d", w, i)))
						return err
					})
					errc <- err
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatalf("concurrent Add: %v", err)
			}
		}
		// Events come in number order, each message once: the order of the
		// store's numbers, which Add took in commit order.
		var events []string
		for range writers * each {
			b := s.nextMessage(t)
			msgID, _ := decode(t, []byte(b.Data))["id"].(string)
			if b.ID != msgID || slices.Contains(events, msgID) {
				t.Fatalf("event %d: id %q message %s (seen before: %v), want a new message under its own id",
					len(events), b.ID, msgID, slices.Contains(events, msgID))
			}
			events = append(events, msgID)
		}
		nums, err := db.QueryAll(ctx, e.db, func(rows *sql.Rows) (n int64, err error) { return n, rows.Scan(&n) },
			`SELECT id FROM inbox_messages WHERE user_id = ? ORDER BY id`, user)
		if err != nil {
			t.Fatal(err)
		}
		stored := make([]string, len(nums))
		for i, n := range nums {
			stored[i] = e.svc.IDOf(n)
		}
		if !slices.Equal(events, stored) {
			t.Errorf("streamed %v, want the stored order %v", events, stored)
		}
	})
}

func TestStreamOverPostgresBroker(t *testing.T) {
	url := dbtest.Postgres(t)
	e := newEnv(t, url, options{broker: postgresBroker(t, url)})
	user := e.newUser(t)
	s := e.openStream(t, user, nil, "")
	wantOpening(t, s.next(t), "0")
	live := wantAdded(t, e, s, note(user, "live"))
	s.Close()
	missed := []string{e.add(t, note(user, "away 1")), e.add(t, note(user, "away 2"))}
	again := e.openStream(t, user, http.Header{"Last-Event-Id": {live}}, "")
	wantOpening(t, again.next(t), live)
	wantMessage(t, again.nextMessage(t), missed[0])
	wantMessage(t, again.nextMessage(t), missed[1])
	wantAdded(t, e, again, note(user, "back"))
}

// postgresBroker is a LISTEN/NOTIFY broker on the database at url, on a
// channel of its own, closed when t ends.
func postgresBroker(t testing.TB, url string) *realtime.Postgres {
	t.Helper()
	suffix := make([]byte, 6)
	rand.Read(suffix)
	broker, err := realtime.NewPostgres(context.Background(), url, nil, realtime.WithChannel("inbox_test_"+hex.EncodeToString(suffix)))
	if err != nil {
		t.Fatalf("NewPostgres: %v", err)
	}
	t.Cleanup(broker.Close)
	return broker
}

// TestStreamUpdatesDeadCodes: when an OTP shown on the client dies, the
// stream sends its message again without the code, as an update that does
// not move the client's position — for codes it sent, and for codes a page
// rendered before the stream opened.
func TestStreamUpdatesDeadCodes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user := e.newUser(t)
		expires := e.clock.Now().Add(5 * time.Minute)
		before := e.add(t, otp(user, "111111", expires))
		s := e.openStream(t, user, nil, "")
		wantOpening(t, s.next(t), before)
		sent := e.add(t, otp(user, "222222", expires))
		wantMessage(t, s.nextMessage(t), sent)
		for _, id := range []string{sent, before} {
			e.erase(t, id)
			b := s.nextMessage(t)
			m := decode(t, []byte(b.Data))
			if b.Event != "update" || b.HasID || m["id"] != id || m["code"] != nil || m["type"] != "otp" {
				t.Fatalf("block %+v, want an update of %s without its code and without an id", b, id)
			}
		}
		// A wake-up with no code dying sends no update; the next message is
		// the one after the last message, not after the updates.
		wantAdded(t, e, s, note(user, "after"))
	})
}

// TestStreamResumeReportsCodesErasedAway: a client resuming its stream is
// told, as updates, of the codes erased while it was away (among the
// newest messages); not of codes erased before the message it resumes
// from, which it was told of then, and not on a fresh stream.
func TestStreamResumeReportsCodesErasedAway(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user := e.newUser(t)
		expires := e.clock.Now().Add(5 * time.Minute)
		early := e.add(t, otp(user, "111111", expires))
		e.erase(t, early) // before the client's last message
		e.clock.Advance(time.Second)
		e.add(t, otp(user, "222222", expires)) // stays alive
		away := e.add(t, otp(user, "333333", expires))
		e.clock.Advance(time.Second)
		e.erase(t, away) // while the client is away

		s := e.openStream(t, user, http.Header{"Last-Event-Id": {away}}, "")
		wantOpening(t, s.next(t), away)
		b := s.nextMessage(t)
		if m := decode(t, []byte(b.Data)); b.Event != "update" || b.HasID || m["id"] != away || m["code"] != nil {
			t.Fatalf("block %+v, want an update of %s without its code", b, away)
		}
		// Nothing about early or kept: the next event is the next message.
		after := wantAdded(t, e, s, note(user, "after"))
		s.Close()

		fresh := e.openStream(t, user, nil, "")
		wantOpening(t, fresh.next(t), after)
		wantAdded(t, e, fresh, note(user, "fresh"))
	})
}
