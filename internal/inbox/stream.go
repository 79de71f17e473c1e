package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/realtime"
)

const (
	// streamPage bounds the messages one query loads for a stream.
	streamPage = 100
	// writeTimeout bounds each write to a stream. The server's WriteTimeout
	// would cut every stream after 30 s; no deadline at all would let a
	// client that stops reading hold its stream forever.
	writeTimeout = 30 * time.Second
	// retryMillis is the reconnection delay suggested to EventSource.
	retryMillis = 3000
	// watchedCodes bounds the shown codes a stream watches, to send an
	// update when one dies; codeWindow bounds the messages searched for
	// them when it opens.
	watchedCodes = 16
	codeWindow   = 64
)

var (
	errBadLastEventID = errs.E(errs.Invalid, "invalid_last_event_id",
		"Last-Event-ID (or last_event_id) must be the id of an event of this stream: a message id, or 0")
	errClosing = errs.E(errs.Unavailable, "shutting_down", "The server is shutting down; reconnect")
	// errClientSent ends a stream whose client sent bytes after its request.
	errClientSent = errors.New("inbox: client sent data on its event stream")
)

var heartbeat = []byte(": heartbeat\n\n")

// A stream is one open event stream. Idle streams are what a server holds by
// the ten thousand, so an idle stream runs nothing: the broker's Receiver
// starts a short-lived goroutine to send new messages, a timer sends the
// heartbeats, and the connection, once taken over from net/http, is watched
// by one goroutine with a minimal stack. net/http's per-connection buffers,
// request and handler goroutine are let go; that is most of what a bare
// net/http handler holds per connection.
type stream struct {
	s       *Service
	userID  string
	session string                      // Credential.Session
	addr    string                      // the client's address, as StreamsPerIP counts it (httpx.IPKey)
	expires time.Time                   // Credential.Expires; zero: none
	opened  time.Time                   // when the stream was admitted, for the log line of its end
	check   func(context.Context) error // Credential.Check; nil: none
	// sub is set once, by subscribe; end may read it concurrently (a
	// closing broker ends the stream from its own goroutine).
	sub atomic.Pointer[realtime.Subscription]
	// sending is idle, busy (a goroutine is sending) or again (events came
	// while it was): events that meet a busy stream only mark it again.
	sending atomic.Int32
	ended   atomic.Bool
	// codesChanged says codes may have died since the watched ones were
	// last read again; only then does a catch-up read them.
	codesChanged atomic.Bool

	// out is set once, by begin; end may read it concurrently.
	out atomic.Pointer[sink]

	mu   sync.Mutex // serializes writes; guards the fields below
	beat *time.Timer
	last int64 // number of the last message sent (or known to the client)
	// expiring says beat is set for the credential's expiry, which comes
	// before the next heartbeat: one timer serves both.
	expiring bool
	closed   bool // no more writes: the stream ended
	// codes are the numbers of messages the client may show with a live code,
	// oldest first; when one's code dies (its OTP was used, replaced or
	// killed), the stream sends the message again, as an update.
	codes []int64
}

// The states of stream.sending.
const (
	idle int32 = iota
	busy
	again
)

// stream serves GET /v1/inbox/stream. Each new message is an event
// "id: <message id>\nevent: message\ndata: <message JSON>\n\n"; a message whose
// code died is sent again as "event: update", without an id. A client
// resumes with Last-Event-ID; without it the stream starts with what comes
// next.
func (h handlers) stream(w http.ResponseWriter, r *http.Request) error {
	var (
		st  *stream
		err error
	)
	offStack(func() { st, err = h.s.subscribe(r, h.auth) })
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx would otherwise hold events back
	w.WriteHeader(http.StatusOK)
	if out, ok := hijack(w, r); ok {
		st.begin(out)
		go st.watch(out)
		return nil
	}
	// HTTP/2, HTTP/1.0 or a writer that cannot be taken over: serve the
	// stream from this handler, which waits for its end.
	out := &sink{w: w, rc: http.NewResponseController(w), done: make(chan struct{})}
	offStack(func() { st.begin(out) })
	select {
	case <-r.Context().Done():
		st.end(nil)
	case <-out.done:
	}
	// The response must not be written once the handler returns.
	st.mu.Lock()
	st.closed = true
	st.mu.Unlock()
	return nil
}

