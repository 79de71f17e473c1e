// Package ratelimit limits how often a key (an IP, an API key, an account, a
// phone number) may act, with the generic cell rate algorithm (GCRA): each
// key keeps a single "theoretical arrival time" (TAT), the instant its bucket
// would be full again, so a check is one read and at most one write.
//
// Memory keeps the TATs in process; Redis keeps them in Redis so that several
// instances share their limits; Unlimited allows everything. Middleware and
// WriteHeaders put a Limiter in front of an http.Handler and report the
// X-RateLimit-* and Retry-After headers.
//
// Keys are the caller's namespace: give each limit its own key prefix (for
// example "otp:phone:+4479...") so two limits never share one TAT.
//
// Tests: the Redis tests use LINKBOX_TEST_REDIS_URL (unset by default). When
// it is set, Redis must be reachable there or the tests fail. When it is
// unset, they try redis://127.0.0.1:6379 and skip if nothing answers. Each
// test works under its own random key prefix and deletes its keys afterwards.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrInvalid is returned for a Limit or an event count that cannot be used.
var ErrInvalid = errors.New("ratelimit: invalid limit")

// Limit allows Events events per Per, refilled evenly; Events is also the burst.
type Limit struct {
	Events int
	Per    time.Duration
}

// Result is the outcome of one Take.
//
// Remaining is how many events could be taken right after this one; Reset is
// when the bucket is full again; RetryAfter, set only when Allowed is false, is
// how long until the n asked for would be allowed. A request for more than
// Limit.Events can never be allowed, so it is denied with RetryAfter zero.
type Result struct {
	Allowed    bool
	Limit      int
	Remaining  int
	Reset      time.Time
	RetryAfter time.Duration
}

// Limiter is implemented by Memory, Redis and Unlimited.
type Limiter interface {
	// Take consumes n events (n == 0 peeks without consuming) for key under l.
	//
	// A peek's Allowed and RetryAfter answer "would one more event pass now?".
	Take(ctx context.Context, key string, l Limit, n int) (Result, error)
}

var (
	_ Limiter = (*Memory)(nil)
	_ Limiter = (*Redis)(nil)
	_ Limiter = Unlimited{}
)

// Unlimited is a Limiter that always allows (LINKBOX_RATE_LIMITS=off). Its
// Results have a zero Reset, which WriteHeaders leaves out.
type Unlimited struct{}

// Take allows every request and reports a full bucket.
func (Unlimited) Take(_ context.Context, _ string, l Limit, _ int) (Result, error) {
	return Result{Allowed: true, Limit: l.Events, Remaining: l.Events}, nil
}

// check rejects limits and counts that would make the arithmetic meaningless.
func check(l Limit, n int) error {
	if l.Events < 1 || l.Per <= 0 || n < 0 {
		return fmt.Errorf("%w: %d events per %s, n=%d", ErrInvalid, l.Events, l.Per, n)
	}
	return nil
}

// interval is the time one event takes to refill, truncated to unit (the
// store's clock resolution) and at least one unit.
func (l Limit) interval(unit time.Duration) time.Duration {
	iv := l.Per / time.Duration(l.Events)
	return max(iv-iv%unit, unit)
}

// decide is GCRA for one key. stored is the key's TAT (0 when absent) and now
// the store's clock, both in Unix nanoseconds. It returns the Result, the TAT
// to keep, and whether that TAT must be written. The Redis script makes the
// same allow decision; this function is the single place Results are built.
func decide(stored, now int64, iv time.Duration, l Limit, n int) (Result, int64, bool) {
	interval, burst := int64(iv), int64(iv)*int64(l.Events)
	tat := max(stored, now)
	res := Result{Limit: l.Events, Remaining: remaining(tat, now, interval, l.Events), Reset: time.Unix(0, tat)}
	if n > l.Events {
		return res, tat, false
	}
	next := tat + int64(max(n, 1))*interval
	if wait := next - burst - now; wait > 0 {
		res.RetryAfter = time.Duration(wait)
		return res, tat, false
	}
	res.Allowed = true
	if n == 0 {
		return res, tat, false
	}
	res.Remaining = remaining(next, now, interval, l.Events)
	res.Reset = time.Unix(0, next)
	return res, next, true
}

// remaining counts whole events that fit before tat reaches now+burst. It is
// clamped because a key may have been filled under a different Limit.
func remaining(tat, now, interval int64, events int) int {
	left := (interval*int64(events) - (tat - now)) / interval
	return int(min(max(left, 0), int64(events)))
}
