package clients

import (
	"testing"
	"time"
)

// TestKeyCacheRace: a lookup that read a client from the store before the
// client's deletion evicted it must not cache it after the eviction; one
// that read after caches as usual.
func TestKeyCacheRace(t *testing.T) {
	c := newKeyCache[string](time.Minute, 8)
	now := time.Unix(1_700_000_000, 0)
	e := cached[string]{id: "sup_1", r: "Acme"}

	gen := c.evictions.Load() // the lookup reads the store…
	c.evict(e.id)             // …the client is deleted and evicted meanwhile…
	c.put("hash", e, now.Add(time.Minute), now, gen)
	if got, ok := c.get("hash", now); ok {
		t.Fatalf("cached %q read before its client's eviction", got)
	}

	gen = c.evictions.Load()
	c.put("hash", e, now.Add(time.Minute), now, gen)
	if got, ok := c.get("hash", now); !ok || got != e.r {
		t.Fatalf("cached %q, %v; want the client read after the eviction", got, ok)
	}
}
