// Package realtime carries live events from the code that commits them to
// every open stream of the same topic: in this process (Memory) and across
// instances through PostgreSQL LISTEN/NOTIFY (Postgres).
//
// Events are hints, not records: Data is small (an id or a compact JSON) and
// subscribers load the details from the store. That is what makes dropping a
// slow subscriber and resynchronising after a lost connection safe.
package realtime

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// DefaultBuffer is the capacity of a Subscription's channel unless WithBuffer
// says otherwise.
const DefaultBuffer = 64

// DefaultChannel is the PostgreSQL notification channel Postgres uses unless
// WithChannel says otherwise.
const DefaultChannel = "linkbox_events"

// ErrClosed is returned by Publish once the broker has been closed.
var ErrClosed = errors.New("realtime: broker closed")

// Event is one message on a topic. Data is small (an id or a compact JSON);
// subscribers load details from the store. All subscribers of a topic share
// the same Data slice: neither publisher nor subscriber may modify it.
//
// An Event with empty Data is a resync: it carries no detail and tells the
// subscriber to reload its whole view of the topic from the store. Postgres
// sends one to every local topic after its listener reconnects, because
// notifications sent while it was away are lost.
type Event struct {
	Topic string
	Data  []byte
}

// IsResync reports whether e carries no data, which asks the subscriber to
// reload its view of the topic from the store.
func (e Event) IsResync() bool { return len(e.Data) == 0 }

// Broker publishes events to the subscribers of a topic.
type Broker interface {
	Publish(ctx context.Context, e Event) error
	Subscribe(topic string) *Subscription
}

// Subscription receives the events of one topic until Close. Its channel is
// buffered; a subscriber that falls behind is dropped: its channel is closed
// after the events already buffered and Dropped reports true. The publisher
// never blocks.
type Subscription struct {
	ch      chan Event
	sh      *shard
	topic   string
	idx     int // position in sh.topics[topic], -1 once removed; guarded by sh.mu
	dropped atomic.Bool
}

// C returns the channel the subscription's events arrive on. It is closed by
// Close, when the subscriber is dropped, and when the broker closes.
func (s *Subscription) C() <-chan Event { return s.ch }

// Dropped reports whether the broker gave up on the subscriber because its
// buffer was full. A dropped subscriber has missed events: it should reload
// from the store and subscribe again.
func (s *Subscription) Dropped() bool { return s.dropped.Load() }

// Close stops the subscription and closes its channel. It is idempotent and
// safe to call concurrently with Publish.
func (s *Subscription) Close() {
	s.sh.mu.Lock()
	defer s.sh.mu.Unlock()
	s.sh.remove(s)
}

// Option configures a broker built by NewMemory or NewPostgres.
type Option func(*settings)

type settings struct {
	buffer  int
	channel string
	// healthEvery is how long the listener waits in silence before it pings
	// the server, so that a half-open connection is noticed.
	healthEvery time.Duration
}

func newSettings(opts []Option) settings {
	s := settings{buffer: DefaultBuffer, channel: DefaultChannel, healthEvery: 30 * time.Second}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// WithBuffer sets the capacity of each Subscription's channel; values below 1
// mean 1. A smaller buffer makes idle subscriptions cheaper and drops slow
// subscribers sooner.
func WithBuffer(n int) Option {
	return func(s *settings) { s.buffer = max(n, 1) }
}

// WithChannel sets the PostgreSQL notification channel (Postgres only; Memory
// has none). Every instance of one deployment must use the same channel;
// tests use a unique one so that they do not hear each other.
func WithChannel(name string) Option {
	return func(s *settings) { s.channel = name }
}
