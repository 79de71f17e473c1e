package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Paths of the bare baseline.
const (
	bareJSONPath    = "/json"    // POST: decode a small JSON body, answer {"success":true}; GET: answer it
	barePublishPath = "/publish" // POST {"user_id","message"}: publish to the user's streams
	bareStreamPath  = "/stream"  // GET ?user=ID: the user's event stream
)

// bareBody is what the baseline decodes: the fields the Connect API reads.
type bareBody struct {
	UserID    string `json:"user_id"`
	ReturnURL string `json:"return_url"`
	Reference string `json:"reference"`
	Message   string `json:"message"`
	Code      string `json:"code"`
}

var successJSON = []byte(`{"success":true}` + "\n")

// hub is the baseline's in-memory SSE hub: each user's set of stream
// channels. A slow stream misses events rather than block a publisher.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan []byte]struct{}
	seq  atomic.Int64
}

func newHub() *hub { return &hub{subs: map[string]map[chan []byte]struct{}{}} }

func (h *hub) subscribe(user string) (chan []byte, func()) {
	ch := make(chan []byte, 16)
	h.mu.Lock()
	if h.subs[user] == nil {
		h.subs[user] = map[chan []byte]struct{}{}
	}
	h.subs[user][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[user], ch)
		if len(h.subs[user]) == 0 {
			delete(h.subs, user)
		}
		h.mu.Unlock()
	}
}

// publish sends message to user's streams as one SSE event and reports how
// many took it.
func (h *hub) publish(user, message string) (int, error) {
	seq := h.seq.Add(1)
	data, err := json.Marshal(struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	}{strconv.FormatInt(seq, 10), message})
	if err != nil {
		return 0, fmt.Errorf("encode event: %w", err)
	}
	ev := fmt.Appendf(nil, "id: %d\nevent: message\ndata: %s\n\n", seq, data)
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for ch := range h.subs[user] {
		select {
		case ch <- ev:
			n++
		default:
		}
	}
	return n, nil
}

// newBareHandler is the whole baseline: a JSON handler and the SSE hub.
func newBareHandler() http.Handler {
	h := newHub()
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+bareJSONPath, func(w http.ResponseWriter, r *http.Request) {
		if _, ok := decodeBare(w, r); ok {
			writeSuccess(w)
		}
	})
	mux.HandleFunc("GET "+bareJSONPath, func(w http.ResponseWriter, r *http.Request) { writeSuccess(w) })
	mux.HandleFunc("POST "+barePublishPath, func(w http.ResponseWriter, r *http.Request) {
		b, ok := decodeBare(w, r)
		if !ok {
			return
		}
		if _, err := h.publish(b.UserID, b.Message); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeSuccess(w)
	})
	mux.HandleFunc("GET "+bareStreamPath, h.stream)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeSuccess(w) })
	return mux
}

func decodeBare(w http.ResponseWriter, r *http.Request) (bareBody, bool) {
	var b bareBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&b); err != nil {
		http.Error(w, `{"message":"Invalid request body"}`, http.StatusBadRequest)
		return b, false
	}
	return b, true
}

func writeSuccess(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(successJSON)
}

func (h *hub) stream(w http.ResponseWriter, r *http.Request) {
	ch, unsubscribe := h.subscribe(r.URL.Query().Get("user"))
	defer unsubscribe()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte(": connected\n\n")); err != nil || rc.Flush() != nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case ev := <-ch:
			if _, err := w.Write(ev); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// serveBare runs the baseline on --listen until ctx ends.
func serveBare(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet(serveBareCmd, flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("bare: listen: %w", err)
	}
	hs := &http.Server{Handler: newBareHandler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Streams never end on their own: close rather than wait for them.
	if err := hs.Close(); err != nil {
		return fmt.Errorf("bare: close: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
