// Package ttlcache is a bounded in-memory map whose entries expire. It keeps
// what a hot path learned from the store or from a costly check for a short
// while; losing an entry early only costs the work it saved.
package ttlcache

import (
	"sync"
	"time"
)

// Cache maps keys to values until a time given with each value. It holds at
// most max entries. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	mu  sync.RWMutex
	max int
	m   map[K]entry[V]
}

type entry[V any] struct {
	v     V
	until time.Time
}

// New returns an empty cache of at most max entries; max must be positive.
func New[K comparable, V any](max int) *Cache[K, V] {
	return &Cache[K, V]{max: max, m: make(map[K]entry[V])}
}

// Get returns k's value if it has not expired at now.
func (c *Cache[K, V]) Get(k K, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put keeps v for k until until, making room first if the cache is full.
func (c *Cache[K, V]) Put(k K, v V, until, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.evict(now)
	}
	c.m[k] = entry[V]{v: v, until: until}
}

// Delete forgets k.
func (c *Cache[K, V]) Delete(k K) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// DeleteFunc forgets every entry for which del returns true, for a caller
// that learns an entry is wrong before it expires.
func (c *Cache[K, V]) DeleteFunc(del func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if del(k, e.v) {
			delete(c.m, k)
		}
	}
}

// evict drops the expired entries and, if the cache is still over three
// quarters full, arbitrary ones (map order is random) down to that, so that
// the next max/4 puts do not sweep again. c.mu must be held.
func (c *Cache[K, V]) evict(now time.Time) {
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
