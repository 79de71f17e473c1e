package accounts

import (
	"sync"
	"time"
)

// ttlCache is a bounded map whose entries expire. Authenticate runs on
// every request of every surface; it keeps what it learned here so that a
// token already verified is not verified again (an Ed25519 verification
// costs more than all the rest of a request).
type ttlCache[K comparable, V any] struct {
	mu  sync.RWMutex
	max int
	m   map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v     V
	until time.Time
}

func newTTLCache[K comparable, V any](max int) *ttlCache[K, V] {
	return &ttlCache[K, V]{max: max, m: make(map[K]ttlEntry[V])}
}

// get returns k's value if it has not expired at now.
func (c *ttlCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// put keeps v for k until until.
func (c *ttlCache[K, V]) put(k K, v V, until, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.evict(now)
	}
	c.m[k] = ttlEntry[V]{v: v, until: until}
}

// evict drops the expired entries and, if the cache is still over three
// quarters full, arbitrary ones (map order is random) down to that, so that
// the next max/4 puts do not sweep again. A lost entry only costs the work
// it saved. c.mu must be held.
func (c *ttlCache[K, V]) evict(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.until) {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) <= c.max*3/4 {
			return
		}
		delete(c.m, k)
	}
}
