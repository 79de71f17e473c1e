package numbers

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	want := []time.Duration{5, 5, 5, 5, 5, 5, 5, 10, 20, 40, 60, 60, 60}
	for n, w := range want {
		if got := backoff(n); got != w*time.Second {
			t.Errorf("backoff(%d) = %v, want %v", n, got, w*time.Second)
		}
	}
}

func TestCharge(t *testing.T) {
	for _, c := range []struct{ cost, markup, want int64 }{
		{40_000, 1_500_000, 60_000},
		{1, 1_000_001, 2}, // rounded up
		{12_500_000, 1_000_000, 12_500_000},
		{1e15, 10_000_000, 1e16}, // no overflow
	} {
		if got := (&upstream{markup: c.markup}).charge(c.cost); got != c.want {
			t.Errorf("charge(%d × %d) = %d, want %d", c.cost, c.markup, got, c.want)
		}
	}
}
