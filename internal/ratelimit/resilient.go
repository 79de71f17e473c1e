package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// breakerFailures consecutive failed calls open the breaker: one
	// failure may be a dropped connection, three in a row is an outage.
	breakerFailures = 3
	// breakerOpen is how long an open breaker keeps every Take off Redis
	// before one probe may try it again.
	breakerOpen = 5 * time.Second
	// outageLogEvery spaces the lines an outage writes while it lasts.
	outageLogEvery = time.Minute
)

// The states Resilient reports.
const (
	StateUp   = "up"   // the last call to Redis succeeded: limits are shared
	StateDown = "down" // it failed: limits are this instance's own
)

// remote is the shared store Resilient protects: *Redis, or a fake in tests.
type remote interface {
	Limiter
	Ping(ctx context.Context) error
}

var _ remote = (*Redis)(nil)

// Resilient is the Limiter of a deployment with Redis. It takes from Redis
// while Redis answers and from an in-memory limiter when it does not, so a
// Redis outage leaves each instance with limits of its own instead of none,
// and never returns Redis's errors (a caller that fails open on an error
// would then allow everything).
//
// A circuit breaker keeps an outage from costing every request a timeout:
// after breakerFailures consecutive failures it opens, and for breakerOpen
// every Take goes to memory without trying Redis; then one Take probes
// Redis (the others still go to memory) and its outcome closes the breaker
// or opens it again.
//
// An outage is logged when it starts, at most once per outageLogEvery while
// it lasts, and when Redis answers again.
type Resilient struct {
	remote remote
	local  *Memory
	log    *slog.Logger
	now    func() time.Time

	localTakes atomic.Int64 // Takes answered from memory since the last outage line

	mu        sync.Mutex
	failures  int       // consecutive failed calls
	openUntil time.Time // zero while closed; when open, the end of the wait
	probing   bool      // the probe of a half-open breaker is in flight
	downSince time.Time // zero while up; when down, the first failure
	loggedAt  time.Time // the outage's last line
}

var _ Limiter = (*Resilient)(nil)

// NewResilient returns a Limiter that takes from r and falls back to mem,
// logging outages to log and timing the breaker by now (time.Now when nil).
func NewResilient(r *Redis, mem *Memory, log *slog.Logger, now func() time.Time) *Resilient {
	return newResilient(r, mem, log, now)
}

func newResilient(r remote, mem *Memory, log *slog.Logger, now func() time.Time) *Resilient {
	if now == nil {
		now = time.Now
	}
	return &Resilient{remote: r, local: mem, log: log, now: now}
}

// Take consumes n events for key under l; see Limiter. Its only errors are
// ErrInvalid's.
func (rl *Resilient) Take(ctx context.Context, key string, l Limit, n int) (Result, error) {
	if err := check(l, n); err != nil {
		return Result{}, err
	}
	if probe, ok := rl.admit(); ok {
		res, err := rl.remote.Take(ctx, key, l, n)
		if rl.record(ctx, probe, err) {
			return res, nil
		}
	}
	rl.localTakes.Add(1)
	return rl.local.Take(ctx, key, l, n)
}

// Check pings Redis, through the breaker as a Take would (an open breaker
// answers without asking), and returns the state after. Readiness checks
// call it, so that an idle instance learns of an outage too.
func (rl *Resilient) Check(ctx context.Context) string {
	if probe, ok := rl.admit(); ok {
		rl.record(ctx, probe, rl.remote.Ping(ctx))
	}
	return rl.State()
}

// State is StateUp when the last call to Redis succeeded, else StateDown.
func (rl *Resilient) State() string {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.downSince.IsZero() {
		return StateUp
	}
	return StateDown
}

// admit says whether a call may go to Redis: any while the breaker is
// closed; once it is open and its wait is over, one at a time, the probe.
func (rl *Resilient) admit() (probe, ok bool) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	switch {
	case rl.openUntil.IsZero():
		return false, true
	case rl.probing || rl.now().Before(rl.openUntil):
		return false, false
	}
	rl.probing = true
	return true, true
}

// record feeds the outcome of a call to the breaker and the outage log, and
// reports whether the call succeeded.
func (rl *Resilient) record(ctx context.Context, probe bool, err error) bool {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if probe {
		rl.probing = false
	}
	now := rl.now()
	switch {
	case err == nil:
		if !rl.downSince.IsZero() {
			rl.log.InfoContext(ctx, "redis is back: rate limits are shared again",
				"down_for", now.Sub(rl.downSince).String(), "local_takes", rl.localTakes.Swap(0))
		}
		rl.failures, rl.openUntil, rl.downSince = 0, time.Time{}, time.Time{}
		return true
	case ctx.Err() != nil:
		return false // the caller gave up: that says nothing of Redis
	}
	rl.failures++
	if rl.failures >= breakerFailures {
		rl.openUntil = now.Add(breakerOpen)
	}
	switch {
	case rl.downSince.IsZero():
		rl.downSince, rl.loggedAt = now, now
		rl.localTakes.Store(0)
		rl.log.ErrorContext(ctx, "redis unreachable: rate limits fall back to this instance's memory", "err", err)
	case now.Sub(rl.loggedAt) >= outageLogEvery:
		rl.loggedAt = now
		rl.log.ErrorContext(ctx, "redis still unreachable: rate limits are this instance's own",
			"down_for", now.Sub(rl.downSince).String(), "local_takes", rl.localTakes.Swap(0), "err", err)
	}
	return false
}
