// Package realtime carries live events from the code that commits them to
// every open stream of the same topic: in this process (Memory) and across
// instances through PostgreSQL LISTEN/NOTIFY (Postgres).
//
// Events are hints, not records: Data is small (an id or a compact JSON) and
// subscribers load the details from the store. Because an event only says
// "look again", a subscriber may coalesce the events that arrive before it
// looks, and may resynchronise after a lost connection, without missing
// anything. So the broker hands each event to a callback (a Receiver) rather
// than to a channel: an idle subscription is a few words in the broker, with
// no buffer and no goroutine waiting on it.
package realtime

import (
	"context"
	"errors"
	"time"
)

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

// Receiver receives a subscription's events. The broker calls it on the
// publisher's goroutine while holding a lock of its own: it must return at
// once, must not block, and must not call the broker (Subscribe, Publish,
// Subscription.Close) — hand work to a goroutine instead. It is called as a
// channel receive returns: (e, true) for each event, in publish order for one
// topic; then, if the broker closes while the subscription is open, once with
// (Event{Topic: topic}, false). It is never called after Subscription.Close
// returns.
//
// Publishers on one topic do not wait for each other, so concurrent Publish
// calls may call the same Receiver concurrently: it must be safe for that.
type Receiver func(e Event, ok bool)

// Broker publishes events to the subscribers of a topic.
type Broker interface {
	Publish(ctx context.Context, e Event) error
	Subscribe(topic string, r Receiver) *Subscription
}

// Subscription is one Receiver's registration for a topic, until Close or
// until the broker closes.
type Subscription struct {
	sh    *shard
	topic string
	// r is nil once the subscription has ended, closed by its owner or told
	// that the broker closed; guarded by sh.mu.
	r   Receiver
	idx int // position in sh.topics[topic], -1 when not there; guarded by sh.mu
}

// Close ends the subscription without calling its Receiver; once it returns,
// the Receiver is never called again. It is idempotent and safe to call
// concurrently with Publish, but not from the Receiver itself.
func (s *Subscription) Close() {
	s.sh.mu.Lock()
	defer s.sh.mu.Unlock()
	s.sh.remove(s)
}

// Option configures a broker built by NewPostgres.
type Option func(*settings)

type settings struct {
	channel string
	// healthEvery is how long the listener waits in silence before it pings
	// the server, so that a half-open connection is noticed.
	healthEvery time.Duration
}

func newSettings(opts []Option) settings {
	s := settings{channel: DefaultChannel, healthEvery: 30 * time.Second}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// WithChannel sets the PostgreSQL notification channel. Every instance of one
// deployment must use the same channel; tests use a unique one so that they
// do not hear each other.
func WithChannel(name string) Option {
	return func(s *settings) { s.channel = name }
}
