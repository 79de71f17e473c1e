package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"
)

const (
	// deliveryGrace is how long events sent in a turn may take to arrive
	// before they count as lost.
	deliveryGrace = 2 * time.Second
	// senders bound the notification requests in flight at once.
	senders = 8
	// dialWorkers bound the streams being opened at once, below the
	// listen backlog.
	dialWorkers = 128
)

// tracker matches received events to the notifications sent.
type tracker struct {
	mu      sync.Mutex
	pending map[uint64]time.Time // nonce → when its request was sent
	lat     []time.Duration
	drained chan struct{} // closed when pending empties, while settle waits
}

func newTracker() *tracker { return &tracker{pending: map[uint64]time.Time{}} }

func (t *tracker) sent(nonce uint64, at time.Time) {
	t.mu.Lock()
	t.pending[nonce] = at
	t.mu.Unlock()
}

func (t *tracker) forget(nonce uint64) {
	t.mu.Lock()
	delete(t.pending, nonce)
	t.mu.Unlock()
}

// received is a stream's onData: it times the event whose nonce data holds.
func (t *tracker) received(data []byte) {
	now := time.Now()
	nonce, ok := findNonce(data)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.pending[nonce]
	if !ok {
		return
	}
	delete(t.pending, nonce)
	t.lat = append(t.lat, now.Sub(at))
	if len(t.pending) == 0 && t.drained != nil {
		close(t.drained)
		t.drained = nil
	}
}

// settle waits until every sent event arrived or deliveryGrace passed, then
// returns the latencies and how many never arrived, and starts afresh.
func (t *tracker) settle(ctx context.Context) ([]time.Duration, int) {
	t.mu.Lock()
	if len(t.pending) > 0 {
		drained := make(chan struct{})
		t.drained = drained
		t.mu.Unlock()
		select {
		case <-drained:
		case <-time.After(deliveryGrace):
		case <-ctx.Done():
		}
		t.mu.Lock()
	}
	defer t.mu.Unlock()
	lat, lost := t.lat, len(t.pending)
	t.lat, t.pending, t.drained = nil, map[uint64]time.Time{}, nil
	return lat, lost
}

// sseLeg is one way notify-sse measures: notifications posted to pub, their
// events read on users' streams on sub.
type sseLeg struct {
	name     string
	pub, sub *target
	users    []benchUser
	tr       *tracker
}

// notifySSE: notifications at a steady rate to random subscribed users, each
// timed from its request to its event's arrival on the user's stream. With
// two instances, Linkbox's figure is the cross-instance one (published on A,
// read on B) and the single-instance one (A to A, other users) is measured
// in turn beside it, both with every stream of both open.
func notifySSE(ctx context.Context, e *env) (result, error) {
	r := result{Scenario: scNotifySSE, Target: "p99 ≤ 5 ms, 1,000 subscribers", RatioOf: "p99"}
	n := min(e.opt.subscribers, len(e.fx.users))
	legs := []sseLeg{{name: "linkbox", pub: e.a, sub: e.a, users: e.fx.users[:n]}}
	if e.b != nil {
		r.Target = "cross-instance p99 ≤ 2× single-instance p99"
		single := e.fx.users[n:min(2*n, len(e.fx.users))]
		legs = []sseLeg{{"linkbox A → B", e.a, e.b, e.fx.users[:n], nil}, {"linkbox A → A", e.a, e.a, single, nil}}
	}
	legs = append(legs, sseLeg{name: "bare", pub: e.bare, sub: e.bare, users: e.fx.users[:n]})
	var ls []leg
	for i := range legs {
		l := &legs[i]
		l.tr = newTracker()
		streams, err := subscribe(ctx, e, l.sub, l.users, l.tr)
		if err != nil {
			return r, err
		}
		defer streams.close()
		ls = append(ls, leg{l.name, func(ctx context.Context, d time.Duration) (sample, error) {
			return e.sendAtRate(ctx, l.pub, l.users, l.tr, d), nil
		}})
	}
	s, err := turns(ctx, e, ls)
	r.Linkbox, r.Bare = summarize(s[0]), summarize(s[len(s)-1])
	r.Ratio = ratio(r.Linkbox.P99Ms, r.Bare.P99Ms)
	r.Note = fmt.Sprintf("%d subscribers per server, %d notifications/s; ops/s = events received", n, e.opt.rate)
	if e.b == nil {
		r.Met = verdict(r.Linkbox.Failed == 0 && r.Linkbox.P99Ms <= 5 && n >= 1000)
		return r, err
	}
	single := summarize(s[1])
	r.Single, r.CrossRatio = &single, ratio(r.Linkbox.P99Ms, single.P99Ms)
	r.Met = verdict(r.Linkbox.Failed == 0 && single.Failed == 0 && r.CrossRatio <= 2)
	r.Note = fmt.Sprintf("%d subscribers on each of A (single) and B (cross) and on bare, %d notifications/s, all posted to A; ops/s = events received", n, e.opt.rate)
	return r, err
}

