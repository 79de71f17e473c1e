package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

const (
	// shardCount spreads keys over independent mutexes so parallel Takes on
	// different keys rarely contend.
	shardCount = 64
	// minSweep is the fewest new keys a shard accepts between two sweeps.
	minSweep = 1024
)

// Memory is an in-process Limiter: each instance has its own limits.
//
// Idle keys are evicted during Take rather than by a background janitor: no
// goroutine to start, stop or leak, and eviction follows the injected clock,
// so tests see it deterministically. A key whose TAT has passed holds nothing
// (its bucket is full), so dropping it changes no answer. A shard is swept
// once it has accepted max(minSweep, keys kept by its last sweep) new keys;
// like map growth this keeps the sweep cost amortised O(1) per Take and a
// shard's size under about twice its live keys plus minSweep.
type Memory struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [shardCount]shard
}

// shard is one mutex-guarded slice of the key space.
type shard struct {
	mu      sync.Mutex
	tats    map[string]int64 // key -> TAT in Unix nanoseconds
	inserts int              // keys added since the last sweep
	kept    int              // keys left by the last sweep
}

// NewMemory returns an empty Memory limiter reading time from now (time.Now
// when nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].tats = make(map[string]int64)
	}
	return m
}

// Take consumes n events for key under l; see Limiter.
func (m *Memory) Take(_ context.Context, key string, l Limit, n int) (Result, error) {
	if err := check(l, n); err != nil {
		return Result{}, err
	}
	now := m.now().UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, ok := s.tats[key]
	res, tat, store := decide(stored, now, l.interval(time.Nanosecond), l, n)
	if store {
		s.tats[key] = tat
		if !ok {
			s.added(now)
		}
	}
	return res, nil
}

// shard picks the shard that owns key.
func (m *Memory) shard(key string) *shard {
	return &m.shards[maphash.String(m.seed, key)%shardCount]
}

// added records a new key and sweeps the shard when enough have arrived.
// The caller holds s.mu.
func (s *shard) added(now int64) {
	s.inserts++
	if s.inserts < max(minSweep, s.kept) {
		return
	}
	for k, tat := range s.tats {
		if tat <= now {
			delete(s.tats, k)
		}
	}
	s.inserts, s.kept = 0, len(s.tats)
}
