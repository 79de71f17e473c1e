package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/outbox"
)

// retryTwice fails a message for good at its third failed attempt.
var retryTwice = outbox.Schedule(time.Minute, 2*time.Minute)

// TestEnqueueDeliversCommittedOnly: a message queued in a transaction that
// rolls back is never delivered; one that commits is, once, with its id
// and payload; an unknown kind is refused at Enqueue.
func TestEnqueueDeliversCommittedOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		o := outbox.New(d, quiet, newClock().Now)
		r := &recorder{}
		o.Register("note", r, outbox.Policy{Retry: retryTwice})
		enqueue(t, d, o, "note", map[string]string{"text": "rolled back"}, false)
		if n := deliverDue(t, o); n != 0 || len(rows(t, d, "note")) != 0 {
			t.Fatalf("after a rolled-back Enqueue: %d claimed, rows %+v; want none", n, rows(t, d, "note"))
		}
		enqueue(t, d, o, "note", map[string]string{"text": "hello"}, true)
		if n := deliverDue(t, o); n != 1 {
			t.Fatalf("claimed %d, want 1", n)
		}
		deliverDue(t, o)
		got, stored := r.seen(), only(t, d, "note")
		if len(got) != 1 || got[0].ID != stored.id || got[0].Kind != "note" || got[0].Attempt != 1 ||
			payloadOf(t, got[0].Payload)["text"] != "hello" {
			t.Fatalf("delivered %+v, want one attempt of %s with its payload", got, stored.id)
		}
		if !stored.delivered || stored.givenUp || stored.attempts != 1 {
			t.Errorf("row after delivery: %+v, want delivered after 1 attempt", stored)
		}

		err := d.InTx(t.Context(), func(ctx context.Context, tx *db.Tx) error {
			return o.Enqueue(ctx, tx, "nobody", "x")
		})
		if !errors.Is(err, outbox.ErrUnknownKind) {
			t.Errorf("Enqueue of an unregistered kind: %v, want ErrUnknownKind", err)
		}
		if n := len(rows(t, d, "nobody")); n != 0 {
			t.Errorf("%d rows of the unregistered kind", n)
		}
	})
}

// TestRunWakesAfterCommit: Run, which would not poll for an hour, delivers
// a message as soon as its transaction commits.
func TestRunWakesAfterCommit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		o := outbox.New(d, quiet, time.Now)
		o.Poll = time.Hour
		got := make(chan outbox.Message, 1)
		o.Register("note", deliverFunc(func(_ context.Context, m outbox.Message) error { got <- m; return nil }),
			outbox.Policy{Retry: retryTwice})
		run(t, o)
		enqueue(t, d, o, "note", "now", true)
		select {
		case m := <-got:
			if string(m.Payload) != `"now"` {
				t.Errorf("payload %s", m.Payload)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the committed message was not delivered: Run was not woken")
		}
	})
}

// TestRunClaimsAsWorkersFree: Run claims a kind's next message as soon as
// one of its workers is free, not once the whole batch is done, and a kind
// whose workers all hang holds up no other kind.
func TestRunClaimsAsWorkersFree(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		clk := newClock()
		o := outbox.New(d, quiet, clk.Now)
		o.Poll, o.Workers = time.Hour, 2
		started, delivered := make(chan string, 4), make(chan string, 4)
		deliver := deliverFunc(func(ctx context.Context, m outbox.Message) error {
			var what string
			json.Unmarshal(m.Payload, &what)
			if what == "hang1" || what == "hang2" {
				started <- what
				<-ctx.Done()
				return ctx.Err()
			}
			delivered <- what
			return nil
		})
		o.Register("slow", deliver, outbox.Policy{Retry: retryTwice})
		o.Register("fast", deliver, outbox.Policy{Retry: retryTwice})
		for _, m := range []struct{ kind, what string }{{"slow", "hang1"}, {"slow", "quick"}, {"slow", "hang2"}, {"fast", "fast"}} {
			enqueue(t, d, o, m.kind, m.what, true)
			clk.Advance(time.Millisecond) // claimed in this order
		}
		run(t, o)
		got := map[string]bool{}
		for range 4 {
			select {
			case w := <-started:
				got[w] = true
			case w := <-delivered:
				got[w] = true
			case <-time.After(10 * time.Second):
				t.Fatalf("only %v reached the deliverer; want hang1 and hang2 hanging, quick and fast delivered", got)
			}
		}
	})
}

