package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// harness is one Limiter under test with what the shared table needs to know
// about its clock.
type harness struct {
	lim Limiter
	// now reads the clock the limiter uses (for Redis, this machine's clock,
	// which is also the server's).
	now func() time.Time
	// slack is how far the clock may move between a Take and its assertion:
	// zero for an injected clock, a margin for a real one.
	slack time.Duration
}

// fakeClock is an injected clock that moves only when told; safe for
// concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

// Now is the clock handed to NewMemory.
func (c *fakeClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Advance moves the clock forward by d.
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func memoryHarness(c *fakeClock) harness { return harness{lim: NewMemory(c.Now), now: c.Now} }

// near accepts a countdown read a little after the Take: at most want, and
// less by no more than the slack.
func (h harness) near(got, want time.Duration) bool { return got <= want && got >= want-h.slack }

// about accepts got within the slack either side of want.
func (h harness) about(got, want time.Duration) bool {
	return got-want <= h.slack && want-got <= h.slack
}

// take calls Take and fails the test on an error.
func take(t testing.TB, l Limiter, key string, lim Limit, n int) Result {
	t.Helper()
	res, err := l.Take(context.Background(), key, lim, n)
	if err != nil {
		t.Fatalf("Take(%q, %+v, %d): %v", key, lim, n, err)
	}
	return res
}

// hour limits are long enough that a real clock does not refill mid-test:
// one event per 12 minutes.
var hour = Limit{Events: 5, Per: time.Hour}

const hourInterval = 12 * time.Minute

// behaviour is the table every Limiter implementation must pass. None of these
// cases needs to move the clock.
var behaviour = []struct {
	name string
	run  func(t *testing.T, h harness)
}{
	{"burst then deny", testBurstThenDeny},
	{"peek never consumes", testPeek},
	{"more than events is denied without change", testTooMany},
	{"more than remaining is denied without change", testMoreThanRemaining},
	{"keys are independent", testKeysIndependent},
	{"reset is when the bucket is full", testReset},
	{"invalid input", testInvalid},
	{"concurrent takes never exceed the limit", testConcurrent},
}

func runBehaviour(t *testing.T, newHarness func(t *testing.T) harness) {
	for _, c := range behaviour {
		t.Run(c.name, func(t *testing.T) { c.run(t, newHarness(t)) })
	}
}

func testBurstThenDeny(t *testing.T, h harness) {
	for i := range hour.Events {
		res := take(t, h.lim, "k", hour, 1)
		if !res.Allowed || res.Remaining != hour.Events-1-i || res.Limit != hour.Events || res.RetryAfter != 0 {
			t.Fatalf("take %d: got %+v, want allowed, remaining %d, limit %d", i+1, res, hour.Events-1-i, hour.Events)
		}
	}
	res := take(t, h.lim, "k", hour, 1)
	if res.Allowed || res.Remaining != 0 {
		t.Fatalf("take after burst: got %+v, want denied with 0 remaining", res)
	}
	if !h.near(res.RetryAfter, hourInterval) {
		t.Errorf("RetryAfter = %s, want %s (time until one event)", res.RetryAfter, hourInterval)
	}
}

func testPeek(t *testing.T, h harness) {
	for range 3 {
		if res := take(t, h.lim, "k", hour, 0); !res.Allowed || res.Remaining != hour.Events {
			t.Fatalf("peek on fresh key: got %+v, want allowed with %d remaining", res, hour.Events)
		}
	}
	take(t, h.lim, "k", hour, hour.Events)
	for range 3 {
		res := take(t, h.lim, "k", hour, 0)
		if res.Allowed || res.Remaining != 0 || !h.near(res.RetryAfter, hourInterval) {
			t.Fatalf("peek on empty bucket: got %+v, want denied, 0 remaining, RetryAfter %s", res, hourInterval)
		}
	}
}

func testTooMany(t *testing.T, h harness) {
	res := take(t, h.lim, "k", hour, hour.Events+1)
	if res.Allowed || res.Remaining != hour.Events || res.RetryAfter != 0 {
		t.Fatalf("take %d of %d: got %+v, want denied, %d remaining, no RetryAfter", hour.Events+1, hour.Events, res, hour.Events)
	}
	if res := take(t, h.lim, "k", hour, hour.Events); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("take whole burst after the refused one: got %+v, want allowed with 0 remaining", res)
	}
}

