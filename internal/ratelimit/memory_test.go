package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

func TestMemoryBehaviour(t *testing.T) {
	runBehaviour(t, func(*testing.T) harness { return memoryHarness(newFakeClock()) })
}

func TestMemoryRefillsEvenly(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(clock.Now)
	lim := Limit{Events: 5, Per: time.Second} // one event per 200ms
	take(t, m, "k", lim, 5)
	steps := []struct {
		advance   time.Duration
		n         int
		allowed   bool
		remaining int
		retry     time.Duration
	}{
		{0, 1, false, 0, 200 * time.Millisecond},
		{150 * time.Millisecond, 1, false, 0, 50 * time.Millisecond},
		{49 * time.Millisecond, 1, false, 0, time.Millisecond},
		{time.Millisecond, 1, true, 0, 0},
		{400 * time.Millisecond, 0, true, 2, 0},
		{0, 3, false, 2, 200 * time.Millisecond},
		{0, 2, true, 0, 0},
		{10 * time.Second, 0, true, 5, 0}, // a long idle refills to the burst, no further
		{0, 6, false, 5, 0},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		res := take(t, m, "k", lim, s.n)
		if res.Allowed != s.allowed || res.Remaining != s.remaining || res.RetryAfter != s.retry {
			t.Errorf("step %d (+%s, n=%d): got allowed=%v remaining=%d retry=%s, want %v %d %s",
				i, s.advance, s.n, res.Allowed, res.Remaining, res.RetryAfter, s.allowed, s.remaining, s.retry)
		}
	}
}

func TestMemoryResetTimes(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(clock.Now)
	lim := Limit{Events: 4, Per: time.Minute}
	start := clock.Now()
	if res := take(t, m, "k", lim, 3); !res.Reset.Equal(start.Add(45 * time.Second)) {
		t.Errorf("Reset after 3 of 4/min = %s, want %s", res.Reset, start.Add(45*time.Second))
	}
	clock.Advance(time.Hour)
	if res := take(t, m, "k", lim, 0); !res.Reset.Equal(clock.Now()) {
		t.Errorf("Reset of an idle key = %s, want now %s", res.Reset, clock.Now())
	}
}

// keysInShard returns count distinct keys, each starting with prefix, that
// land in shard s of m.
func keysInShard(m *Memory, s *shard, prefix string, count int) []string {
	var keys []string
	for i := 0; len(keys) < count; i++ {
		if k := prefix + strconv.Itoa(i); m.shard(k) == s {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestMemoryEvictsIdleKeys(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(clock.Now)
	s := &m.shards[0]
	lim := Limit{Events: 5, Per: time.Second}
	old := keysInShard(m, s, "old-", 2*minSweep)
	for _, k := range old {
		take(t, m, k, lim, 1)
	}
	if got := len(s.tats); got != len(old) {
		t.Fatalf("live keys: shard holds %d, want all %d (none idle yet)", got, len(old))
	}
	// The next sweep comes after max(minSweep, keys kept last time) new keys.
	fresh := max(minSweep, s.kept)
	clock.Advance(lim.Per)
	for _, k := range keysInShard(m, s, "new-", fresh) {
		take(t, m, k, lim, 1)
	}
	for _, k := range old {
		if _, ok := s.tats[k]; ok {
			t.Fatalf("idle key %q still stored after a sweep", k)
		}
	}
	if got := len(s.tats); got > fresh {
		t.Errorf("shard holds %d keys after the sweep, want at most the %d new ones", got, fresh)
	}
}

func TestMemoryIdleKeysDoNotPeekOrDenyIntoExistence(t *testing.T) {
	m := NewMemory(newFakeClock().Now)
	lim := Limit{Events: 1, Per: time.Hour}
	take(t, m, "peek", lim, 0)
	take(t, m, "too-many", lim, 2)
	if got := storedKeys(m); got != 0 {
		t.Errorf("peek and refused take stored %d keys, want 0", got)
	}
}

func TestMemoryStaysBounded(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(clock.Now)
	lim := Limit{Events: 1, Per: 10 * time.Millisecond}
	const keys = 100_000 // far more than the bound below
	for i := range keys {
		take(t, m, strconv.Itoa(i), lim, 1)
		clock.Advance(time.Millisecond)
	}
	// At most 10 keys are live at once, so each shard holds at most
	// minSweep keys added since its last sweep plus a few kept ones.
	if got, bound := storedKeys(m), shardCount*(minSweep+10); got > bound {
		t.Errorf("after %d one-off keys Memory holds %d, want at most %d", keys, got, bound)
	}
}

func storedKeys(m *Memory) int {
	n := 0
	for i := range m.shards {
		n += len(m.shards[i].tats)
	}
	return n
}