// sendAtRate posts notifications at e.opt.rate for d to random users, and
// returns the delivery times. A tick finding every sender busy is skipped
// rather than queued, so a slow server cannot build a backlog that the next
// turn would measure.
func (e *env) sendAtRate(ctx context.Context, t *target, users []benchUser, tr *tracker, d time.Duration) sample {
	var rec recorder
	ticks := make(chan struct{})
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for range ticks {
				e.notify(ctx, t, users[rand.IntN(len(users))], tr, &rec)
			}
		})
	}
	start := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(e.opt.rate))
	stop := time.NewTimer(d)
	skipped := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-stop.C:
			break loop
		case <-tick.C:
			select {
			case ticks <- struct{}{}:
			default:
				skipped++
			}
		}
	}
	tick.Stop()
	close(ticks)
	wg.Wait()
	lat, lost := tr.settle(ctx)
	s := rec.s
	s.lat, s.elapsed = lat, time.Since(start)
	if lost > 0 {
		s.failed += lost
		s.firstErr = fmt.Errorf("%d events not received within %v", lost, deliveryGrace)
	}
	if skipped > 0 && s.firstErr == nil {
		s.firstErr = fmt.Errorf("%d sends skipped: all %d senders busy", skipped, senders)
	}
	return s
}

// notify sends one notification to u and records it with tr.
func (e *env) notify(ctx context.Context, t *target, u benchUser, tr *tracker, rec *recorder) {
	nonce := e.nonce.Add(1)
	path := "/api/notification"
	if !e.isLinkbox(t) {
		path = barePublishPath
	}
	body := mustJSON(bareBody{UserID: u.ext, Message: benchMessage(nonce)})
	tr.sent(nonce, time.Now())
	b, err := t.do(ctx, http.MethodPost, path, body, e.fx.apiHeader())
	if err := expect(b, err, `"success":true`); err != nil {
		tr.forget(nonce)
		rec.fail(err)
	}
}

// streamSet is a scenario's open streams and their reading goroutines.
type streamSet struct {
	mu    sync.Mutex
	conns []*sseConn
	wg    sync.WaitGroup
}

func (s *streamSet) close() {
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// subscribe opens a stream on t for each of users, each feeding tr.
func subscribe(ctx context.Context, e *env, t *target, users []benchUser, tr *tracker) (*streamSet, error) {
	set := &streamSet{}
	err := parallel(ctx, len(users), dialWorkers, func(ctx context.Context, i int) error {
		c, err := openStream(ctx, e, t, users[i])
		if err != nil {
			return err
		}
		set.mu.Lock()
		set.conns = append(set.conns, c)
		set.mu.Unlock()
		set.wg.Go(func() { _ = c.events(tr.received) })
		return nil
	})
	if err != nil {
		set.close()
		return nil, fmt.Errorf("%s: subscribe: %w", t.name, err)
	}
	return set, nil
}

// openStream opens u's stream on t: the inbox stream with u's access token
// on Linkbox, the hub's stream of u on bare.
func openStream(ctx context.Context, e *env, t *target, u benchUser) (*sseConn, error) {
	if e.isLinkbox(t) {
		return dialSSE(ctx, t.base(), "/v1/inbox/stream", http.Header{"Authorization": {"Bearer " + u.token}})
	}
	return dialSSE(ctx, t.base(), bareStreamPath+"?user="+url.QueryEscape(u.ext), http.Header{})
}
