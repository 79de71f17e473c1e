package outbox_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/outbox"
)

// TestListAndSweep: List tells the three states apart, newest first; Sweep
// deletes a delivered message after a week and a given-up one after 30
// days, and never a pending one.
func TestListAndSweep(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		clk := newClock()
		o := outbox.New(d, quiet, clk.Now)
		ok := &recorder{}
		bad := &recorder{fail: []error{outbox.Permanent(errTransient)}}
		o.Register("ok", ok, outbox.Policy{Retry: retryTwice})
		o.Register("bad", bad, outbox.Policy{Retry: retryTwice})
		enqueue(t, d, o, "ok", 1, true)
		clk.Advance(time.Millisecond)
		enqueue(t, d, o, "bad", 2, true)
		deliverDue(t, o)
		clk.Advance(time.Millisecond)
		o.Register("later", &recorder{}, outbox.Policy{Retry: retryTwice})
		enqueue(t, d, o, "later", 3, true) // not delivered: no round runs after it

		list := func(f outbox.Filter) []outbox.Entry {
			t.Helper()
			es, err := o.List(t.Context(), f)
			if err != nil {
				t.Fatalf("List(%+v): %v", f, err)
			}
			return es
		}
		all := list(outbox.Filter{})
		if len(all) != 3 || all[0].Kind != "later" || all[0].State != outbox.Pending || all[0].NextAttempt == nil ||
			all[1].Kind != "bad" || all[1].State != outbox.GivenUp || all[1].LastError == "" || all[1].Finished == nil ||
			all[2].Kind != "ok" || all[2].State != outbox.Delivered || all[2].Attempts != 1 {
			t.Fatalf("List = %+v", all)
		}
		if es := list(outbox.Filter{State: outbox.GivenUp}); len(es) != 1 || es[0].ID != all[1].ID {
			t.Errorf("given up = %+v", es)
		}
		if es := list(outbox.Filter{Kind: "ok"}); len(es) != 1 || es[0].ID != all[2].ID {
			t.Errorf("kind ok = %+v", es)
		}
		if es := list(outbox.Filter{Limit: 1}); len(es) != 1 || es[0].ID != all[0].ID {
			t.Errorf("limit 1 = %+v", es)
		}
		if _, err := o.List(t.Context(), outbox.Filter{State: "sent"}); !errs.Is(err, errs.Invalid, "invalid_state") {
			t.Errorf("unknown state: %v", err)
		}

		sweep := func() {
			t.Helper()
			if err := o.Sweep(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		sweep()
		if n := len(list(outbox.Filter{})); n != 3 {
			t.Fatalf("fresh messages swept: %d left", n)
		}
		clk.Advance(outbox.Retention.Delivered)
		sweep()
		if es := list(outbox.Filter{}); len(es) != 2 || es[0].Kind != "later" || es[1].Kind != "bad" {
			t.Fatalf("after a week: %+v, want the pending and the given-up one", es)
		}
		clk.Advance(outbox.Retention.GivenUp)
		sweep()
		if es := list(outbox.Filter{}); len(es) != 1 || es[0].Kind != "later" {
			t.Fatalf("after 37 days: %+v, want the pending one only", es)
		}
	})
}

// TestDepthsAndObserve: Depths counts each registered kind's pending
// messages and the age of its oldest, zero for a kind with none, and
// Observe is told every attempt's outcome.
func TestDepthsAndObserve(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		clk := newClock()
		o := outbox.New(d, quiet, clk.Now)
		var mu sync.Mutex
		var seen []string
		o.Observe = func(kind string, err error) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, fmt.Sprint(kind, " ", err == nil))
		}
		o.Register("ok", &recorder{}, outbox.Policy{Retry: retryTwice})
		o.Register("slow", &recorder{fail: []error{errTransient}}, outbox.Policy{Retry: retryTwice})
		o.Register("idle", &recorder{}, outbox.Policy{Retry: retryTwice})
		enqueue(t, d, o, "slow", 1, true)
		clk.Advance(time.Minute)
		enqueue(t, d, o, "slow", 2, true)
		enqueue(t, d, o, "ok", 3, true)
		if err := d.InTx(t.Context(), func(ctx context.Context, tx *db.Tx) error {
			return o.EnqueueAt(ctx, tx, "idle", 4, clk.Now().Add(time.Hour))
		}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(30 * time.Second)

		depths, err := o.Depths(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := []outbox.Depth{{Kind: "ok", Pending: 1, Oldest: 30 * time.Second}, {Kind: "slow", Pending: 2, Oldest: 90 * time.Second}, {Kind: "idle"}} // idle's message is not due yet
		if !slices.Equal(depths, want) {
			t.Errorf("Depths = %+v, want %+v", depths, want)
		}
		deliverDue(t, o) // ok delivered; one slow one fails and waits, the other is delivered
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(seen)
		if got := strings.Join(seen, ","); got != "ok true,slow false,slow true" {
			t.Errorf("observed %q", got)
		}
		depths, err = o.Depths(t.Context())
		if err != nil || depths[0].Pending != 0 || depths[0].Oldest != 0 || depths[1].Pending != 1 ||
			depths[1].Oldest != 30*time.Second && depths[1].Oldest != 90*time.Second {
			t.Errorf("after a round: %+v (%v)", depths, err)
		}
		clk.Advance(time.Hour)
		if depths, err = o.Depths(t.Context()); err != nil || depths[2].Pending != 1 || depths[2].Oldest != 30*time.Second {
			t.Errorf("idle, due 30 s ago: %+v (%v)", depths[2], err)
		}
		mu.Unlock()
		deliverDue(t, o)
		mu.Lock()
		if !slices.Contains(seen, "idle true") {
			t.Errorf("the message enqueued for later was not delivered once due: %q", seen)
		}
	})
}
