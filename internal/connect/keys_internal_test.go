package connect

import (
	"testing"
	"time"
)

// TestKeyCacheRace: a lookup that read an app from the store before the
// app's deletion evicted it must not cache it after the eviction; one that
// read after caches as usual.
func TestKeyCacheRace(t *testing.T) {
	c := newKeyCache(time.Minute, 8)
	now := time.Unix(1_700_000_000, 0)
	app := App{ID: "app_1", Name: "Acme"}

	gen := c.evictions.Load() // the lookup reads the store…
	c.evictApp(app.ID)        // …the app is deleted and evicted meanwhile…
	c.put("hash", app, now.Add(time.Minute), now, gen)
	if got, ok := c.Get("hash", now); ok {
		t.Fatalf("cached %+v read before its app's eviction", got)
	}

	gen = c.evictions.Load()
	c.put("hash", app, now.Add(time.Minute), now, gen)
	if got, ok := c.Get("hash", now); !ok || got.ID != app.ID {
		t.Fatalf("cached %+v, %v; want the app read after the eviction", got, ok)
	}
}