// subscribe authenticates r, admits its stream, subscribes to its user's
// topic and finds where the stream starts. The stream is busy until begin:
// events meanwhile wait for its first catch-up.
func (s *Service) subscribe(r *http.Request, auth Authenticator) (*stream, error) {
	seen := s.revocationsApplied() // before the credential is checked
	cred, err := auth.Authenticate(r)
	if err != nil {
		return nil, err
	}
	resume, resuming, err := s.parseLastEventID(r)
	if err != nil {
		return nil, err
	}
	st := &stream{s: s, userID: cred.UserID, session: cred.Session, addr: httpx.IPKey(httpx.ClientIP(r)),
		expires: cred.Expires, check: cred.Check, opened: time.Now()}
	st.sending.Store(busy)
	if err := s.admit(st, seen); err != nil {
		return nil, err
	}
	if err := st.start(r.Context(), resume, resuming); err != nil {
		st.end(nil)
		return nil, err
	}
	return st, nil
}

// start subscribes st to its user's topic and finds where the stream
// starts: after message resume when the client is resuming, else after the
// newest message.
func (st *stream) start(ctx context.Context, resume int64, resuming bool) error {
	s := st.s
	// Subscribe before reading the sequence: whatever commits after the read
	// is then announced to this subscription, so nothing falls in between.
	st.sub.Store(s.broker.Subscribe(Topic(st.userID), st.notify))
	if st.ended.Load() {
		st.sub.Load().Close() // ended meanwhile, before end could see it
	}
	last, err := s.newest(ctx, st.userID)
	if err != nil {
		return err
	}
	if resuming {
		// An id from the future (another store, a restored backup) would
		// hide the next messages; the client's position is then ours.
		last = min(last, resume)
	}
	st.last = last
	away := int64(0) // a new client was not away
	if resuming {
		away = last
	}
	if st.codes, err = s.recentCodes(ctx, st.userID, away); err != nil {
		return err
	}
	// Codes erased while a resuming client was away are among the watched
	// ones: the first catch-up reports them dead.
	st.codesChanged.Store(resuming)
	return nil
}

// position is the event id of the place in a stream just after message
// num: the message's id, or "0" before the first message.
func (s *Service) position(num int64) string {
	if num == 0 {
		return "0"
	}
	return s.ids.format(num)
}

// parseLastEventID reads the Last-Event-ID header or, for reconnections made
// by hand, the last_event_id parameter, and returns the number of the
// message it names (0 for "0"). The header wins: EventSource sends it on
// reconnection, with the URL and its now stale parameter unchanged.
func (s *Service) parseLastEventID(r *http.Request) (num int64, ok bool, err error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	switch v {
	case "":
		return 0, false, nil
	case "0":
		return 0, true, nil
	}
	if num, ok = s.ids.parse(v); !ok {
		return 0, false, errBadLastEventID
	}
	return num, true, nil
}

// begin sends the opening block and what the client missed, then arms the
// heartbeat and lets events in.
func (st *stream) begin(out *sink) {
	st.out.Store(out)
	if st.ended.Load() {
		out.close() // ended before it began: end found no sink to close
		return
	}
	st.mu.Lock()
	err := st.write(fmt.Appendf(nil, ": connected\nretry: %d\nid: %s\n\n", retryMillis, st.s.position(st.last)))
	if err == nil {
		st.beat = time.AfterFunc(st.untilBeat(), st.heartbeat)
	}
	st.mu.Unlock()
	if err != nil {
		st.end(err)
		return
	}
	st.send()
}

// notify is the stream's realtime.Receiver. It runs under the broker's lock,
// so it only starts a sender or, if one is busy, tells it to look again.
func (st *stream) notify(e realtime.Event, ok bool) {
	if !ok {
		go st.end(nil) // the broker closed: the client reconnects elsewhere
		return
	}
	if e.IsResync() || bytes.Equal(e.Data, eventCodes) {
		st.codesChanged.Store(true)
	}
	for {
		switch st.sending.Load() {
		case idle:
			if st.sending.CompareAndSwap(idle, busy) {
				go st.send()
				return
			}
		case busy:
			if st.sending.CompareAndSwap(busy, again) {
				return
			}
		default: // again: the sender will look once more anyway
			return
		}
	}
}

// send sends the new messages, and the updates of those whose code died,
// until no event came meanwhile. Its caller has set the stream busy.
func (st *stream) send() {
	for {
		if err := st.catchUp(); err != nil {
			st.end(err)
			return
		}
		if st.sending.CompareAndSwap(busy, idle) {
			return
		}
		st.sending.Store(busy) // it was again: look once more
	}
}

// catchUp sends every message numbered after st.last, oldest first, then
// the updates of watched codes that died.
func (st *stream) catchUp() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	for !st.closed {
		msgs, err := st.s.since(st.s.base, st.userID, st.last, streamPage)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			return st.codesDied()
		}
		if err := st.recheck(); err != nil {
			return err
		}
		b, err := appendEvents(nil, "message", msgs)
		if err != nil {
			return err
		}
		if err := st.write(b); err != nil {
			return err
		}
		st.last = msgs[len(msgs)-1].num
		for _, m := range msgs {
			if m.Code != "" {
				st.watchCode(m.num)
			}
		}
		if len(msgs) < streamPage {
			return st.codesDied()
		}
	}
	return nil
}

