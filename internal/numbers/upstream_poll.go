package numbers

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/numbers/smsactivate"
)

// dueWork is a numbers_upstream row due now.
type dueWork struct {
	activation, rental, action, lastCode string
	attempts                             int
	nextAt                               int64
}

// PollUpstream does the upstream work due now: polls the live activations
// for codes, sends the cancels and finishes owed. Run calls it every
// second; each row is leased before its call, so that two pollers (two
// instances) never work on one row at once.
func (s *Service) PollUpstream(ctx context.Context) error {
	if s.up == nil {
		return nil
	}
	list, err := db.QueryAll(ctx, s.db, func(rows *sql.Rows) (w dueWork, err error) {
		var rental sql.NullString
		err = rows.Scan(&w.activation, &rental, &w.action, &w.lastCode, &w.attempts, &w.nextAt)
		w.rental = rental.String
		return w, err
	}, `SELECT activation_id, rental_id, action, last_code, attempts, next_at FROM numbers_upstream
		WHERE action IN ('poll', 'cancel', 'finish') AND next_at <= ? ORDER BY next_at LIMIT ?`, s.now().UnixMilli(), pollBatch)
	if err != nil {
		return err
	}
	for _, w := range list {
		if err := s.work(ctx, w); err != nil {
			s.log.WarnContext(ctx, "numbers: upstream work failed", "activation", w.activation, "action", w.action, "err", err)
		}
	}
	return nil
}

// work leases w and does it.
func (s *Service) work(ctx context.Context, w dueWork) error {
	lease := s.now().Add(leaseFor).UnixMilli()
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		return db.ExecOne(ctx, tx, `UPDATE numbers_upstream SET next_at = ? WHERE activation_id = ? AND action = ? AND next_at = ?`,
			lease, w.activation, w.action, w.nextAt)
	})
	if err == db.ErrNotFound {
		return nil // another poller has it
	}
	if err != nil {
		return err
	}
	w.nextAt = lease
	if w.action == owePoll {
		return s.poll(ctx, w)
	}
	status := smsactivate.StatusCanceled
	if w.action == oweFinish {
		status = smsactivate.StatusFinish
	}
	err = s.up.c.SetStatus(ctx, w.activation, status)
	switch smsactivate.Word(err) {
	case "":
		if err == nil {
			return s.settle(ctx, w, oweDone, 0, s.now())
		}
	case smsactivate.NoActivation, smsactivate.BadStatus: // it has ended there already
		return s.settle(ctx, w, oweDone, 0, s.now())
	case smsactivate.EarlyCancelDenied:
		return s.settle(ctx, w, w.action, w.attempts, s.now().Add(earlyRetry))
	}
	if w.attempts+1 >= giveUpAfter {
		s.log.ErrorContext(ctx, "numbers: gave up telling the upstream", "activation", w.activation, "action", w.action, "err", err)
		return s.settle(ctx, w, oweDone, 0, s.now())
	}
	return errors.Join(err, s.settle(ctx, w, w.action, w.attempts+1, s.now().Add(backoff(w.attempts+1))))
}

// backoff is the wait before the call after n fruitless ones: 5 s six
// times, then doubling up to a minute.
func backoff(n int) time.Duration {
	d := pollFirst
	if n > 6 {
		d <<= min(n-6, 4)
	}
	return min(d, pollMax)
}

// settle records the outcome of a call on w's row, if still leased.
func (s *Service) settle(ctx context.Context, w dueWork, action string, attempts int, next time.Time) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		return s.settleTx(ctx, tx, w, action, attempts, next)
	})
}

func (s *Service) settleTx(ctx context.Context, tx *db.Tx, w dueWork, action string, attempts int, next time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE numbers_upstream SET action = ?, attempts = ?, next_at = ? WHERE activation_id = ? AND next_at = ?`,
		action, attempts, next.UnixMilli(), w.activation, w.nextAt)
	return err
}

// poll asks how w's activation stands and stores a new code.
func (s *Service) poll(ctx context.Context, w dueWork) error {
	st, err := s.up.c.GetStatus(ctx, w.activation)
	switch {
	case smsactivate.Word(err) == smsactivate.NoActivation || (err == nil && st.State == smsactivate.Cancelled):
		return s.upstreamEnded(ctx, w)
	case err == nil && (st.State == smsactivate.OK || st.State == smsactivate.WaitRetry) && st.Code != w.lastCode:
		return s.upstreamCode(ctx, w, st.Code)
	}
	return errors.Join(err, s.settle(ctx, w, owePoll, w.attempts+1, s.now().Add(backoff(w.attempts+1))))
}

// upstreamCode stores a code the upstream received for w's rental, as an
// SMS of the rental, and asks for the next one (setStatus 3: free, and the
// number keeps receiving, as a gateway's SIM does).
func (s *Service) upstreamCode(ctx context.Context, w dueWork, code string) error {
	live := false
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE numbers_upstream SET last_code = ? WHERE activation_id = ?`, code, w.activation); err != nil {
			return err
		}
		if err := s.settleTx(ctx, tx, w, owePoll, 0, s.now().Add(pollFirst)); err != nil {
			return err
		}
		r, err := scanRental(tx.QueryRow(ctx, `SELECT `+rentalCols+` FROM numbers_rentals WHERE id = ?`, w.rental))
		if err != nil {
			return err
		}
		live = r.Status == StatusWaiting || r.Status == StatusReceived
		extracted := ExtractCode(code)
		if extracted == "" {
			extracted = code
		}
		return s.storeSMS(ctx, tx, r, "", code, extracted, s.now())
	})
	if err != nil || !live {
		return err
	}
	if err := s.up.c.SetStatus(ctx, w.activation, smsactivate.StatusRetry); err != nil {
		s.log.WarnContext(ctx, "numbers: upstream setStatus 3 failed", "activation", w.activation, "err", err)
	}
	return nil
}

// upstreamEnded ends the rental of an activation the upstream ended (its
// own timeout, say): refunded when no SMS came, as an expiry is.
func (s *Service) upstreamEnded(ctx context.Context, w dueWork) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if err := s.settleTx(ctx, tx, w, oweDone, 0, s.now()); err != nil {
			return err
		}
		r, err := scanRental(tx.QueryRow(ctx, `SELECT `+rentalCols+` FROM numbers_rentals WHERE id = ?`, w.rental))
		if err != nil {
			return err
		}
		status, refund := StatusCancelled, true
		switch r.Status {
		case StatusReceived:
			status, refund = StatusFinished, false
		case StatusWaiting:
		default:
			return nil
		}
		if err := s.close(ctx, tx, r, status, refund); err != nil && err != errRentalEnded {
			return err
		}
		return nil
	})
}

// runUpstream refreshes the upstream's prices every pricesEvery and does
// the due upstream work every upstreamEvery, until ctx ends.
func (s *Service) runUpstream(ctx context.Context) {
	work := time.NewTicker(upstreamEvery)
	defer work.Stop()
	var refreshed time.Time
	for {
		if time.Since(refreshed) >= pricesEvery {
			refreshed = time.Now()
			if err := s.RefreshUpstreamPrices(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "numbers: upstream prices not refreshed", "err", err)
			}
		}
		if err := s.PollUpstream(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "numbers: upstream poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-work.C:
		}
	}
}
