package realtime

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// waitTimeout bounds every wait for an event so that a broken broker fails
// the test instead of hanging it.
const waitTimeout = 10 * time.Second

func recv(t testing.TB, s *Subscription) Event {
	t.Helper()
	select {
	case e, ok := <-s.C():
		if !ok {
			t.Fatalf("channel closed, want an event (dropped=%v)", s.Dropped())
		}
		return e
	case <-time.After(waitTimeout):
		t.Fatalf("no event within %v", waitTimeout)
		return Event{}
	}
}

func publish(t testing.TB, b Broker, topic, data string) {
	t.Helper()
	if err := b.Publish(context.Background(), Event{Topic: topic, Data: []byte(data)}); err != nil {
		t.Fatalf("Publish(%q, %q) = %v, want nil", topic, data, err)
	}
}

// assertClosed checks that s's channel is closed once its buffered events
// are drained, and returns how many were buffered.
func assertClosed(t *testing.T, s *Subscription) int {
	t.Helper()
	n := 0
	for {
		select {
		case _, ok := <-s.C():
			if !ok {
				return n
			}
			n++
		default:
			t.Fatalf("channel open after %d buffered events, want closed", n)
		}
	}
}

func TestMemoryFanOut(t *testing.T) {
	m := NewMemory()
	subs := make([]*Subscription, 1000)
	for i := range subs {
		subs[i] = m.Subscribe("acct_1")
	}
	for i := range 3 {
		publish(t, m, "acct_1", fmt.Sprint(i))
	}
	for i, s := range subs {
		if got := len(s.C()); got != 3 {
			t.Fatalf("subscriber %d: %d events buffered, want 3", i, got)
		}
		for want := range 3 {
			if e := recv(t, s); string(e.Data) != fmt.Sprint(want) || e.Topic != "acct_1" {
				t.Fatalf("subscriber %d: got %q %q, want acct_1 %q", i, e.Topic, e.Data, fmt.Sprint(want))
			}
		}
	}
}

func TestMemoryTopicIsolation(t *testing.T) {
	m := NewMemory()
	// More topics than shards, so that several topics share a shard.
	subs := make(map[string]*Subscription)
	for i := range 4 * shardCount {
		topic := fmt.Sprintf("acct_%d", i)
		subs[topic] = m.Subscribe(topic)
	}
	publish(t, m, "nobody_listens", "x")
	for topic := range subs {
		publish(t, m, topic, topic)
	}
	for topic, s := range subs {
		if got := len(s.C()); got != 1 {
			t.Fatalf("%s: %d events, want 1", topic, got)
		}
		if e := recv(t, s); e.Topic != topic || string(e.Data) != topic {
			t.Errorf("%s: got %q %q, want its own event", topic, e.Topic, e.Data)
		}
	}
}

func TestMemorySlowSubscriberDropped(t *testing.T) {
	const buffer = 4
	m := NewMemory(WithBuffer(buffer))
	slow, fast := m.Subscribe("t"), m.Subscribe("t")
	for i := range buffer + 3 {
		publish(t, m, "t", fmt.Sprint(i))
		if e := recv(t, fast); string(e.Data) != fmt.Sprint(i) {
			t.Fatalf("fast subscriber got %q, want %d", e.Data, i)
		}
	}
	if !slow.Dropped() {
		t.Error("slow.Dropped() = false, want true")
	}
	if fast.Dropped() {
		t.Error("fast.Dropped() = true, want false")
	}
	if got := assertClosed(t, slow); got != buffer {
		t.Errorf("slow subscriber kept %d events before the close, want %d", got, buffer)
	}
	slow.Close() // closing a dropped subscription must be harmless
	publish(t, m, "t", "after")
	if e := recv(t, fast); string(e.Data) != "after" {
		t.Errorf("fast subscriber got %q after the drop, want %q", e.Data, "after")
	}
}