type deliverFunc func(context.Context, outbox.Message) error

func (f deliverFunc) Deliver(ctx context.Context, m outbox.Message) error { return f(ctx, m) }

// TestAtLeastOnceAcrossACrash: a process that claims a message and dies
// (here: hangs) mid-attempt holds it only until its lease runs out; then
// another claims and delivers it, and the first one's late outcome does not
// overwrite the second's.
func TestAtLeastOnceAcrossACrash(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		clk := newClock()
		started, release := make(chan struct{}), make(chan struct{})
		a := outbox.New(d, quiet, clk.Now)
		a.Register("note", deliverFunc(func(context.Context, outbox.Message) error {
			close(started)
			<-release
			return errTransient // the hung attempt ends, failed, after the other delivered
		}), outbox.Policy{Retry: retryTwice})
		b := outbox.New(d, quiet, clk.Now)
		rb := &recorder{}
		b.Register("note", rb, outbox.Policy{Retry: retryTwice})
		enqueue(t, d, a, "note", "x", true)

		aDone := make(chan int)
		go func() { n, _ := a.DeliverDue(context.Background()); aDone <- n }()
		<-started
		if n := deliverDue(t, b); n != 0 {
			t.Fatalf("the other process claimed %d messages while the lease held", n)
		}
		clk.Advance(a.Lease + time.Millisecond)
		if n := deliverDue(t, b); n != 1 || len(rb.seen()) != 1 || rb.seen()[0].Attempt != 2 {
			t.Fatalf("after the lease ran out the other process claimed %d, delivered %+v; want attempt 2", n, rb.seen())
		}
		close(release)
		<-aDone
		if r := only(t, d, "note"); !r.delivered || r.attempts != 2 || r.lastError != "" {
			t.Errorf("row %+v: want delivered after 2 attempts, the hung attempt's failure not recorded", r)
		}
	})
}

// TestInstancesNeverDeliverARowAtOnce: eight outboxes on one store, their
// claims let loose together, deliver every message exactly once and never
// one message in two of them at the same time. (On PostgreSQL, without
// SKIP LOCKED's row locks, claims that overlap took the same rows.)
func TestInstancesNeverDeliverARowAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		const n, instances = 256, 8
		var mu sync.Mutex
		inFlight, deliveries := map[string]int{}, map[string]int{}
		overlaps := 0
		deliver := deliverFunc(func(_ context.Context, m outbox.Message) error {
			mu.Lock()
			inFlight[m.ID]++
			overlaps += inFlight[m.ID] - 1
			mu.Unlock()
			time.Sleep(time.Millisecond) // widen the window another claim would need
			mu.Lock()
			defer mu.Unlock()
			inFlight[m.ID]--
			deliveries[m.ID]++
			return nil
		})
		var boxes []*outbox.Outbox
		for range instances {
			o := outbox.New(d, quiet, time.Now)
			o.Register("note", deliver, outbox.Policy{Retry: retryTwice})
			boxes = append(boxes, o)
		}
		for i := range n {
			enqueue(t, d, boxes[0], "note", i, true)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for _, o := range boxes {
			wg.Go(func() {
				<-start
				for {
					if n, err := o.DeliverDue(context.Background()); n == 0 || err != nil {
						if err != nil {
							t.Error(err)
						}
						return
					}
				}
			})
		}
		close(start)
		wg.Wait()
		if overlaps != 0 {
			t.Errorf("%d deliveries overlapped another of the same message", overlaps)
		}
		dups := 0
		for _, c := range deliveries {
			dups += c - 1
		}
		if len(deliveries) != n || dups != 0 {
			t.Errorf("%d messages delivered, %d of them more than once; want %d, each once", len(deliveries), dups, n)
		}
		for _, r := range rows(t, d, "note") {
			if !r.delivered || r.attempts != 1 {
				t.Errorf("row %+v: want delivered after 1 attempt", r)
			}
		}
	})
}

