package inbox_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/inbox"
	"github.com/linkbox/linkbox/internal/realtime"
)

// closeWithin is how soon a revoked stream must close, on every instance.
const closeWithin = time.Second

// openAs opens a stream with the token tok and reads its opening block.
func (e *env) openAs(t testing.TB, tok string) *sseClient {
	t.Helper()
	s := e.openStream(t, "", http.Header{"Authorization": {"Bearer " + tok}}, "")
	s.next(t)
	return s
}

// session opens a stream of userID's session and reads its opening block.
func (e *env) session(t testing.TB, userID, session string) *sseClient {
	t.Helper()
	return e.openAs(t, e.credential(inbox.Credential{UserID: userID, Session: session}, nil))
}

// revoke records, through svc over d, a revocation committed when it
// returns.
func revoke(t testing.TB, d *db.DB, svc *inbox.Service, userID, session string) {
	t.Helper()
	ctx := context.Background()
	if err := d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error { return svc.RevokeSessions(ctx, tx, userID, session) }); err != nil {
		t.Fatalf("RevokeSessions: %v", err)
	}
}

// wantClosed checks that s ends within closeWithin of since, sending
// nothing more.
func wantClosed(t testing.TB, s *sseClient, since time.Time) {
	t.Helper()
	if got := s.rest(t); len(got) != 0 {
		t.Fatalf("stream sent %+v, want its end", got)
	}
	if took := time.Since(since); took > closeWithin {
		t.Errorf("stream closed after %v, want within %v", took, closeWithin)
	}
}

// wantOpen checks that each stream in ss still gets userID's next message.
func wantOpen(t testing.TB, e *env, userID string, ss ...*sseClient) {
	t.Helper()
	id := e.add(t, note(userID, "still there?"))
	for _, s := range ss {
		wantMessage(t, s.nextMessage(t), id)
	}
}

func TestStreamRevoked(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user, other := e.newUser(t), e.newUser(t)
		a1, a2 := e.session(t, user, "fam_a"), e.session(t, user, "fam_a")
		b := e.session(t, user, "fam_b")
		theirs := e.session(t, other, "fam_a") // the same name, another user

		t0 := time.Now()
		revoke(t, e.db, e.svc, user, "fam_a")
		wantClosed(t, a1, t0)
		wantClosed(t, a2, t0)
		wantOpen(t, e, user, b)
		wantOpen(t, e, other, theirs)

		unknown := e.session(t, user, "") // no session known: any revocation may be its own
		t0 = time.Now()
		revoke(t, e.db, e.svc, user, "")
		wantClosed(t, b, t0)
		wantClosed(t, unknown, t0)
		wantOpen(t, e, other, theirs)
		waitStreams(t, e, 1)
	})
}

// TestStreamRevokedByAnotherProcess: a revocation recorded by another
// process over the same store (another instance, `linkbox users
// set-status`) closes the streams of this one; one rolled back closes none.
func TestStreamRevokedByAnotherProcess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		d := dbtest.Open(t, url)
		admin := inbox.NewService(d, e.keys, realtime.NewMemory(), slog.New(slog.DiscardHandler), e.clock.Now)
		user, other := e.newUser(t), e.newUser(t)
		kept, gone := e.session(t, user, "fam_kept"), e.session(t, other, "fam_gone")

		ctx := context.Background()
		rollback := errors.New("roll back")
		err := d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
			if err := admin.RevokeSessions(ctx, tx, user, ""); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("InTx = %v, want the rollback", err)
		}
		t0 := time.Now()
		revoke(t, d, admin, other, "fam_gone")
		wantClosed(t, gone, t0) // applied, and the rolled back one before it was not
		wantOpen(t, e, user, kept)
	})
}

// TestStreamRevocationsAtStart: the poller starts a few minutes back, so
// that streams opened before its first read still close for the
// revocations of that time; older ones are not applied again.
func TestStreamRevocationsAtStart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{noRun: true})
		user, other := e.newUser(t), e.newUser(t)
		revoke(t, e.db, e.svc, user, "fam_old")
		e.clock.Advance(5*time.Minute + time.Millisecond)
		kept := e.session(t, user, "fam_old")
		early := e.session(t, other, "fam_early") // opened before the poller first reads
		revoke(t, e.db, e.svc, other, "fam_early")
		t0 := time.Now()
		e.run(t)
		wantClosed(t, early, t0)
		wantOpen(t, e, user, kept)
	})
}

// TestStreamRevokedWhileAuthenticating: a revocation applied after the
// stream's credential was checked, before the stream was there to be
// closed, closes it as it opens.
func TestStreamRevokedWhileAuthenticating(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user := e.newUser(t)
		probe := e.session(t, user, "fam_probe")
		applied := make(chan error, 1)
		tok := e.credential(inbox.Credential{UserID: user, Session: "fam_late"}, func() {
			ctx := context.Background()
			err := e.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
				if err := e.svc.RevokeSessions(ctx, tx, user, "fam_late"); err != nil {
					return err
				}
				return e.svc.RevokeSessions(ctx, tx, user, "fam_probe")
			})
			if err == nil && !probe.ends(waitTimeout) { // the poller applied both
				err = errors.New("the probe stream stayed open")
			}
			applied <- err
		})
		s := e.openStream(t, "", http.Header{"Authorization": {"Bearer " + tok}}, "")
		if err := <-applied; err != nil {
			t.Fatal(err)
		}
		if got := s.rest(t); len(got) > 1 {
			t.Fatalf("stream sent %+v, want at most its opening, then its end", got)
		}
		waitStreams(t, e, 0)
	})
}