func testMoreThanRemaining(t *testing.T, h harness) {
	take(t, h.lim, "k", hour, 3)
	res := take(t, h.lim, "k", hour, 3)
	if res.Allowed || res.Remaining != 2 || !h.near(res.RetryAfter, hourInterval) {
		t.Fatalf("take 3 with 2 left: got %+v, want denied, 2 remaining, RetryAfter %s", res, hourInterval)
	}
	if res := take(t, h.lim, "k", hour, 2); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("take the 2 left: got %+v, want allowed with 0 remaining", res)
	}
}

func testKeysIndependent(t *testing.T, h harness) {
	take(t, h.lim, "a", hour, hour.Events)
	if res := take(t, h.lim, "a", hour, 1); res.Allowed {
		t.Fatalf("key a after its burst: got %+v, want denied", res)
	}
	if res := take(t, h.lim, "b", hour, 1); !res.Allowed || res.Remaining != hour.Events-1 {
		t.Fatalf("key b: got %+v, want allowed with %d remaining", res, hour.Events-1)
	}
}

func testReset(t *testing.T, h harness) {
	start := h.now()
	if res := take(t, h.lim, "k", hour, 0); !h.about(res.Reset.Sub(start), 0) {
		t.Errorf("fresh key: Reset %s after start, want 0", res.Reset.Sub(start))
	}
	res := take(t, h.lim, "k", hour, 2)
	if got, want := res.Reset.Sub(start), 2*hourInterval; !h.about(got, want) {
		t.Errorf("after taking 2: Reset %s after start, want %s", got, want)
	}
}

func testInvalid(t *testing.T, h harness) {
	for _, c := range []struct {
		name string
		lim  Limit
		n    int
	}{
		{"zero events", Limit{Events: 0, Per: time.Second}, 1},
		{"negative events", Limit{Events: -1, Per: time.Second}, 1},
		{"zero period", Limit{Events: 1, Per: 0}, 1},
		{"negative period", Limit{Events: 1, Per: -time.Second}, 1},
		{"negative n", hour, -1},
	} {
		if _, err := h.lim.Take(context.Background(), "k", c.lim, c.n); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got err %v, want ErrInvalid", c.name, err)
		}
	}
}

func testConcurrent(t *testing.T, h harness) {
	lim := Limit{Events: 50, Per: time.Hour}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 10 {
				res, err := h.lim.Take(context.Background(), "k", lim, 1)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != int64(lim.Events) {
		t.Errorf("allowed %d of 200 concurrent takes, want exactly %d", got, lim.Events)
	}
}

func TestUnlimitedAlwaysAllows(t *testing.T) {
	for i := range 100 {
		res := take(t, Unlimited{}, "k", Limit{Events: 1, Per: time.Hour}, 1)
		if !res.Allowed || res.Remaining != 1 || res.Limit != 1 {
			t.Fatalf("take %d: got %+v, want allowed with full bucket", i, res)
		}
	}
}

func TestIntervalRounding(t *testing.T) {
	for _, c := range []struct {
		lim  Limit
		unit time.Duration
		want time.Duration
	}{
		{Limit{Events: 5, Per: time.Second}, time.Nanosecond, 200 * time.Millisecond},
		{Limit{Events: 3, Per: time.Second}, time.Nanosecond, 333333333},
		{Limit{Events: 3, Per: time.Second}, time.Microsecond, 333333 * time.Microsecond},
		{Limit{Events: 10, Per: time.Microsecond}, time.Microsecond, time.Microsecond},
		{Limit{Events: 10, Per: 5}, time.Nanosecond, time.Nanosecond},
	} {
		if got := c.lim.interval(c.unit); got != c.want {
			t.Errorf("%+v.interval(%s) = %s, want %s", c.lim, c.unit, got, c.want)
		}
	}
}