func TestSubscriptionClose(t *testing.T) {
	m := NewMemory()
	subs := make([]*Subscription, 5)
	for i := range subs {
		subs[i] = m.Subscribe("t")
	}
	// Closing from the middle and the end exercises the swap on removal.
	for _, i := range []int{1, 4, 1} {
		subs[i].Close()
	}
	publish(t, m, "t", "x")
	for i, s := range subs {
		if i == 1 || i == 4 {
			if n := assertClosed(t, s); n != 0 || s.Dropped() {
				t.Errorf("closed subscriber %d: %d events, dropped=%v; want 0, false", i, n, s.Dropped())
			}
			continue
		}
		if got := len(s.C()); got != 1 {
			t.Errorf("subscriber %d: %d events, want 1", i, got)
		}
	}
	for _, s := range subs {
		s.Close()
	}
	if got := len(m.shard("t").topics); got != 0 {
		t.Errorf("%d topics left after every subscription closed, want 0", got)
	}
}

func TestMemoryClose(t *testing.T) {
	m := NewMemory()
	before := m.Subscribe("t")
	m.Close()
	m.Close()
	if n := assertClosed(t, before); n != 0 || before.Dropped() {
		t.Errorf("after Close: %d events, dropped=%v; want 0, false", n, before.Dropped())
	}
	assertClosed(t, m.Subscribe("t"))
	if err := m.Publish(context.Background(), Event{Topic: "t"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	before.Close()
}

// TestMemoryCloseDuringPublish races publishers against subscribers that
// come, drop and go; run with -race. A send on a closed channel would panic.
func TestMemoryCloseDuringPublish(t *testing.T) {
	m := NewMemory(WithBuffer(2))
	ctx, cancel := context.WithCancel(context.Background())
	var publishers, subscribers sync.WaitGroup
	for range 4 {
		publishers.Go(func() {
			for ctx.Err() == nil {
				if err := m.Publish(ctx, Event{Topic: "t", Data: []byte("x")}); err != nil {
					t.Errorf("Publish = %v", err)
					return
				}
				// A publisher that never blocks would keep the woken
				// subscribers off the CPU until preemption (10 ms).
				runtime.Gosched()
			}
		})
	}
	for range 4 {
		subscribers.Go(func() {
			for range 2000 {
				s := m.Subscribe("t")
				<-s.C() // then stop reading: it may get dropped
				go s.Close()
				s.Close()
			}
		})
	}
	subscribers.Wait()
	cancel()
	publishers.Wait()
}

func TestMemoryResync(t *testing.T) {
	m := NewMemory()
	topics := []string{"a", "b", "c"}
	subs := make([]*Subscription, len(topics))
	for i, topic := range topics {
		subs[i] = m.Subscribe(topic)
	}
	m.resync()
	for i, s := range subs {
		e := recv(t, s)
		if e.Topic != topics[i] || !e.IsResync() {
			t.Errorf("got %q %q, want a resync for %q", e.Topic, e.Data, topics[i])
		}
		if got := len(s.C()); got != 0 {
			t.Errorf("%s: %d more events, want 0", topics[i], got)
		}
	}
}

func TestMemoryNoGoroutinePerSubscription(t *testing.T) {
	before := runtime.NumGoroutine()
	m := NewMemory()
	subs := make([]*Subscription, 10_000)
	for i := range subs {
		subs[i] = m.Subscribe(fmt.Sprintf("acct_%d", i%100))
	}
	publish(t, m, "acct_0", "x")
	if got := runtime.NumGoroutine(); got != before {
		t.Errorf("goroutines with 10,000 subscriptions = %d, want %d", got, before)
	}
	for _, s := range subs {
		s.Close()
	}
}

// TestIdleSubscriptionMemory guards the cost of an idle subscription, which
// is dominated by its channel buffer (DefaultBuffer Events of 40 bytes).
func TestIdleSubscriptionMemory(t *testing.T) {
	perSub := idleBytesPerSubscription(NewMemory(), 10_000)
	t.Logf("idle subscription: %.0f bytes", perSub)
	if limit := 3072.0; perSub > limit {
		t.Errorf("idle subscription costs %.0f bytes, want at most %.0f", perSub, limit)
	}
}

func idleBytesPerSubscription(m *Memory, n int) float64 {
	subs := make([]*Subscription, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range subs {
		subs[i] = m.Subscribe(fmt.Sprintf("acct_%d", i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSub := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	runtime.KeepAlive(subs)
	return perSub
}
