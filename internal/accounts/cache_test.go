package accounts

import (
	"testing"
	"time"
)

func TestTTLCacheExpiresAndStaysBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newTTLCache[int, string](8)
	c.put(1, "one", now.Add(time.Second), now)
	if v, ok := c.get(1, now); !ok || v != "one" {
		t.Fatalf("get before expiry = %q, %v; want one", v, ok)
	}
	if _, ok := c.get(1, now.Add(time.Second)); ok {
		t.Fatal("get at expiry found the entry")
	}
	for i := 2; i <= 8; i++ {
		c.put(i, "live", now.Add(time.Hour), now)
	}
	later := now.Add(2 * time.Second)
	c.put(9, "nine", later.Add(time.Hour), later) // full: evicts, the expired 1 first
	if _, ok := c.m[1]; ok || len(c.m) > 8 {
		t.Fatalf("entries %v after an eviction, want at most 8, without the expired 1", c.m)
	}
	for i := 10; i < 100; i++ {
		c.put(i, "more", later.Add(time.Hour), later)
		if len(c.m) > 8 {
			t.Fatalf("%d entries, want at most 8", len(c.m))
		}
	}
	if v, ok := c.get(99, later); !ok || v != "more" {
		t.Errorf("the newest entry = %q, %v; want it kept", v, ok)
	}
}
