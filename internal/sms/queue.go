package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/outbox"
)

// Kind is the outbox kind of an SMS.
const Kind = "sms"

// DefaultRetry is how a failed SMS is retried: waits doubling from 1 s to
// 5 min, 8 attempts in all. A code is dead after 10 minutes; retrying for
// longer would only send a dead one.
func DefaultRetry() outbox.Retry {
	return outbox.Exponential(time.Second, 5*time.Minute, 8)
}

// Queue is the door of every SMS into the durable outbox: Enqueue, under
// the Budget, writes it inside the caller's transaction, and the outbox
// delivers it through the Sender afterwards.
type Queue struct {
	outbox *outbox.Outbox
	// Budget, when set, is consulted by Enqueue before each message: every
	// SMS, whichever door asks for it, goes through Enqueue.
	Budget *Budget
}

// NewQueue registers kind "sms" with o, delivered through s and retried per
// retry (DefaultRetry when nil), and returns the Queue that enqueues it.
// Once an SMS is sent or given up, its body, which holds a code, is erased
// from the store.
func NewQueue(o *outbox.Outbox, s Sender, retry outbox.Retry) *Queue {
	if retry == nil {
		retry = DefaultRetry()
	}
	o.Register(Kind, deliverer{s}, outbox.Policy{Retry: retry, Erase: eraseBody})
	return &Queue{outbox: o}
}

// payload is an SMS as the outbox keeps it; Body is dropped when erased.
type payload struct {
	To   string `json:"to"`
	Body string `json:"body,omitempty"`
}

// Enqueue queues a message to to inside the transaction tx that decides to
// send it; the outbox is woken once tx has committed. When the Budget
// refuses the message, Enqueue writes nothing and returns the refusal, an
// *errs.Error (sms_country_not_allowed, sms_budget_exhausted): return it,
// so that the transaction rolls back whole and the client learns why.
func (q *Queue) Enqueue(ctx context.Context, tx *db.Tx, to, body string) error {
	if q.Budget != nil {
		if err := q.Budget.Take(ctx, to); err != nil {
			return err
		}
	}
	if err := q.outbox.Enqueue(ctx, tx, Kind, payload{To: to, Body: body}); err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	return nil
}

// deliverer sends the outbox's SMS through a Sender, whose ErrPermanent
// gives a message up.
type deliverer struct{ sender Sender }

func (d deliverer) Deliver(ctx context.Context, m outbox.Message) error {
	var p payload
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return outbox.Permanent(fmt.Errorf("sms: payload of %s: %w", m.ID, err))
	}
	err := d.sender.Send(ctx, Message{ID: m.ID, To: p.To, Body: p.Body})
	if errors.Is(err, ErrPermanent) {
		return outbox.Permanent(err)
	}
	return err
}

// eraseBody keeps only an SMS's recipient.
func eraseBody(raw json.RawMessage) json.RawMessage {
	var p payload
	if json.Unmarshal(raw, &p) != nil {
		return json.RawMessage(`{}`)
	}
	out, _ := json.Marshal(payload{To: p.To}) // a struct of strings always encodes
	return out
}
