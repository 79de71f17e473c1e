package inbox

// The connection transport of event streams: the sink a stream writes to
// (a connection taken over from net/http, or the handler's writer), the
// takeover itself, and the off-stack calls that keep an idle stream's
// goroutine small. stream.go holds what a stream sends and when.

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// A sink is where a stream's bytes go: a connection taken over from
// net/http, or else the handler's ResponseWriter while the handler waits
// for done.
type sink struct {
	c         net.Conn // taken over; nil: w, rc and done are used
	pipelined bool     // the client sent more after its request
	w         http.ResponseWriter
	rc        *http.ResponseController
	done      chan struct{}
	closeOnce sync.Once // begin and end may both close
}

// hijack takes an HTTP/1.1 connection over from net/http once the status
// line and headers are sent. net/http has then begun a chunked body (no
// Content-Length, HTTP/1.1), so the stream goes on in chunks.
func hijack(w http.ResponseWriter, r *http.Request) (*sink, bool) {
	if r.ProtoMajor != 1 || r.ProtoMinor < 1 {
		return nil, false
	}
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, false
	}
	return &sink{c: c, pipelined: rw.Reader.Buffered() > 0}, true
}

var crlf = []byte("\r\n")

// write sends b at once. Each write gets its own deadline, which also lifts
// the server's WriteTimeout from the stream.
func (o *sink) write(b []byte) error {
	if o.c == nil {
		return o.writeResponse(b)
	}
	if err := o.c.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("inbox: stream deadline: %w", err)
	}
	size := strconv.AppendInt(make([]byte, 0, 8), int64(len(b)), 16)
	chunk := net.Buffers{append(size, crlf...), b, crlf}
	if _, err := chunk.WriteTo(o.c); err != nil {
		return fmt.Errorf("inbox: stream write: %w", err)
	}
	return nil
}

func (o *sink) writeResponse(b []byte) error {
	err := o.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("inbox: stream deadline: %w", err)
	}
	if _, err := o.w.Write(b); err != nil {
		return fmt.Errorf("inbox: stream write: %w", err)
	}
	if err := o.rc.Flush(); err != nil {
		return fmt.Errorf("inbox: stream flush: %w", err)
	}
	return nil
}

// close ends the response and interrupts a write in progress. A taken-over
// connection is dropped: the body ends without its last chunk, which
// clients read as a broken connection, and they reconnect, as they should.
// Otherwise the handler returns and net/http ends the body.
func (o *sink) close() {
	o.closeOnce.Do(func() {
		if o.c != nil {
			o.c.Close()
			return
		}
		close(o.done)
	})
}

// offStack runs fn on a goroutine of its own and waits for it. A stream's
// handler may live for hours, mostly idle; the store's calls (the SQLite
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
