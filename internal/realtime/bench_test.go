package realtime

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// drain starts n subscribers of topic that read until their channel closes,
// calling received.Done for each event, and returns a wait for them plus a
// count of those dropped.
func drain(m *Memory, topic string, n int, received *sync.WaitGroup) (wait func(), dropped *atomic.Int64) {
	dropped = new(atomic.Int64)
	var wg sync.WaitGroup
	for range n {
		s := m.Subscribe(topic)
		wg.Go(func() {
			for range s.C() {
				received.Done()
			}
			if s.Dropped() {
				dropped.Add(1)
			}
		})
	}
	return wg.Wait, dropped
}

// BenchmarkMemoryPublish measures delivery throughput: it publishes in
// batches of half a buffer and lets the consumers drain each batch, so that
// nobody is dropped (the "dropped" metric must stay 0) and every op includes
// its share of the fan-out and of the consumers' wake-ups.
func BenchmarkMemoryPublish(b *testing.B) {
	const batch = DefaultBuffer / 2
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			m := NewMemory()
			var received sync.WaitGroup
			wait, dropped := drain(m, "t", n, &received)
			e := Event{Topic: "t", Data: []byte(`{"id":"msg_0123456789ab"}`)}
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				received.Add(n)
				if err := m.Publish(ctx, e); err != nil {
					b.Fatal(err)
				}
				if i++; i%batch == 0 {
					received.Wait()
				}
			}
			received.Wait()
			m.Close()
			wait()
			b.ReportMetric(float64(dropped.Load()), "dropped")
		})
	}
}

// BenchmarkMemoryLatency publishes one event at a time to 1,000 draining
// subscribers, waits for all of them, and reports the publish-to-receipt
// latency percentiles over every receipt.
func BenchmarkMemoryLatency(b *testing.B) {
	const n = 1000
	m := NewMemory()
	start := time.Now()
	var received sync.WaitGroup
	latencies := make([][]time.Duration, n)
	var consumers sync.WaitGroup
	for i := range n {
		s := m.Subscribe("t")
		consumers.Go(func() {
			for e := range s.C() {
				sent := time.Duration(binary.BigEndian.Uint64(e.Data))
				latencies[i] = append(latencies[i], time.Since(start)-sent)
				received.Done()
			}
		})
	}
	ctx := context.Background()
	for b.Loop() {
		received.Add(n)
		data := binary.BigEndian.AppendUint64(nil, uint64(time.Since(start)))
		if err := m.Publish(ctx, Event{Topic: "t", Data: data}); err != nil {
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
	s := c.Subscribe("t")
	var latencies []time.Duration
	for b.Loop() {
		sent := time.Now()
		publish(b, a, "t", "msg_0123456789ab")
		recv(b, s)
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
	for _, buffer := range []int{DefaultBuffer, 8} {
		b.Run(fmt.Sprintf("buffer=%d", buffer), func(b *testing.B) {
			perSub := idleBytesPerSubscription(NewMemory(WithBuffer(buffer)), 10_000)
			m := NewMemory(WithBuffer(buffer))
			b.ReportAllocs()
			for b.Loop() {
				m.Subscribe("t").Close()
			}
			b.ReportMetric(perSub, "B/idle-sub")
		})
	}
}
