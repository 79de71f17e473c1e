package main

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

const mib = 1 << 20

// idleStats are what holding idle streams on one server cost it.
type idleStats struct {
	Connections  int     `json:"connections"` // established: headers and first bytes received
	Failed       int     `json:"failed"`      // could not be established
	Dropped      int     `json:"dropped"`     // ended by the server while held
	RSSBeforeMiB float64 `json:"rss_before_mib"`
	RSSAfterMiB  float64 `json:"rss_after_mib"` // with every connection established
	PerConnKiB   float64 `json:"per_conn_kib"`  // (after - before) / connections
	FirstErr     string  `json:"first_error,omitempty"`
}

// sseIdle: e.opt.idle streams held on each server in turn, Linkbox's spread
// over the users and all on its first instance, and the servers' resident
// memory with them open.
func sseIdle(ctx context.Context, e *env) (result, error) {
	r := result{Scenario: scSSEIdle, Target: "≤ 300 MiB, ≤ 110 % of bare, none dropped", RatioOf: "rss"}
	lb, err := holdIdle(ctx, e, e.a)
	if err != nil {
		return r, fmt.Errorf("linkbox: %w", err)
	}
	bare, err := holdIdle(ctx, e, e.bare)
	if err != nil {
		return r, fmt.Errorf("bare: %w", err)
	}
	r.LinkboxIdle, r.BareIdle = &lb, &bare
	r.Ratio = ratio(lb.RSSAfterMiB, bare.RSSAfterMiB)
	clean := lb.Failed == 0 && lb.Dropped == 0 && lb.Connections == e.opt.idle
	r.Met = verdict(len(e.a.pids) > 0 && clean && lb.RSSAfterMiB <= 300 && r.Ratio <= 1.10)
	r.Note = fmt.Sprintf("held %v; RSS of the server process, total with all connections open", e.opt.hold)
	return r, nil
}

// holdIdle opens the streams, reads the server's RSS before and after,
// holds them e.opt.hold and counts those the server ended.
func holdIdle(ctx context.Context, e *env, t *target) (idleStats, error) {
	var st idleStats
	before, err := rssOf(t)
	if err != nil {
		return st, err
	}
	var (
		closing, dropped, failed atomic.Int64
		mu                       sync.Mutex
		conns                    []*sseConn
		firstErr                 error
		readers                  sync.WaitGroup
	)
	_ = parallel(ctx, e.opt.idle, dialWorkers, func(ctx context.Context, i int) error {
		c, err := openIdle(ctx, e, t, e.fx.users[i%len(e.fx.users)])
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed.Add(1)
			firstErr = cmp.Or(firstErr, err)
			return nil
		}
		conns = append(conns, c)
		readers.Go(func() {
			drain(c)
			if closing.Load() == 0 {
				dropped.Add(1)
			}
		})
		return nil
	})
	after, err := rssOf(t)
	if err != nil {
		return st, err
	}
	hold(ctx, e.opt.hold)
	st.Dropped = int(dropped.Load())
	closing.Store(1)
	for _, c := range conns {
		c.Close()
	}
	readers.Wait()
	st.Connections, st.Failed = len(conns), int(failed.Load())
	st.RSSBeforeMiB, st.RSSAfterMiB = float64(before)/mib, float64(after)/mib
	if st.Connections > 0 {
		st.PerConnKiB = float64(after-before) / 1024 / float64(st.Connections)
	}
	if firstErr != nil {
		st.FirstErr = firstErr.Error()
	}
	return st, ctx.Err()
}

// openIdle opens u's stream on t and waits for its first bytes, which the
// server sends once the stream is set up.
func openIdle(ctx context.Context, e *env, t *target, u benchUser) (*sseConn, error) {
	c, err := openStream(ctx, e, t, u)
	if err != nil {
		return nil, err
	}
	var b [1]byte
	_ = c.conn.SetReadDeadline(time.Now().Add(sseConnectTimeout))
	if _, err := c.body.Read(b[:]); err != nil {
		c.Close()
		return nil, fmt.Errorf("first bytes: %w", err)
	}
	_ = c.conn.SetReadDeadline(time.Time{})
	return c, nil
}

// drain reads c, in a small buffer, until it ends.
func drain(c *sseConn) {
	var b [64]byte
	for {
		if _, err := c.body.Read(b[:]); err != nil {
			return
		}
	}
}

// hold waits d, or less if ctx ends.
func hold(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// rssOf is the resident memory of t's processes, 0 when they are unknown.
func rssOf(t *target) (int64, error) {
	var sum int64
	for _, pid := range t.pids {
		n, err := readRSS(pid)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}
