// Package smstest provides fakes of the services that package sms talks to,
// each a real HTTP server on 127.0.0.1 speaking the service's protocol, for
// the tests of any package that sends SMS.
package smstest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/linkbox/linkbox/internal/sms"
)

// maxRequestBytes caps a request body; real messages are far smaller.
const maxRequestBytes = 1 << 20

// inbox records the messages a fake accepted and hands them to waiters.
// Its exported methods are promoted to each fake.
type inbox struct {
	mu         sync.Mutex
	arrived    *sync.Cond // broadcast on each new message and when a waiter's ctx ends
	msgs       []sms.Message
	taken      []bool // taken[i]: msgs[i] was returned by Wait
	failLeft   int
	failStatus int
}

func newInbox() *inbox {
	b := &inbox{}
	b.arrived = sync.NewCond(&b.mu)
	return b
}

// Messages returns every message accepted so far, oldest first.
func (b *inbox) Messages() []sms.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs)
}

// Wait returns the oldest message to the number to that Wait has not
// returned before, waiting for one to arrive until ctx ends.
func (b *inbox) Wait(ctx context.Context, to string) (sms.Message, error) {
	// Wake the loop below when ctx ends; the lock makes sure the broadcast
	// cannot fall between the ctx check and arrived.Wait.
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.arrived.Broadcast()
	})
	defer stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if m, ok := b.take(to); ok {
			return m, nil
		}
		if err := ctx.Err(); err != nil {
			return sms.Message{}, fmt.Errorf("smstest: no message to %s: %w", to, err)
		}
		b.arrived.Wait()
	}
}

// take claims the oldest unreturned message to to; b.mu must be held.
func (b *inbox) take(to string) (sms.Message, bool) {
	for i, m := range b.msgs {
		if !b.taken[i] && m.To == to {
			b.taken[i] = true
			return m, true
		}
	}
	return sms.Message{}, false
}

// FailNext makes the next n deliveries that pass authentication fail with
// the HTTP status, without recording them.
func (b *inbox) FailNext(n, status int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failLeft, b.failStatus = n, status
}

// failing returns the status the current delivery must fail with, or 0 if
// it may go through.
func (b *inbox) failing() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failLeft <= 0 {
		return 0
	}
	b.failLeft--
	return b.failStatus
}

func (b *inbox) add(m sms.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
	b.taken = append(b.taken, false)
	b.arrived.Broadcast()
}
