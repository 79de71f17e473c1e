package ratelimit

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/linkbox/linkbox/internal/errs"
)

// WriteHeaders reports r as X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (Unix seconds when the bucket is full again, rounded up;
// left out when r.Reset is zero), plus Retry-After in whole seconds, rounded
// up and at least 1, when r was denied.
func WriteHeaders(w http.ResponseWriter, r Result) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(r.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(r.Remaining))
	if !r.Reset.IsZero() {
		h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(r.Reset), 10))
	}
	if !r.Allowed {
		h.Set("Retry-After", strconv.FormatInt(retrySeconds(r.RetryAfter), 10))
	}
}

// ceilUnix rounds up so a client waiting until that second finds a full bucket.
func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// retrySeconds rounds up, and never says 0, which clients read as "now".
func retrySeconds(d time.Duration) int64 {
	return max(1, int64((d+time.Second-1)/time.Second))
}

// Middleware limits each request by key(r) (empty key = not limited), taking
// one event under lim. Over the limit it writes the headers and calls deny
// (a plain 429 when deny is nil). On a limiter error it fails open, so a Redis
// outage degrades limits rather than the service, and logs with log at Error
// level. Headers are written on allowed responses too.
func Middleware(l Limiter, lim Limit, key func(*http.Request) string, deny func(http.ResponseWriter, *http.Request, Result), log *slog.Logger) func(http.Handler) http.Handler {
	if deny == nil {
		deny = tooMany
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := key(r)
			if k == "" {
				next.ServeHTTP(w, r)
				return
			}
			res, err := l.Take(r.Context(), k, lim, 1)
			if err != nil {
				// The key is left out of the log: it is often an IP or a phone number.
				log.ErrorContext(r.Context(), "rate limiter failed; request allowed",
					"err", err, "method", r.Method, "path", r.URL.Path)
				next.ServeHTTP(w, r)
				return
			}
			WriteHeaders(w, res)
			if !res.Allowed {
				deny(w, r, res)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// tooMany is the default deny: a bare 429.
func tooMany(w http.ResponseWriter, _ *http.Request, _ Result) {
	http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
}

// Take counts one event of a request for key under l, reports the verdict
// in the X-RateLimit-* headers, and returns the 429 "rate_limited" error
// when it is refused. A failing limiter lets the request through, logged:
// an outage of the limiter's store degrades the limits, not the service.
func Take(w http.ResponseWriter, r *http.Request, lim Limiter, log *slog.Logger, key string, l Limit) error {
	res, err := lim.Take(r.Context(), key, l, 1)
	if err != nil {
		log.ErrorContext(r.Context(), "rate limiter failed; request allowed", "err", err, "path", r.URL.Path)
		return nil
	}
	WriteHeaders(w, res)
	if !res.Allowed {
		e := errs.E(errs.TooMany, "rate_limited", "Rate limit exceeded")
		e.RetryAfter = max(res.RetryAfter, time.Second)
		return e
	}
	return nil
}
