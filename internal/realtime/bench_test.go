package realtime

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkMemoryPublish measures the broker's own cost per publish: each
// receiver only counts, the least work a subscriber can do.
func BenchmarkMemoryPublish(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			m := NewMemory()
			var received atomic.Int64
			for range n {
				m.Subscribe("t", func(Event, bool) { received.Add(1) })
			}
			e := Event{Topic: "t", Data: []byte(`{"id":"msg_0123456789ab"}`)}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Publish(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
			if got, want := received.Load(), int64(n)*int64(b.N); got != want {
				b.Fatalf("receivers called %d times, want %d", got, want)
			}
		})
	}
}

// BenchmarkMemoryLatency publishes one event at a time to 1,000 subscribers
// whose receivers hand off to a goroutine of their own, as a subscriber with
// work to do must; it waits for all of them and reports the publish-to-wake
// latency percentiles over every wake-up.
func BenchmarkMemoryLatency(b *testing.B) {
	const n = 1000
	m := NewMemory()
	start := time.Now()
	var sent atomic.Int64 // when the event being delivered was published, since start
	var received sync.WaitGroup
	latencies := make([][]time.Duration, n)
	var consumers sync.WaitGroup
	for i := range n {
		wake := make(chan struct{}, 1)
		m.Subscribe("t", func(_ Event, ok bool) {
			if !ok {
				close(wake)
				return
			}
			select {
			case wake <- struct{}{}:
			default: // a wake-up is pending, and it covers this event too
			}
		})
		consumers.Go(func() {
			for range wake {
				latencies[i] = append(latencies[i], time.Since(start)-time.Duration(sent.Load()))
				received.Done()
			}
		})
	}
	ctx := context.Background()
	e := Event{Topic: "t", Data: []byte(`{"id":"msg_0123456789ab"}`)}
	for b.Loop() {
		received.Add(n)
		sent.Store(int64(time.Since(start)))
		if err := m.Publish(ctx, e); err != nil {
			b.Fatal(err)
		}
		received.Wait()
	}
	m.Close()
	consumers.Wait()
	reportPercentiles(b, slices.Concat(latencies...))
}

// BenchmarkPostgresLatency publishes on one instance and reports how long the
// event takes to reach a subscriber on another.
func BenchmarkPostgresLatency(b *testing.B) {
	channel := testChannel()
	a, c := newPostgres(b, channel, ""), newPostgres(b, channel, "")
	_, k := subscribe(b, c, "t")
	var latencies []time.Duration
	for b.Loop() {
		sent := time.Now()
		publish(b, a, "t", "msg_0123456789ab")
		recv(b, k)
		latencies = append(latencies, time.Since(sent))
	}
	reportPercentiles(b, latencies)
}

func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
	b.ReportMetric(float64(d[len(d)-1].Microseconds()), "max-µs")
}

// BenchmarkIdleSubscription reports the heap cost of one idle subscription,
// measured over 10,000 of them; the loop measures Subscribe plus Close.
func BenchmarkIdleSubscription(b *testing.B) {
	perSub := idleBytesPerSubscription(NewMemory(), 10_000)
	m := NewMemory()
	b.ReportAllocs()
	for b.Loop() {
		m.Subscribe("t", ignore).Close()
	}
	b.ReportMetric(perSub, "B/idle-sub")
}
