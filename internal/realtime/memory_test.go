package realtime

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitTimeout bounds every wait for an event so that a broken broker fails
// the test instead of hanging it.
const waitTimeout = 10 * time.Second

// call is one call of a Receiver.
type call struct {
	e  Event
	ok bool
}

// sink is a test subscriber. Its receive method queues every call on a
// buffered channel without blocking, as a Receiver must, and fails the test
// when the queue is full: that loss would be the test's, not the broker's.
type sink struct {
	t     testing.TB
	calls chan call
}

// subscribe subscribes a new sink to topic.
func subscribe(t testing.TB, b Broker, topic string) (*Subscription, *sink) {
	k := &sink{t: t, calls: make(chan call, 16)}
	return b.Subscribe(topic, k.receive), k
}

func (k *sink) receive(e Event, ok bool) {
	select {
	case k.calls <- call{e, ok}:
	default:
		k.t.Errorf("test receiver full: lost %q %q ok=%v", e.Topic, e.Data, ok)
	}
}

// next waits for k's next call.
func (k *sink) next(t testing.TB) call {
	t.Helper()
	select {
	case c := <-k.calls:
		return c
	case <-time.After(waitTimeout):
		t.Fatalf("receiver not called within %v", waitTimeout)
		return call{}
	}
}

// recv waits for k's next event.
func recv(t testing.TB, k *sink) Event {
	t.Helper()
	c := k.next(t)
	if !c.ok {
		t.Fatalf("receiver told the broker closed (%q), want an event", c.e.Topic)
	}
	return c.e
}

// wantEnd waits for the call that tells k the broker closed.
func wantEnd(t testing.TB, k *sink, topic string) {
	t.Helper()
	if c := k.next(t); c.ok || c.e.Topic != topic || c.e.Data != nil {
		t.Fatalf("got %q %q ok=%v, want (Event{Topic: %q}, false)", c.e.Topic, c.e.Data, c.ok, topic)
	}
}

// wantNoCall checks that k has not been called since its last call was read.
func wantNoCall(t testing.TB, k *sink, who string) {
	t.Helper()
	if n := len(k.calls); n != 0 {
		t.Errorf("%s: receiver called %d more times, want none", who, n)
	}
}

func publish(t testing.TB, b Broker, topic, data string) {
	t.Helper()
	if err := b.Publish(context.Background(), Event{Topic: topic, Data: []byte(data)}); err != nil {
		t.Fatalf("Publish(%q, %q) = %v, want nil", topic, data, err)
	}
}

func TestMemoryFanOut(t *testing.T) {
	m := NewMemory()
	sinks := make([]*sink, 1000)
	for i := range sinks {
		_, sinks[i] = subscribe(t, m, "acct_1")
	}
	for i := range 3 {
		publish(t, m, "acct_1", fmt.Sprint(i))
	}
	for i, k := range sinks {
		if got := len(k.calls); got != 3 {
			t.Fatalf("subscriber %d: called %d times, want 3", i, got)
		}
		for want := range 3 {
			if e := recv(t, k); string(e.Data) != fmt.Sprint(want) || e.Topic != "acct_1" {
				t.Fatalf("subscriber %d: got %q %q, want acct_1 %q", i, e.Topic, e.Data, fmt.Sprint(want))
			}
		}
	}
}

func TestMemoryTopicIsolation(t *testing.T) {
	m := NewMemory()
	// More topics than shards, so that several topics share a shard.
	sinks := make(map[string]*sink)
	for i := range 4 * shardCount {
		topic := fmt.Sprintf("acct_%d", i)
		_, sinks[topic] = subscribe(t, m, topic)
	}
	publish(t, m, "nobody_listens", "x")
	for topic := range sinks {
		publish(t, m, topic, topic)
	}
	for topic, k := range sinks {
		if e := recv(t, k); e.Topic != topic || string(e.Data) != topic {
			t.Errorf("%s: got %q %q, want its own event", topic, e.Topic, e.Data)
		}
		wantNoCall(t, k, topic)
	}
}

func TestSubscriptionClose(t *testing.T) {
	m := NewMemory()
	subs, sinks := make([]*Subscription, 5), make([]*sink, 5)
	for i := range subs {
		subs[i], sinks[i] = subscribe(t, m, "t")
	}
	// Closing from the middle and the end exercises the swap on removal.
	for _, i := range []int{1, 4, 1} {
		subs[i].Close()
	}
	publish(t, m, "t", "x")
	for i, k := range sinks {
		if i != 1 && i != 4 {
			recv(t, k)
		}
		wantNoCall(t, k, fmt.Sprintf("subscriber %d", i))
	}
	for _, s := range subs {
		s.Close()
	}
	if got := len(m.shard("t").topics); got != 0 {
		t.Errorf("%d topics left after every subscription closed, want 0", got)
	}
	m.Close() // closed subscriptions hear nothing of it
	for i, k := range sinks {
		wantNoCall(t, k, fmt.Sprintf("subscriber %d after Memory.Close", i))
	}
}