// codesDied sends an update event, the message without its code, for each
// watched code that died, and stops watching it; st.mu is held.
func (st *stream) codesDied() error {
	if !st.codesChanged.Swap(false) || len(st.codes) == 0 {
		return nil
	}
	dead, err := st.s.deadCodes(st.s.base, st.userID, st.codes)
	if err != nil || len(dead) == 0 {
		return err
	}
	st.codes = slices.DeleteFunc(st.codes, func(num int64) bool {
		return slices.ContainsFunc(dead, func(m Message) bool { return m.num == num })
	})
	b, err := appendEvents(nil, "update", dead)
	if err != nil {
		return err
	}
	return st.write(b)
}

// watchCode adds message num to the watched codes, forgetting the oldest
// beyond watchedCodes; st.mu is held, or the stream is not yet shared.
func (st *stream) watchCode(num int64) {
	if slices.Contains(st.codes, num) {
		return
	}
	if len(st.codes) == watchedCodes {
		st.codes = slices.Delete(st.codes, 0, 1)
	}
	st.codes = append(st.codes, num)
}

// recheck runs the credential's Check, if any, before messages go out: a
// page session can end without a revocation reaching the stream (it
// expires, or is deleted by hand). st.mu is held.
func (st *stream) recheck() error {
	if st.check == nil {
		return nil
	}
	if err := st.check(st.s.base); err != nil {
		return fmt.Errorf("inbox: stream credential: %w", err)
	}
	return nil
}

// untilBeat returns how long the timer waits: until the next heartbeat, or
// until the credential expires if that comes first; st.mu is held.
func (st *stream) untilBeat() time.Duration {
	d := st.s.heartbeatInterval()
	left := st.expires.Sub(st.s.now())
	st.expiring = !st.expires.IsZero() && left <= d
	if st.expiring {
		return max(left, 0)
	}
	return d
}

// heartbeat sends a comment, so that proxies keep an idle connection open,
// and re-arms itself; or it ends the stream if its credential expired.
func (st *stream) heartbeat() {
	st.mu.Lock()
	if st.expiring {
		st.mu.Unlock()
		st.end(errExpired)
		return
	}
	err := st.write(heartbeat)
	if err == nil && !st.closed {
		st.beat.Reset(st.untilBeat())
	}
	st.mu.Unlock()
	if err != nil {
		st.end(err)
	}
}

// write sends b unless the stream ended; st.mu is held.
func (st *stream) write(b []byte) error {
	if st.closed {
		return nil
	}
	return st.out.Load().write(b)
}

// watch waits for the client to leave. A client sends nothing on an event
// stream, so any byte read, or an error, ends it.
func (st *stream) watch(o *sink) {
	err := errClientSent
	if !o.pipelined {
		var b [1]byte
		if _, rerr := o.c.Read(b[:]); rerr != nil {
			err = nil // the client left: nothing to report
		}
	}
	st.end(err)
}

// end ends the stream, once: it unsubscribes, closes the sink (which
// interrupts a write in progress) and stops further writes. It logs how long
// the stream lasted and why it ended: err, or, when nil, its client left.
func (st *stream) end(err error) {
	if !st.ended.CompareAndSwap(false, true) {
		return
	}
	if sub := st.sub.Load(); sub != nil {
		sub.Close()
	}
	st.s.untrack(st)
	if out := st.out.Load(); out != nil {
		out.close()
	}
	st.mu.Lock()
	st.closed = true
	if st.beat != nil {
		st.beat.Stop()
	}
	st.mu.Unlock()
	reason := "client left"
	if err != nil {
		reason = err.Error()
	}
	st.s.log.Info("event stream ended", "user_id", st.userID, "duration", time.Since(st.opened), "reason", reason)
}

// appendEvents appends an event of the given type per message. A "message"
// carries the message's id as its event id, which a client resumes from; an
// "update" (a message shown before, changed) carries none, so that it does
// not move the client's position.
func appendEvents(b []byte, event string, msgs []Message) ([]byte, error) {
	for _, m := range msgs {
		data, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("inbox: encode message: %w", err)
		}
		if event == "message" {
			b = append(b, "id: "...)
			b = append(b, m.ID...)
			b = append(b, '\n')
		}
		// JSON escapes newlines inside strings, so data is one line.
		b = append(b, "event: "...)
		b = append(b, event...)
		b = append(b, "\ndata: "...)
		b = append(b, data...)
		b = append(b, "\n\n"...)
	}
	return b, nil
}

func (s *Service) heartbeatInterval() time.Duration {
	if s.HeartbeatInterval <= 0 {
		return DefaultHeartbeat
	}
	return s.HeartbeatInterval
}
