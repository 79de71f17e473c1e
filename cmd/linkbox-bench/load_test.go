package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", []time.Duration{7}, 99, 7},
		{"p50 of 100", hundred, 50, 50 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"p100 of 100", hundred, 100, 100 * time.Millisecond},
		{"p0 is the minimum", hundred, 0, time.Millisecond},
		{"p50 of 3 rounds up", []time.Duration{1, 2, 3}, 50, 2},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("%s: percentile(p%v) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	s := sample{lat: []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}, failed: 1,
		firstErr: errors.New("boom"), elapsed: time.Second}
	got := summarize(s)
	want := stats{Ops: 3, Failed: 1, OpsPerSec: 3, P50Ms: 2, P99Ms: 3, MaxMs: 3, FirstErr: "boom"}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
}

// TestSummarizeMax: one stall among a hundred operations is below the
// p99 and shows only in the maximum.
func TestSummarizeMax(t *testing.T) {
	lat := []time.Duration{830 * time.Millisecond}
	for range 99 {
		lat = append(lat, time.Millisecond)
	}
	if got := summarize(sample{lat: lat, elapsed: time.Second}); got.P99Ms != 1 || got.MaxMs != 830 {
		t.Errorf("p99 %v ms, max %v ms; want 1 and 830", got.P99Ms, got.MaxMs)
	}
}

func TestClosedLoopStopsWhenExhausted(t *testing.T) {
	var n atomic.Int64
	s := closedLoop(context.Background(), &target{}, 4, time.Minute, func(context.Context, int) error {
		if n.Add(1) > 10 {
			return errExhausted
		}
		return nil
	})
	if len(s.lat) != 10 || s.failed != 0 {
		t.Errorf("closedLoop: %d ok, %d failed; want 10 ok, 0 failed", len(s.lat), s.failed)
	}
}

func TestClosedLoopCountsFailures(t *testing.T) {
	var n atomic.Int64
	s := closedLoop(context.Background(), &target{}, 1, time.Minute, func(context.Context, int) error {
		switch n.Add(1) {
		case 1:
			return errors.New("first")
		case 2:
			return nil
		}
		return errExhausted
	})
	if len(s.lat) != 1 || s.failed != 1 || s.firstErr == nil || s.firstErr.Error() != "first" {
		t.Errorf("closedLoop: %d ok, %d failed, first %v; want 1, 1, first", len(s.lat), s.failed, s.firstErr)
	}
}
