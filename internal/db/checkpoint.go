package db

import (
	"context"
	"database/sql"
	"time"
)

// checkpointInterval is how often the WAL is copied back into the database.
const checkpointInterval = time.Second

// checkpointer copies SQLite's write-ahead log into the database file from a
// connection of its own. Left to SQLite, the checkpoint runs inside whichever
// commit crosses the WAL's size threshold, fsyncs there, and every writer
// queued behind that commit waits for the disk (the p99 of short writes was
// tens of milliseconds). A PASSIVE checkpoint here never blocks the writer.
type checkpointer struct {
	db   *sql.DB
	quit chan struct{}
	done chan struct{}
}

func newCheckpointer(conn *sql.DB) *checkpointer {
	c := &checkpointer{db: conn, quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
			// A failure (the file busy, say) is retried at the next tick;
			// until a checkpoint succeeds the WAL only grows.
			c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// close stops the ticker, folds the whole WAL into the database and closes
// the connection.
func (c *checkpointer) close() error {
	close(c.quit)
	<-c.done
	c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
	return c.db.Close()
}
