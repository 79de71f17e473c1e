package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/realtime"
)

const (
	// streamPage bounds the messages one query loads for a stream.
	streamPage = 100
	// writeTimeout bounds each write to a stream. The server's WriteTimeout
	// would cut every stream after 30 s; no deadline at all would let a
	// client that stops reading hold its handler forever.
	writeTimeout = 30 * time.Second
	// retryMillis is the reconnection delay suggested to EventSource.
	retryMillis = 3000
)

var errBadLastEventID = errs.E(errs.Invalid, "invalid_last_event_id",
	"Last-Event-ID (or last_event_id) must be the id of an event of this stream: a non-negative integer")

var heartbeat = []byte(": heartbeat\n\n")

// stream is one open event stream. Idle streams are what a server holds by
// the thousand, so it keeps nothing but these fields, the subscription and a
// ticker: no goroutine of its own, no buffer between writes.
type stream struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	userID string
	last   int64 // seq of the last message sent (or known to the client)
}

// stream serves GET /v1/inbox/stream. Each event is
// "id: <seq>\nevent: message\ndata: <message JSON>\n\n". A client resumes
// with Last-Event-ID; without it the stream starts with what comes next.
func (h handlers) stream(w http.ResponseWriter, r *http.Request) error {
	var (
		st  *stream
		sub *realtime.Subscription
		err error
	)
	offStack(func() { st, sub, err = h.subscribe(r) })
	if err != nil {
		return err
	}
	defer sub.Close()
	st.w, st.rc = w, http.NewResponseController(w)
	// Errors after the status is sent end the stream; the client resumes
	// from the last id it saw.
	if err := h.s.serve(r.Context(), st, sub); err != nil {
		h.s.streamEnded(r.Context(), st, err)
	}
	return nil
}

// subscribe authenticates r, subscribes to its user's topic and finds where
// the stream starts.
func (h handlers) subscribe(r *http.Request) (*stream, *realtime.Subscription, error) {
	userID, err := h.auth.UserID(r)
	if err != nil {
		return nil, nil, err
	}
	resume, resuming, err := parseLastEventID(r)
	if err != nil {
		return nil, nil, err
	}
	// Subscribe before reading the sequence: whatever commits after the read
	// is then announced to this subscription, so nothing falls in between.
	sub := h.s.broker.Subscribe(Topic(userID))
	last, err := h.s.lastSeq(r.Context(), userID)
	if err != nil {
		sub.Close()
		return nil, nil, err
	}
	if resuming {
		// An id from the future (another store, a restored backup) would
		// hide the next messages; the client's position is then ours.
		last = min(last, resume)
	}
	return &stream{userID: userID, last: last}, sub, nil
}

// streamEnded logs why a stream ended, unless the client left.
func (s *Service) streamEnded(ctx context.Context, st *stream, err error) {
	if ctx.Err() == nil {
		s.log.WarnContext(ctx, "inbox: stream ended", "user_id", st.userID, "err", err)
	}
}

// parseLastEventID reads the Last-Event-ID header or, for reconnections made
// by hand, the last_event_id parameter. The header wins: EventSource sends
// it on reconnection, with the URL and its now stale parameter unchanged.
func parseLastEventID(r *http.Request) (seq int64, ok bool, err error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	if v == "" {
		return 0, false, nil
	}
	// Digits only: ParseInt alone would take "+1".
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || strings.TrimLeft(v, "0123456789") != "" {
		return 0, false, errBadLastEventID
	}
	return n, true, nil
}

// serve sends what the client missed, then each new message, until the
// client leaves, a write fails or the subscription ends.
func (s *Service) serve(ctx context.Context, st *stream, sub *realtime.Subscription) error {
	if err := s.start(ctx, st); err != nil {
		return err
	}
	every := s.HeartbeatInterval
	if every <= 0 {
		every = DefaultHeartbeat
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := st.write(heartbeat); err != nil {
				return err
			}
		case _, ok := <-sub.C():
			if open, err := s.notified(ctx, st, sub, ok); !open || err != nil {
				return err
			}
		}
	}
}

// start sends the opening block and what the client missed.
func (s *Service) start(ctx context.Context, st *stream) error {
	if err := st.open(); err != nil {
		return err
	}
	var err error
	offStack(func() { err = s.catchUp(ctx, st) })
	return err
}

// offStack runs fn on a goroutine of its own and waits for it. A stream's
// goroutine lives for hours, mostly idle; the store's calls (the SQLite
// driver's especially) need deep stacks, which would stay allocated to that
// goroutine — thousands of idle streams then hold megabytes of stack they
// no longer use. A short-lived goroutine takes the depth and returns it.
func offStack(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

// notified answers an event (ok) or the end of the subscription (!ok): it
// sends the new messages and reports whether the stream goes on.
func (s *Service) notified(ctx context.Context, st *stream, sub *realtime.Subscription, ok bool) (bool, error) {
	open := ok && drain(sub)
	var err error
	offStack(func() { err = s.catchUp(ctx, st) })
	if err != nil {
		return false, err
	}
	if !open {
		// Dropped for falling behind, or the broker closed: end, so that
		// the client reconnects with its Last-Event-ID.
		s.log.DebugContext(ctx, "inbox: subscription ended", "user_id", st.userID, "dropped", sub.Dropped())
	}
	return open, nil
}

// drain takes the events already queued, which the coming catch-up answers
// too. It reports false if it found the channel closed.
func drain(sub *realtime.Subscription) bool {
	for range len(sub.C()) {
		if _, ok := <-sub.C(); !ok {
			return false
		}
	}
	return true
}

// catchUp sends every message numbered after st.last, oldest first.
func (s *Service) catchUp(ctx context.Context, st *stream) error {
	for {
		msgs, err := s.since(ctx, st.userID, st.last, streamPage)
		if err != nil || len(msgs) == 0 {
			return err
		}
		b, err := appendEvents(nil, msgs)
		if err != nil {
			return err
		}
		if err := st.write(b); err != nil {
			return err
		}
		st.last = msgs[len(msgs)-1].Seq
		if len(msgs) < streamPage {
			return nil
		}
	}
}

func appendEvents(b []byte, msgs []Message) ([]byte, error) {
	for _, m := range msgs {
		data, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("inbox: encode message: %w", err)
		}
		// JSON escapes newlines inside strings, so data is one line.
		b = append(b, "id: "...)
		b = strconv.AppendInt(b, m.Seq, 10)
		b = append(b, "\nevent: message\ndata: "...)
		b = append(b, data...)
		b = append(b, "\n\n"...)
	}
	return b, nil
}

// open sends the headers and a first block: a comment that flushes them, the
// reconnection delay, and the client's position as an id without data, which
// sets EventSource's lastEventId without firing an event, so that a client
// reconnecting before any message still resumes from here.
func (st *stream) open() error {
	h := st.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise hold events back
	st.w.WriteHeader(http.StatusOK)
	return st.write(fmt.Appendf(nil, ": connected\nretry: %d\nid: %d\n\n", retryMillis, st.last))
}

// write sends b at once. Each write gets its own deadline, which also lifts
// the server's WriteTimeout from the stream.
func (st *stream) write(b []byte) error {
	err := st.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("inbox: stream deadline: %w", err)
	}
	if _, err := st.w.Write(b); err != nil {
		return fmt.Errorf("inbox: stream write: %w", err)
	}
	if err := st.rc.Flush(); err != nil {
		return fmt.Errorf("inbox: stream flush: %w", err)
	}
	return nil
}
