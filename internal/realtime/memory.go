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
// under a sharded RWMutex. Publish holds a read lock while it calls each
// receiver, so several publishers run at once and none allocates; Subscribe
// and Close take the write lock, which is what guarantees that no receiver is
// running, or will run, once its Close returns. No goroutine runs per
// subscription.
type Memory struct {
	seed   maphash.Seed
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

// NewMemory returns an empty in-process broker.
func NewMemory() *Memory {
	m := &Memory{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].topics = make(map[string][]*Subscription)
	}
	return m
}

func (m *Memory) shard(topic string) *shard {
	return &m.shards[maphash.String(m.seed, topic)%shardCount]
}

// Subscribe registers r for the events of topic. It panics if r is nil.
//
// On a closed broker the subscription is already over: r is called once with
// (Event{Topic: topic}, false) from a new goroutine, never before Subscribe
// returns, because the caller may hold a lock that r takes. Closing the
// subscription first still keeps r from being called.
func (m *Memory) Subscribe(topic string, r Receiver) *Subscription {
	if r == nil {
		panic("realtime: Subscribe with a nil Receiver")
	}
	sh := m.shard(topic)
	s := &Subscription{sh: sh, topic: topic, r: r, idx: -1}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		go sh.end(s)
		return s
	}
	subs := sh.topics[topic]
	s.idx = len(subs)
	sh.topics[topic] = append(subs, s)
	return s
}

// Publish calls the receiver of every subscriber of e.Topic. It never waits
// for a subscriber, so it ignores ctx. It fails only with ErrClosed.
func (m *Memory) Publish(_ context.Context, e Event) error {
	sh := m.shard(e.Topic)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if sh.closed {
		return ErrClosed
	}
	for _, s := range sh.topics[e.Topic] {
		s.r(e, true)
	}
	return nil
}

// Close tells every open subscription's receiver that the broker closed, so
// that streams end; later Publish calls return ErrClosed.
func (m *Memory) Close() {
	for i := range m.shards {
		m.shards[i].close()
	}
}

// resync sends a resync event (empty Data) to every subscriber.
func (m *Memory) resync() {
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.RLock()
		for topic, subs := range sh.topics {
			for _, s := range subs {
				s.r(Event{Topic: topic}, true)
			}
		}
		sh.mu.RUnlock()
	}
}

// remove unregisters s, once, without calling its receiver; the caller holds
// sh.mu. The last subscription takes the freed slot so removal costs O(1).
func (sh *shard) remove(s *Subscription) {
	s.r = nil // also lets the receiver's captures be collected
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
}

func (sh *shard) close() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.closed = true
	for topic, subs := range sh.topics {
		for _, s := range subs {
			s.idx = -1
			sh.endLocked(s)
		}
		delete(sh.topics, topic)
	}
}

// end tells s's receiver that the broker closed, unless s has been closed
// meanwhile.
func (sh *shard) end(s *Subscription) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.endLocked(s)
}

// endLocked is end for a caller that holds sh.mu.
func (sh *shard) endLocked(s *Subscription) {
	if s.r == nil {
		return
	}
	s.r(Event{Topic: s.topic}, false)
	s.r = nil
}
