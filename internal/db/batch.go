package db

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// maxBatch bounds the transactions committed together.
const maxBatch = 64

// errClosed is returned by InTx once the store is closed.
var errClosed = errors.New("db: store closed")

// batcher commits SQLite transactions in groups. SQLite has one writer, so
// transactions queue for it anyway; running the queued ones inside a single
// BEGIN … COMMIT, each in a savepoint of its own, keeps every transaction
// atomic and durable before InTx returns, while one commit — the costly
// part — serves them all.
type batcher struct {
	d       *DB
	observe func(size int) // Options.OnGroupCommit
	reqs    chan *txReq
	done    chan struct{}
	quit    chan struct{}
	// prepared says the savepoint statements are in the store's
	// statement cache: unprepared, SQLite parsed two of them per
	// transaction of a group.
	prepared bool
	// gate is held while a group writes, and by the checkpointer while it
	// makes the WAL start over, which needs SQLite's write lock: left to
	// compete for that lock, the checkpointer lost it to the writer, which
	// takes it again the moment it commits, and the WAL grew on.
	gate sync.Mutex
}

// The savepoint statements of a group's transactions.
const (
	spBegin    = "SAVEPOINT batch"
	spRollback = "ROLLBACK TO batch"
	spRelease  = "RELEASE batch"
)

// txReq is one caller's transaction waiting for the writer.
type txReq struct {
	ctx context.Context
	fn  func(context.Context, *Tx) error
	err chan error
	// tx is the caller's view of the group's transaction, with the hooks
	// its fn registered; set by the writer before it answers.
	tx *Tx
}

func newBatcher(d *DB, observe func(size int)) *batcher {
	b := &batcher{d: d, observe: observe, reqs: make(chan *txReq, maxBatch), done: make(chan struct{}), quit: make(chan struct{})}
	go b.run()
	return b
}

// do queues fn and waits for the commit of the group it ran in, then runs
// the hooks fn registered.
func (b *batcher) do(ctx context.Context, fn func(context.Context, *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &txReq{ctx: ctx, fn: fn, err: make(chan error, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.quit:
		return errClosed
	}
	// Once queued, fn may be running: wait for the outcome whatever ctx does.
	var err error
	select {
	case err = <-r.err:
	case <-b.done:
		// The writer has stopped; it answers before it stops, so an answer
		// not buffered by now will never come.
		select {
		case err = <-r.err:
		default:
			return errClosed
		}
	}
	if p, ok := err.(panicked); ok {
		panic(p.value) // in the caller's goroutine, as if fn had run there
	}
	if err == nil {
		r.tx.runHooks()
	}
	return err
}

// panicked carries a panic of fn from the writer back to its caller.
type panicked struct{ value any }

func (p panicked) Error() string { return fmt.Sprintf("db: panic in transaction: %v", p.value) }

func (b *batcher) close() {
	close(b.quit)
	<-b.done
}

func (b *batcher) run() {
	defer close(b.done)
	for {
		var group []*txReq
		select {
		case r := <-b.reqs:
			group = append(group, r)
		case <-b.quit:
			b.drain()
			return
		}
	more:
		for len(group) < maxBatch {
			select {
			case r := <-b.reqs:
				group = append(group, r)
			default:
				break more
			}
		}
		if !b.prepared && len(group) > 1 {
			b.prepare()
		}
		b.commit(group)
	}
}

// prepare puts the savepoint statements in the statement cache, at the
// first group that needs them: by then Open has set the store up, which a
// connection opened alongside could find locked. One that fails to prepare
// runs unprepared.
func (b *batcher) prepare() {
	for _, q := range []string{spBegin, spRollback, spRelease} {
		b.d.stmts.prepare(context.Background(), b.d.write, q)
	}
	b.prepared = true
}

// drain fails what was queued when the store closed.
func (b *batcher) drain() {
	for {
		select {
		case r := <-b.reqs:
			r.err <- errClosed
		default:
			return
		}
	}
}

// commit runs a group in one transaction and tells each caller its outcome.
func (b *batcher) commit(group []*txReq) {
	errs := make([]error, len(group))
	b.gate.Lock()
	_, err := b.d.inTx(context.Background(), func(_ context.Context, tx *Tx) error {
		if len(group) == 1 {
			if errs[0] = group[0].ctx.Err(); errs[0] == nil {
				errs[0] = runFn(group[0], tx)
			}
			return errs[0]
		}
		for i, r := range group {
			if errs[i] = r.ctx.Err(); errs[i] != nil {
				continue
			}
			if err := b.inSavepoint(r, tx, &errs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	b.gate.Unlock()
	if b.observe != nil {
		b.observe(len(group))
	}
	for i, r := range group {
		if errs[i] == nil && err != nil {
			errs[i] = err
		}
		r.err <- errs[i]
	}
}

// inSavepoint runs one caller's fn so that its failure undoes only its own
// writes; the error returned is the savepoint machinery's own, which dooms
// the whole group.
func (b *batcher) inSavepoint(r *txReq, tx *Tx, fnErr *error) error {
	if err := b.exec(tx, spBegin); err != nil {
		*fnErr = err
		return nil
	}
	*fnErr = runFn(r, tx)
	if *fnErr != nil {
		if err := b.exec(tx, spRollback); err != nil {
			return fmt.Errorf("db: rollback to savepoint: %w", err)
		}
	}
	if err := b.exec(tx, spRelease); err != nil {
		return fmt.Errorf("db: release savepoint: %w", err)
	}
	return nil
}

// exec runs savepoint statement q in tx.
func (b *batcher) exec(tx *Tx, q string) error {
	var err error
	if st := b.d.stmts.load(b.d.write, q); st != nil {
		_, err = tx.tx.Stmt(st).Exec()
	} else {
		_, err = tx.tx.Exec(q)
	}
	return err
}

// runFn runs a caller's fn on a Tx of its own over the group's transaction,
// so that its hooks are its own. A panic is caught — the writer serves
// everyone and must survive one caller's bug — and raised again in the
// caller.
func runFn(r *txReq, group *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicked{p}
		}
	}()
	r.tx = &Tx{tx: group.tx, db: group.db}
	return r.fn(r.ctx, r.tx)
}
