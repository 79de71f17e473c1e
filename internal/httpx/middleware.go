package httpx

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strings"
	"time"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	clientIPKey
)

// RequestID returns the id of the request carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// ClientIP returns the client address that ClientIPs found for the request.
func ClientIP(r *http.Request) netip.Addr {
	ip, _ := r.Context().Value(clientIPKey).(netip.Addr)
	return ip
}

// WithRequestID gives every request an id — the caller's X-Request-Id when it
// is short and printable, else a new one — echoed in the response header.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// WithClientIP finds the client's address: the peer, or — when the peer is a
// trusted proxy — the rightmost X-Forwarded-For entry not itself trusted.
func WithClientIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := peerAddr(r.RemoteAddr)
			if isTrusted(ip) {
				// A proxy may add its own header line rather than extend the
				// client's, so every line counts, in order.
				hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
				for i := len(hops) - 1; i >= 0; i-- {
					a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
					if err != nil {
						break
					}
					ip = a.Unmap()
					if !isTrusted(ip) {
						break
					}
				}
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey, ip)))
		})
	}
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// statusWriter records the status written, for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	stream bool // the answer is an event stream
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
		s.stream = s.Header().Get("Content-Type") == "text/event-stream"
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Served is what the access log tells its observers of a request once it is
// answered: the pattern of the route that took it ("" when none did), its
// status, how long it took, and whether it was an event stream (whose
// duration is its client's stay, not a latency).
type Served struct {
	Pattern  string
	Status   int
	Duration time.Duration
	Stream   bool
}

// WithAccessLog logs each request at Info level (the error adapter adds the
// cause of a 5xx at Error), and recovers panics as 500s logged with their
// stack. Each observer (metrics) is told of every request, from the same
// reading of its status and duration.
func WithAccessLog(log *slog.Logger, observers ...func(Served)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.ErrorContext(r.Context(), "panic", "panic", p, "stack", string(debug.Stack()))
					if sw.status == 0 {
						http.Error(sw, "Internal server error", http.StatusInternalServerError)
					}
				}
				d := time.Since(start)
				log.InfoContext(r.Context(), "request", "method", r.Method, "path", LogPath(r),
					"status", sw.status, "duration", d, "ip", ClientIP(r).String())
				if len(observers) > 0 {
					served := Served{Pattern: r.Pattern, Status: cmp.Or(sw.status, http.StatusOK), Duration: d, Stream: sw.stream}
					for _, o := range observers {
						o(served)
					}
				}
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// LogPath is what logs say of r's path. Paths carry tokens (the linking
// page's /linking/{token}), so it is the pattern of the route r matched,
// without the values its wildcards took; for a request that matched no
// route, only its first segment. Query strings, which may carry tokens too,
// are never logged.
func LogPath(r *http.Request) string {
	if i := strings.IndexByte(r.Pattern, '/'); i >= 0 {
		return r.Pattern[i:] // a pattern is "[METHOD ][HOST]/PATH"
	}
	first, _, more := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if more {
		return "/" + first + "/…"
	}
	return "/" + first
}

// WithSecurityHeaders sets the headers every response carries:
// X-Content-Type-Options: nosniff, so that no answer is sniffed into
// another type, and, when publicURL is https, Strict-Transport-Security,
// so that browsers never reach the instance over plain http again.
func WithSecurityHeaders(publicURL string) func(http.Handler) http.Handler {
	u, err := url.Parse(publicURL)
	hsts := err == nil && u.Scheme == "https"
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("X-Content-Type-Options", "nosniff")
			if hsts {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// LogHandler adds the request id carried by the context to every record, so
// each log line of a request can be found by it.
type LogHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h LogHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := RequestID(ctx); id != "" {
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

// WithAttrs implements slog.Handler.
func (h LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (h LogHandler) WithGroup(name string) slog.Handler {
	return LogHandler{h.Handler.WithGroup(name)}
}
