package ttlcache

import (
	"sync"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func TestExpiry(t *testing.T) {
	c := New[int, string](8)
	c.Put(1, "one", t0.Add(time.Second), t0)
	if v, ok := c.Get(1, t0.Add(time.Second-time.Nanosecond)); !ok || v != "one" {
		t.Errorf("Get just before expiry = %q, %v; want one, true", v, ok)
	}
	if v, ok := c.Get(1, t0.Add(time.Second)); ok || v != "" {
		t.Errorf("Get at expiry = %q, %v; want the zero value, false", v, ok)
	}
	if _, ok := c.Get(2, t0); ok {
		t.Error("Get of a key never put found it")
	}
	c.Put(1, "again", t0.Add(time.Hour), t0.Add(time.Second))
	if v, ok := c.Get(1, t0.Add(time.Minute)); !ok || v != "again" {
		t.Errorf("Get after a new Put = %q, %v; want again, true", v, ok)
	}
}

func TestBound(t *testing.T) {
	c := New[int, int](8)
	for i := range 100 {
		c.Put(i, i, t0.Add(time.Hour), t0)
		if len(c.m) > 8 {
			t.Fatalf("%d entries after %d puts, want at most 8", len(c.m), i+1)
		}
		if v, ok := c.Get(i, t0); !ok || v != i {
			t.Fatalf("the newest entry %d = %d, %v; want it kept", i, v, ok)
		}
	}
}

// TestEviction: a full cache drops its expired entries first, and only
// when that leaves it over three quarters full, live ones down to that.
func TestEviction(t *testing.T) {
	c := New[int, string](8)
	for i := 1; i <= 4; i++ {
		c.Put(i, "dead", t0.Add(time.Second), t0)
	}
	for i := 5; i <= 8; i++ {
		c.Put(i, "live", t0.Add(time.Hour), t0)
	}
	later := t0.Add(time.Minute)
	c.Put(9, "new", later.Add(time.Hour), later)
	if len(c.m) != 5 {
		t.Errorf("%d entries after evicting 4 expired ones, want 5", len(c.m))
	}
	for i := 5; i <= 9; i++ {
		if _, ok := c.Get(i, later); !ok {
			t.Errorf("live entry %d was evicted while expired ones could go", i)
		}
	}
	for i := 10; i <= 12; i++ {
		c.Put(i, "new", later.Add(time.Hour), later)
	}
	if len(c.m) != 8 {
		t.Fatalf("%d entries, want a full cache of 8", len(c.m))
	}
	c.Put(13, "new", later.Add(time.Hour), later)
	if len(c.m) != 7 {
		t.Errorf("%d entries after evicting live ones, want 3/4 of 8 plus the new one", len(c.m))
	}
	if _, ok := c.Get(13, later); !ok {
		t.Error("the entry put after the eviction is missing")
	}
}

func TestDelete(t *testing.T) {
	c := New[int, string](8)
	c.Put(1, "one", t0.Add(time.Hour), t0)
	c.Put(2, "two", t0.Add(time.Hour), t0)
	c.Delete(1)
	c.Delete(3) // absent: nothing to do
	if _, ok := c.Get(1, t0); ok {
		t.Error("entry 1 present after Delete")
	}
	if v, ok := c.Get(2, t0); !ok || v != "two" {
		t.Errorf("entry 2 = %q, %v after deleting 1; want two", v, ok)
	}
}

func TestDeleteFunc(t *testing.T) {
	c := New[int, string](8)
	for i := range 6 {
		c.Put(i, []string{"even", "odd"}[i%2], t0.Add(time.Hour), t0)
	}
	c.DeleteFunc(func(_ int, v string) bool { return v == "odd" })
	for i := range 6 {
		if _, ok := c.Get(i, t0); ok != (i%2 == 0) {
			t.Errorf("entry %d present = %v after deleting the odd ones", i, ok)
		}
	}
}

// TestConcurrentUse is for the race detector.
func TestConcurrentUse(t *testing.T) {
	c := New[int, int](16)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				k := g*1000 + i
				c.Put(k, i, t0.Add(time.Second), t0)
				c.Get(k, t0)
				c.DeleteFunc(func(key, _ int) bool { return key == k-1 })
			}
		})
	}
	wg.Wait()
	if len(c.m) > 16 {
		t.Errorf("%d entries, want at most 16", len(c.m))
	}
}