// TestBackoffAndGiveUpPerKind: each kind waits and gives up on its own
// Retry; a permanent failure gives up at once; a RetryAfter waits at least
// what the receiver asked.
func TestBackoffAndGiveUpPerKind(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		clk := newClock()
		o := outbox.New(d, quiet, clk.Now)
		slow := &recorder{fail: []error{errTransient, errTransient, errTransient, errTransient}}
		fast := &recorder{fail: []error{errTransient, errTransient}}
		perm := &recorder{fail: []error{outbox.Permanent(errors.New("rejected"))}}
		after := &recorder{fail: []error{outbox.RetryAfter(errTransient, time.Hour), outbox.RetryAfter(errTransient, time.Second)}}
		o.Register("slow", slow, outbox.Policy{Retry: retryTwice})
		o.Register("fast", fast, outbox.Policy{Retry: outbox.Schedule(10 * time.Second)})
		o.Register("perm", perm, outbox.Policy{Retry: retryTwice})
		o.Register("after", after, outbox.Policy{Retry: retryTwice})
		for _, k := range []string{"slow", "fast", "perm", "after"} {
			enqueue(t, d, o, k, k, true)
		}
		t0 := clk.Now()
		deliverDue(t, o)
		want := func(kind string, attempts int, next time.Time, givenUp bool) {
			t.Helper()
			r := only(t, d, kind)
			if r.attempts != attempts || r.givenUp != givenUp || r.delivered || !givenUp && !r.next.Equal(next) || r.lastError == "" {
				t.Errorf("%s at %v: %+v; want %d attempts, given up %v, next %v, the error kept",
					kind, clk.Now().Sub(t0), r, attempts, givenUp, next.Sub(t0))
			}
		}
		want("slow", 1, t0.Add(time.Minute), false)
		want("fast", 1, t0.Add(10*time.Second), false)
		want("perm", 1, time.Time{}, true)
		want("after", 1, t0.Add(time.Hour), false)

		clk.Advance(10 * time.Second)
		if n := deliverDue(t, o); n != 1 {
			t.Fatalf("at 10 s claimed %d, want fast's second attempt only", n)
		}
		want("fast", 2, time.Time{}, true)
		clk.Advance(50 * time.Second)
		deliverDue(t, o)
		want("slow", 2, t0.Add(3*time.Minute), false)
		clk.Advance(2 * time.Minute)
		deliverDue(t, o)
		want("slow", 3, time.Time{}, true)
		clk.Advance(57 * time.Minute) // t0 + 1 h: after's second attempt, whose own wait (1 s) is shorter than the kind's
		deliverDue(t, o)
		want("after", 2, t0.Add(time.Hour+2*time.Minute), false)
		if got := len(slow.seen()) + len(fast.seen()) + len(perm.seen()) + len(after.seen()); got != 3+2+1+2 {
			t.Errorf("%d attempts in all, want 8", got)
		}
	})
}