// TestRevocationsApplyInCommitOrder: a revocation whose transaction
// commits after a later one's is applied all the same. (PostgreSQL hands
// out ids as inserts come: without the lock, the later one would commit
// first and the poller would read past the earlier's id.)
func TestRevocationsApplyInCommitOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		early, late := e.newUser(t), e.newUser(t)
		earlyStream, lateStream := e.session(t, early, "fam_1"), e.session(t, late, "fam_2")
		ctx := context.Background()
		lateDone := make(chan error, 1)
		err := e.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
			if err := e.svc.RevokeSessions(ctx, tx, early, ""); err != nil {
				return err
			}
			go func() { // another request's transaction: not inside this one
				lateDone <- e.db.InTx(context.Background(), func(ctx context.Context, tx *db.Tx) error {
					return e.svc.RevokeSessions(ctx, tx, late, "")
				})
			}()
			// Long enough for the late one to commit and be polled, were
			// it not held back until this one commits.
			if lateStream.ends(600 * time.Millisecond) {
				return errors.New("the later revocation was applied before the earlier committed")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-lateDone; err != nil {
			t.Fatalf("late RevokeSessions: %v", err)
		}
		t0 := time.Now()
		wantClosed(t, earlyStream, t0)
		if !lateStream.ends(waitTimeout) {
			t.Fatal("the later revocation was not applied")
		}
	})
}

func TestStreamClosesAtExpiry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{heartbeat: 5 * time.Millisecond})
		user := e.newUser(t)
		past := e.openAs(t, e.credential(inbox.Credential{UserID: user, Expires: e.clock.Now()}, nil))
		if got := past.rest(t); len(got) != 0 {
			t.Fatalf("stream of an expired credential sent %+v, want its end", got)
		}

		// The heartbeats go on until the clock nears the expiry; then the
		// stream ends at it, without another heartbeat.
		s := e.openAs(t, e.credential(inbox.Credential{UserID: user, Expires: e.clock.Now().Add(time.Hour)}, nil))
		for range 2 {
			if b := s.next(t); !reflect.DeepEqual(b.Comments, []string{"heartbeat"}) {
				t.Fatalf("block %+v, want a heartbeat", b)
			}
		}
		e.clock.Advance(time.Hour - time.Millisecond)
		t0 := time.Now()
		for _, b := range s.rest(t) {
			if !reflect.DeepEqual(b.Comments, []string{"heartbeat"}) {
				t.Fatalf("block %+v before the end, want heartbeats only", b)
			}
		}
		if took := time.Since(t0); took > closeWithin {
			t.Errorf("stream ended %v after the clock neared its expiry, want within a heartbeat and a millisecond", took)
		}
		waitStreams(t, e, 0)
	})
}

// TestStreamCheckedBeforeDelivery: a credential that can end without
// notice (a page session) is checked before each message goes out.
func TestStreamCheckedBeforeDelivery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user := e.newUser(t)
		var ended atomic.Bool
		check := func(ctx context.Context) error {
			if ended.Load() {
				return errs.E(errs.Unauthorized, "no_session", "The session ended")
			}
			return nil
		}
		s := e.openAs(t, e.credential(inbox.Credential{UserID: user, Session: "web:1", Check: check}, nil))
		wantAdded(t, e, s, note(user, "while the session lives"))
		ended.Store(true)
		e.add(t, note(user, "after it ended"))
		if got := s.rest(t); len(got) != 0 {
			t.Fatalf("stream sent %+v after its session ended, want its end", got)
		}
	})
}

// TestSweepRevocations: revocations go after a day, those younger stay,
// also between older ones.
func TestSweepRevocations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user := e.newUser(t)
		revoke(t, e.db, e.svc, user, "fam_old")
		e.clock.Advance(time.Hour)
		revoke(t, e.db, e.svc, user, "fam_new")
		e.clock.Advance(-time.Hour) // a process whose clock is behind
		revoke(t, e.db, e.svc, user, "fam_behind")
		e.clock.Advance(24 * time.Hour)
		if err := e.svc.Sweep(context.Background()); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		var left []string
		rows, err := e.db.Query(context.Background(), `SELECT session FROM stream_revocations ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			rows.Scan(&s)
			left = append(left, s)
		}
		if !reflect.DeepEqual(left, []string{"fam_new"}) {
			t.Errorf("after the sweep: %v, want only the revocation younger than a day", left)
		}
	})
}

// TestRevocationClosesLocalStreamsAtCommit: this instance's streams close
// as the revoking transaction commits, without waiting for the poller (not
// running here); a rolled-back revocation closes nothing.
func TestRevocationClosesLocalStreamsAtCommit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{noRun: true})
		user := e.newUser(t)
		kept, revoked := e.session(t, user, "fam_kept"), e.session(t, user, "fam_gone")
		err := e.db.InTx(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			if err := e.svc.RevokeSessions(ctx, tx, user, "fam_kept"); err != nil {
				return err
			}
			return errors.New("rolled back")
		})
		if err == nil {
			t.Fatal("the transaction committed")
		}
		t0 := time.Now()
		revoke(t, e.db, e.svc, user, "fam_gone")
		if !revoked.ends(100 * time.Millisecond) {
			t.Fatalf("the revoked stream is open %v after the commit, with no poller", time.Since(t0))
		}
		wantOpen(t, e, user, kept)
	})
}
