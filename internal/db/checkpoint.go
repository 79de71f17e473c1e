package db

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

const (
	// checkpointInterval is how often the WAL is copied back into the
	// database.
	checkpointInterval = time.Second
	// checkpointBusyTimeout bounds how long a RESTART checkpoint waits for
	// the writer's transaction to end and then for readers of older
	// snapshots to finish. The writer waits for it meanwhile, so it is
	// short: a reader that takes longer fails this checkpoint, not the
	// requests, and the next tick tries again.
	checkpointBusyTimeout = 100 * time.Millisecond
	// checkpointWarnEvery bounds the warnings about checkpoints that
	// cannot finish: one per interval, with the count of the others.
	checkpointWarnEvery = time.Minute
	// walFrameHeader is the size of a WAL frame's header; a frame holds
	// one page after it.
	walFrameHeader = 24
)

// checkpointer copies SQLite's write-ahead log into the database file from a
// connection of its own. Left to SQLite, the checkpoint runs inside whichever
// commit crosses the WAL's size threshold, fsyncs there, and every writer
// queued behind that commit waits for the disk (the p99 of short writes was
// tens of milliseconds). A PASSIVE checkpoint here never blocks the writer.
//
// A PASSIVE checkpoint alone does not bound the WAL, though. The log starts
// over only when a writer finds it copied whole and no reader on it, and
// under steady writes there are always frames newer than the last copy:
// the WAL grew to 414 MB beside a 59 MB database in 40 s of load, and
// requests then stalled together for ≈ 830 ms. So once the WAL passes
// limit, a RESTART checkpoint holds the writer off while it copies the
// rest (little: the passive one ran just before) and waits, briefly, for
// the readers still on the log; the next commit then writes from the log's
// start and cuts the file to journal_size_limit. The writer is held off by
// the group commit's gate (see batcher.gate) rather than by SQLite's lock
// alone, for which the checkpoint competed in vain under load.
type checkpointer struct {
	db     *sql.DB
	writer sync.Locker // held off while the log is made to start over
	log    *slog.Logger
	limit  int64 // WAL bytes past which the log is made to start over
	// frameSize is the bytes one WAL frame takes, read at the first tick.
	frameSize int64
	lastWarn  time.Time
	unwarned  int // warnings withheld since lastWarn
	quit      chan struct{}
	done      chan struct{}
}

// ckptResult is what PRAGMA wal_checkpoint reports.
type ckptResult struct {
	busy   bool  // it could not finish: the writer or readers held on
	frames int64 // frames in the log
	copied int64 // of them, those now in the database file
}

// newCheckpointer starts checkpointing through conn, with opt's WALLimit
// (set) and Log; writer is the group commit's gate.
func newCheckpointer(conn *sql.DB, opt Options, writer sync.Locker) *checkpointer {
	c := &checkpointer{db: conn, writer: writer, log: opt.Log, limit: opt.WALLimit, quit: make(chan struct{}), done: make(chan struct{})}
	go c.run(cmp.Or(opt.checkpointEvery, checkpointInterval))
	return c
}

func (c *checkpointer) run(every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
			c.tick(context.Background())
		}
	}
}

// tick copies what it can without waiting and, once the log is over its
// limit, makes it start over. A checkpoint that cannot do so is logged and
// retried at the next tick; until one succeeds the WAL only grows.
func (c *checkpointer) tick(ctx context.Context) {
	r, err := c.checkpoint(ctx, "PASSIVE")
	if err == nil {
		var size int64
		if size, err = c.walSize(ctx, r.frames); err == nil && size <= c.limit {
			return
		}
	}
	if err == nil {
		c.writer.Lock() // the queued transactions wait, in Go, for this
		r, err = c.checkpoint(ctx, "RESTART")
		c.writer.Unlock()
	}
	if err != nil || r.busy {
		c.warn(err, r)
	}
}

// checkpoint runs a checkpoint in mode (PASSIVE, RESTART or TRUNCATE).
func (c *checkpointer) checkpoint(ctx context.Context, mode string) (ckptResult, error) {
	var r ckptResult
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&r.busy, &r.frames, &r.copied); err != nil {
		return r, fmt.Errorf("db: sqlite: %s checkpoint: %w", mode, err)
	}
	return r, nil
}

// walSize is the size of a log of frames frames.
func (c *checkpointer) walSize(ctx context.Context, frames int64) (int64, error) {
	if c.frameSize == 0 {
		var page int64
		if err := c.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&page); err != nil {
			return 0, fmt.Errorf("db: sqlite: page size: %w", err)
		}
		c.frameSize = walFrameHeader + page
	}
	return frames * c.frameSize, nil
}

// warn logs a checkpoint that could not make the log start over, at most
// once per checkpointWarnEvery.
func (c *checkpointer) warn(err error, r ckptResult) {
	if !c.lastWarn.IsZero() && time.Since(c.lastWarn) < checkpointWarnEvery {
		c.unwarned++
		return
	}
	attrs := []any{"wal_frames", r.frames, "frames_left", r.frames - r.copied, "limit_bytes", c.limit,
		"failures_since_last_warning", c.unwarned}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	c.log.Warn("SQLite checkpoint could not finish: readers or another process hold the WAL, which keeps growing", attrs...)
	c.lastWarn, c.unwarned = time.Now(), 0
}

// close stops the ticker, folds the whole WAL into the database and closes
// the connection.
func (c *checkpointer) close() error {
	close(c.quit)
	<-c.done
	c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
	return c.db.Close()
}