// TestReplay: a given-up message, payload kept, is made due again by
// Replay, with its id, and delivered; Replay refuses a message that is not
// given up, an unknown one and one whose kind erases its payload.
func TestReplay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		clk := newClock()
		o := outbox.New(d, quiet, clk.Now)
		r := &recorder{fail: []error{errTransient, errTransient, errTransient}}
		o.Register("note", r, outbox.Policy{Retry: outbox.Schedule(time.Second)})
		secret := &recorder{fail: []error{outbox.Permanent(errTransient)}}
		o.Register("code", secret, outbox.Policy{Retry: retryTwice, Erase: eraseAll})
		enqueue(t, d, o, "note", map[string]int{"n": 7}, true)
		enqueue(t, d, o, "code", "123456", true)
		deliverDue(t, o)
		clk.Advance(time.Second)
		deliverDue(t, o)
		gaveUp := only(t, d, "note")
		if !gaveUp.givenUp || payloadOf(t, []byte(gaveUp.payload))["n"] != 7.0 {
			t.Fatalf("row %+v: want given up with its payload kept", gaveUp)
		}
		notFound := func(id string) {
			t.Helper()
			if err := o.Replay(t.Context(), id); !errs.Is(err, errs.NotFound, "outbox_message_not_found") {
				t.Errorf("Replay(%s) = %v, want outbox_message_not_found", id, err)
			}
		}
		notFound("note_unknown")
		notFound(only(t, d, "code").id)
		if only(t, d, "code").payload != `{}` {
			t.Errorf("erased payload %q, want {}", only(t, d, "code").payload)
		}

		clk.Advance(time.Hour)
		if err := o.Replay(t.Context(), gaveUp.id); err != nil {
			t.Fatalf("Replay: %v", err)
		}
		notFound(gaveUp.id) // due now, not given up
		deliverDue(t, o)    // fails: the third scripted error
		clk.Advance(time.Second)
		deliverDue(t, o)
		seen := r.seen()
		if len(seen) != 4 || seen[2].Attempt != 1 || seen[3].Attempt != 2 || seen[3].ID != gaveUp.id {
			t.Fatalf("attempts %+v: want 2, then 2 more counted from 1 after the replay, all of %s", seen, gaveUp.id)
		}
		if got := only(t, d, "note"); !got.delivered || got.givenUp || got.attempts != 2 || got.payload != gaveUp.payload {
			t.Errorf("after the replay: %+v, want delivered on its second attempt, payload kept", got)
		}
		notFound(gaveUp.id) // delivered
	})
}

func eraseAll(json.RawMessage) json.RawMessage { return json.RawMessage(`{}`) }

func TestExponential(t *testing.T) {
	retry := outbox.Exponential(time.Second, time.Minute, 8)
	for n, want := range map[int]time.Duration{1: time.Second, 3: 4 * time.Second, 7: time.Minute, 100: time.Minute} {
		got, _ := retry(n)
		if got < want*8/10 || got > want*12/10 {
			t.Errorf("retry(%d) waits %v, want %v ±20%%", n, got, want)
		}
	}
	for n, want := range map[int]bool{1: true, 7: true, 8: false, 9: false} {
		if _, again := retry(n); again != want {
			t.Errorf("retry(%d) again = %v, want %v (8 attempts in all)", n, again, want)
		}
	}
}

func TestSchedule(t *testing.T) {
	retry := outbox.Schedule(5*time.Second, time.Minute)
	for n, want := range []struct {
		wait  time.Duration
		again bool
	}{{0, false}, {5 * time.Second, true}, {time.Minute, true}, {0, false}} {
		if wait, again := retry(n); wait != want.wait || again != want.again {
			t.Errorf("retry(%d) = %v, %v; want %v, %v", n, wait, again, want.wait, want.again)
		}
	}
}

func TestPermanentAndRetryAfterKeepTheirCause(t *testing.T) {
	cause := fmt.Errorf("cause")
	for _, err := range []error{outbox.Permanent(cause), outbox.RetryAfter(cause, time.Second)} {
		if !errors.Is(err, cause) || err.Error() != "cause" {
			t.Errorf("%v: want the cause's text and chain", err)
		}
	}
	if !errors.Is(outbox.Permanent(cause), outbox.ErrPermanent) || errors.Is(outbox.RetryAfter(cause, 0), outbox.ErrPermanent) {
		t.Error("only Permanent is ErrPermanent")
	}
}
