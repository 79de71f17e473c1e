package realtime

import (
	"context"
	"hash/maphash"
	"sync"
)

// shardCount spreads topics over several locks so that publishers on
// different topics, and subscribers coming and going, rarely contend.
const shardCount = 32

var _ Broker = (*Memory)(nil)

// Memory is the in-process broker: each topic's subscriptions sit in a slice
// under a sharded RWMutex. Publish holds a read lock while it offers the event
// to each subscriber without blocking and without allocating; only dropping a
// slow subscriber takes the write lock. No goroutine runs per subscription.
type Memory struct {
	seed   maphash.Seed
	buffer int
	shards [shardCount]shard
}

type shard struct {
	mu     sync.RWMutex
	topics map[string][]*Subscription
	closed bool
	// Padding keeps each shard's lock on its own cache line: RLock writes to
	// the lock, and neighbours sharing a line would slow each other down.
	_ [64]byte
}

// NewMemory returns an empty in-process broker. Only WithBuffer applies.
func NewMemory(opts ...Option) *Memory {
	s := newSettings(opts)
	m := &Memory{seed: maphash.MakeSeed(), buffer: s.buffer}
	for i := range m.shards {
		m.shards[i].topics = make(map[string][]*Subscription)
	}
	return m
}

func (m *Memory) shard(topic string) *shard {
	return &m.shards[maphash.String(m.seed, topic)%shardCount]
}

// Subscribe registers a subscription to topic. On a closed broker the
// subscription's channel is already closed.
func (m *Memory) Subscribe(topic string) *Subscription {
	sh := m.shard(topic)
	s := &Subscription{ch: make(chan Event, m.buffer), sh: sh, topic: topic, idx: -1}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		close(s.ch)
		return s
	}
	subs := sh.topics[topic]
	s.idx = len(subs)
	sh.topics[topic] = append(subs, s)
	return s
}

// Publish offers e to every subscriber of e.Topic. It never blocks, so it
// ignores ctx; a subscriber whose buffer is full is dropped. It fails only
// with ErrClosed.
func (m *Memory) Publish(_ context.Context, e Event) error {
	sh := m.shard(e.Topic)
	sh.mu.RLock()
	if sh.closed {
		sh.mu.RUnlock()
		return ErrClosed
	}
	slow := sh.deliver(e, nil)
	sh.mu.RUnlock()
	sh.drop(slow)
	return nil
}

// Close closes every subscription's channel (Dropped stays false) so that
// streams end; later Publish calls return ErrClosed.
func (m *Memory) Close() {
	for i := range m.shards {
		m.shards[i].close()
	}
}

// resync sends a resync event (empty Data) to every topic that has
// subscribers.
func (m *Memory) resync() {
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.RLock()
		var slow []*Subscription
		for topic := range sh.topics {
			slow = sh.deliver(Event{Topic: topic}, slow)
		}
		sh.mu.RUnlock()
		sh.drop(slow)
	}
}

// deliver offers e to each subscriber of e.Topic and appends to slow those
// whose buffer was full, marked dropped. Several publishers may run it at
// once: the caller holds sh.mu for reading, which keeps every channel open.
func (sh *shard) deliver(e Event, slow []*Subscription) []*Subscription {
	for _, s := range sh.topics[e.Topic] {
		if s.dropped.Load() {
			continue // already given up on, awaiting removal
		}
		select {
		case s.ch <- e:
		default:
			if s.dropped.CompareAndSwap(false, true) {
				slow = append(slow, s)
			}
		}
	}
	return slow
}

// drop removes the subscribers deliver gave up on and closes their channels.
func (sh *shard) drop(slow []*Subscription) {
	if len(slow) == 0 {
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, s := range slow {
		sh.remove(s)
	}
}

// remove unregisters s and closes its channel, once; the caller holds sh.mu.
// The last subscription takes the freed slot so removal costs O(1).
func (sh *shard) remove(s *Subscription) {
	if s.idx < 0 {
		return
	}
	subs := sh.topics[s.topic]
	last := len(subs) - 1
	subs[s.idx] = subs[last]
	subs[s.idx].idx = s.idx
	subs[last] = nil
	if last == 0 {
		delete(sh.topics, s.topic)
	} else {
		sh.topics[s.topic] = subs[:last]
	}
	s.idx = -1
	close(s.ch)
}

func (sh *shard) close() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.closed = true
	for topic, subs := range sh.topics {
		for _, s := range subs {
			s.idx = -1
			close(s.ch)
		}
		delete(sh.topics, topic)
	}
}