func TestMemoryClose(t *testing.T) {
	m := NewMemory()
	before, k := subscribe(t, m, "t")
	publish(t, m, "t", "x")
	recv(t, k)
	m.Close()
	m.Close()
	wantEnd(t, k, "t")
	wantNoCall(t, k, "after Close")
	if err := m.Publish(context.Background(), Event{Topic: "t"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	before.Close()
	wantNoCall(t, k, "after Subscription.Close")
}

// TestMemorySubscribeAfterClose holds, while it subscribes, a lock that its
// receiver takes: a receiver called before Subscribe returned would deadlock.
func TestMemorySubscribeAfterClose(t *testing.T) {
	before := runtime.NumGoroutine()
	m := NewMemory()
	m.Close()
	var mu sync.Mutex
	k := &sink{t: t, calls: make(chan call, 1)}
	subscribed := make(chan *Subscription, 1)
	go func() {
		mu.Lock()
		defer mu.Unlock()
		subscribed <- m.Subscribe("t", func(e Event, ok bool) {
			mu.Lock()
			defer mu.Unlock()
			k.receive(e, ok)
		})
	}()
	var s *Subscription
	select {
	case s = <-subscribed:
	case <-time.After(waitTimeout):
		t.Fatal("Subscribe on a closed broker did not return: it called the receiver itself")
	}
	wantEnd(t, k, "t")
	s.Close()
	wantNoCall(t, k, "after Subscription.Close")
	eventually(t, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= before })
}

func TestSubscribeNilReceiver(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Subscribe with a nil Receiver did not panic")
		}
	}()
	NewMemory().Subscribe("t", nil)
}

// guard is a Receiver for TestMemoryConcurrentUse. It fails the test when it
// is called after its subscription's Close returned or after it was told the
// broker closed, and it wakes its subscriber on every call.
type guard struct {
	t      *testing.T
	closed atomic.Bool // set once Close has returned
	ends   atomic.Int32
	wake   chan struct{}
}

func newGuard(t *testing.T) *guard { return &guard{t: t, wake: make(chan struct{}, 1)} }

func (g *guard) receive(e Event, ok bool) {
	if g.closed.Load() {
		g.t.Errorf("receiver called with %q ok=%v after Close returned", e.Data, ok)
	}
	if g.ends.Load() > 0 {
		g.t.Errorf("receiver called with %q ok=%v after it was told the broker closed", e.Data, ok)
	}
	if !ok {
		g.ends.Add(1)
	}
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// TestMemoryConcurrentUse races publishers against subscribers that come and
// go, some closing before they hear anything, and the broker's Close against
// all of them; run with -race.
func TestMemoryConcurrentUse(t *testing.T) {
	before := runtime.NumGoroutine()
	m := NewMemory()
	stayers := make([]*guard, 8)
	for i := range stayers {
		stayers[i] = newGuard(t)
		m.Subscribe("t", stayers[i].receive)
	}
	var publishers, subscribers sync.WaitGroup
	for range 4 {
		publishers.Go(func() {
			for {
				err := m.Publish(context.Background(), Event{Topic: "t", Data: []byte("x")})
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("Publish = %v, want nil or ErrClosed", err)
					}
					return
				}
				// A publisher that never blocks would keep the woken
				// subscribers off the CPU until preemption (10 ms).
				runtime.Gosched()
			}
		})
	}
	const rounds = 2000
	var done atomic.Int64
	for range 4 {
		subscribers.Go(func() {
			for i := range rounds {
				g := newGuard(t)
				s := m.Subscribe("t", g.receive)
				if i%2 == 0 {
					<-g.wake // an event, or the end once the broker has closed
				}
				go s.Close()
				s.Close()
				g.closed.Store(true)
				if done.Add(1) == 2*rounds {
					m.Close()
				}
			}
		})
	}
	subscribers.Wait()
	publishers.Wait()
	for i, g := range stayers {
		if n := g.ends.Load(); n != 1 {
			t.Errorf("open subscriber %d told %d times that the broker closed, want 1", i, n)
		}
	}
	// Late calls would come from the goroutines still closing subscriptions
	// or telling them that the broker closed; wait them out.
	eventually(t, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= before })
}

func TestMemoryResync(t *testing.T) {
	m := NewMemory()
	topics := []string{"a", "b", "c", "a"}
	sinks := make([]*sink, len(topics))
	for i, topic := range topics {
		_, sinks[i] = subscribe(t, m, topic)
	}
	m.resync()
	for i, k := range sinks {
		if e := recv(t, k); e.Topic != topics[i] || !e.IsResync() {
			t.Errorf("got %q %q, want a resync for %q", e.Topic, e.Data, topics[i])
		}
		wantNoCall(t, k, topics[i])
	}
}

func TestMemoryNoGoroutinePerSubscription(t *testing.T) {
	before := runtime.NumGoroutine()
	m := NewMemory()
	subs := make([]*Subscription, 10_000)
	for i := range subs {
		subs[i] = m.Subscribe(fmt.Sprintf("acct_%d", i%100), ignore)
	}
	publish(t, m, "acct_0", "x")
	// Fewer is fine: an earlier test's connection goroutines may still be
	// exiting.
	if got := runtime.NumGoroutine(); got > before {
		t.Errorf("goroutines with 10,000 subscriptions = %d, want at most %d", got, before)
	}
	for _, s := range subs {
		s.Close()
	}
}

// TestIdleSubscriptionMemory guards the cost of an idle subscription, about
// 140 bytes: the 48-byte Subscription plus, here where every topic is
// distinct, its topic's string, map entry and one-element slice.
func TestIdleSubscriptionMemory(t *testing.T) {
	perSub := idleBytesPerSubscription(NewMemory(), 10_000)
	t.Logf("idle subscription: %.0f bytes", perSub)
	if limit := 192.0; perSub > limit {
		t.Errorf("idle subscription costs %.0f bytes, want at most %.0f", perSub, limit)
	}
}

// ignore is a Receiver that allocates nothing, so that measurements count
// the broker's memory only.
func ignore(Event, bool) {}

func idleBytesPerSubscription(m *Memory, n int) float64 {
	subs := make([]*Subscription, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range subs {
		subs[i] = m.Subscribe(fmt.Sprintf("acct_%d", i), ignore)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSub := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	runtime.KeepAlive(subs)
	return perSub
}
