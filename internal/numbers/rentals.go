package numbers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
)

// Rental states.
const (
	StatusWaiting   = "waiting"
	StatusReceived  = "received"
	StatusFinished  = "finished"
	StatusCancelled = "cancelled"
	StatusExpired   = "expired"
)

// Rental is a number rented for one service.
type Rental struct {
	ID, UserID, NumberID, Number, Service, Country, Operator, Status string
	Cost                                                             int64 // credits
	Refunded                                                         bool
	CreatedAt, CancelableAt, ExpiresAt                               time.Time
	SMS                                                              []SMS
}

// SMS is a message a rental received.
type SMS struct {
	ID, Sender, Text, Code string
	ReceivedAt             time.Time
}

// RentRequest is the body of POST /api/internal/rent.
type RentRequest struct {
	Service  string `json:"service"`
	Country  string `json:"country"`
	Operator string `json:"operator"`
}

// Answer writes, inside the rent's transaction, what the rent answers:
// package idempotency keeps it there, so that a rent is never charged
// without its answer kept. A nil Answer writes nothing.
type Answer func(ctx context.Context, tx *db.Tx, r Rental, remaining int64) error

func (a Answer) run(ctx context.Context, tx *db.Tx, r Rental, remaining int64) error {
	if a == nil {
		return nil
	}
	return a(ctx, tx, r, remaining)
}

// Rent takes a free number serving the service, debits its price and
// creates the rental, in one transaction, and runs answer in it. The
// number is one of the pool not reported for the service and, within the
// cooldown, not rented for it by another account; when the pool has none
// and no operator but "any" is asked for, it is bought from the upstream
// provider, if one is configured.
func (s *Service) Rent(ctx context.Context, userID string, q RentRequest, answer Answer) (Rental, int64, error) {
	if q.Service == "" || q.Country == "" {
		return Rental{}, 0, errRentFields
	}
	r, remaining, err := s.rentPool(ctx, userID, q, answer)
	if err == errNoNumbers && s.up != nil && (q.Operator == "" || q.Operator == upstreamOperator) {
		return s.rentUpstream(ctx, userID, q, answer)
	}
	return r, remaining, err
}

// rentPool rents a number of the pool.
func (s *Service) rentPool(ctx context.Context, userID string, q RentRequest, answer Answer) (Rental, int64, error) {
	now := s.now()
	r := Rental{ID: ids.New("rnt_"), UserID: userID, Service: q.Service, Country: q.Country, Status: StatusWaiting,
		CreatedAt: now, CancelableAt: now.Add(cancelAfter), ExpiresAt: now.Add(rentalTTL)}
	var remaining int64
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		a, err := accountTx(ctx, tx, userID)
		if err == db.ErrNotFound || (err == nil && !a.Approved) {
			return errNotApproved
		}
		if err != nil {
			return err
		}
		cooldownFrom := int64(1) << 62 // no cooldown: no rental is recent enough
		if s.cooldown > 0 {
			cooldownFrom = now.Add(-s.cooldown).UnixMilli()
		}
		costMicros, err := s.freeNumber(ctx, tx, userID, q, cooldownFrom, &r)
		if err != nil {
			return err
		}
		s.changed(tx)
		if err := db.ExecOne(ctx, tx, `UPDATE numbers_pool SET rental_id = ? WHERE id = ? AND rental_id IS NULL`, r.ID, r.NumberID); err != nil {
			if err == db.ErrNotFound {
				return errNoNumbers
			}
			return err
		}
		r.Cost = s.credits(costMicros)
		if err := s.insertRental(ctx, tx, r); err != nil {
			return err
		}
		if remaining, err = s.apply(ctx, tx, userID, entryRent, -r.Cost, r.ID, "rent "+r.Service+" "+r.Number); err != nil {
			return err
		}
		return answer.run(ctx, tx, r, remaining)
	})
	return r, remaining, err
}

// freeNumber finds a free number for q in tx and fills r with it,
// returning its price: the cheapest operator first (the catalog is small),
// then a free number of that operator that serves the service, is not
// blocked for it and not in its cooldown, read off the index of free
// numbers — no sort of the pool, whose free numbers may be many. On
// PostgreSQL the row is locked, skipping those other rents hold.
func (s *Service) freeNumber(ctx context.Context, tx *db.Tx, userID string, q RentRequest, cooldownFrom int64, r *Rental) (int64, error) {
	type offer struct {
		operator string
		cost     int64
	}
	offers, err := db.QueryAll(ctx, tx, func(rows *sql.Rows) (offer, error) {
		var o offer
		err := rows.Scan(&o.operator, &o.cost)
		return o, err
	}, `SELECT operator, cost_micros FROM numbers_prices WHERE service = ? AND country = ? AND (? = '' OR operator = ?)
		ORDER BY cost_micros, operator`, q.Service, q.Country, q.Operator, q.Operator)
	if err != nil {
		return 0, err
	}
	lock := ""
	if tx.Dialect() == db.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	// Concurrent rents start at random points of the free numbers, in id
	// order, and wrap around: they do not all contend for the pool's first
	// free number, nor walk past the index entries every rent since the
	// last vacuum left at its head.
	pivot := ids.New("num_")
	for _, o := range offers {
		for _, half := range []string{"n.id >= ?", "n.id < ?"} {
			err := tx.QueryRow(ctx, `SELECT n.id, n.number, n.operator FROM numbers_pool n
				WHERE n.country = ? AND n.operator = ? AND n.rental_id IS NULL AND n.source = 'pool' AND `+half+`
					AND n.services LIKE ?
					AND NOT EXISTS (SELECT 1 FROM numbers_blocked b WHERE b.number_id = n.id AND b.service = ?)
					AND NOT EXISTS (SELECT 1 FROM numbers_rentals o WHERE o.number_id = n.id AND o.service = ?
						AND o.user_id <> ? AND o.created_at > ?)
				ORDER BY n.id LIMIT 1`+lock,
				q.Country, o.operator, pivot, "%,"+q.Service+",%", q.Service, q.Service, userID, cooldownFrom).
				Scan(&r.NumberID, &r.Number, &r.Operator)
			switch {
			case err == nil:
				return o.cost, nil
			case !errors.Is(err, db.ErrNotFound):
				return 0, err
			}
		}
	}
	return 0, errNoNumbers
}

func (s *Service) insertRental(ctx context.Context, tx *db.Tx, r Rental) error {
	_, err := tx.Exec(ctx, `INSERT INTO numbers_rentals (id, user_id, number_id, number, service, country, operator,
		cost_credits, status, refunded, created_at, cancelable_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
		r.ID, r.UserID, r.NumberID, r.Number, r.Service, r.Country, r.Operator, r.Cost, r.Status,
		r.CreatedAt.UnixMilli(), r.CancelableAt.UnixMilli(), r.ExpiresAt.UnixMilli())
	return err
}

const rentalCols = `id, user_id, number_id, number, service, country, operator, status, cost_credits, refunded, created_at, cancelable_at, expires_at`

func scanRental(sc interface{ Scan(...any) error }) (Rental, error) {
	var r Rental
	var refunded int
	var created, cancelable, expires int64
	err := sc.Scan(&r.ID, &r.UserID, &r.NumberID, &r.Number, &r.Service, &r.Country, &r.Operator, &r.Status, &r.Cost,
		&refunded, &created, &cancelable, &expires)
	r.Refunded = refunded == 1
	r.CreatedAt, r.CancelableAt, r.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(cancelable).UTC(), time.UnixMilli(expires).UTC()
	return r, err
}

// Rentals lists the account's rentals, newest first, of one status if given.
func (s *Service) Rentals(ctx context.Context, userID, status string) ([]Rental, error) {
	if status != "" && !validStatus(status) {
		return nil, errBadStatus
	}
	return db.QueryAll(ctx, s.db, func(rows *sql.Rows) (Rental, error) { return scanRental(rows) },
		`SELECT `+rentalCols+` FROM numbers_rentals WHERE user_id = ? AND (? = '' OR status = ?)
		ORDER BY created_at DESC, id DESC LIMIT 100`, userID, status, status)
}

func validStatus(v string) bool {
	switch v {
	case StatusWaiting, StatusReceived, StatusFinished, StatusCancelled, StatusExpired:
		return true
	}
	return false
}

// Rental reads one of the account's rentals with its SMS.
func (s *Service) Rental(ctx context.Context, userID, id string) (Rental, error) {
	r, err := scanRental(s.db.QueryRow(ctx, `SELECT `+rentalCols+` FROM numbers_rentals WHERE id = ? AND user_id = ?`, id, userID))
	if err == db.ErrNotFound {
		return Rental{}, errRentalNotFound
	}
	if err != nil {
		return Rental{}, err
	}
	r.SMS, err = db.QueryAll(ctx, s.db, func(rows *sql.Rows) (m SMS, err error) {
		var at int64
		err = rows.Scan(&m.ID, &m.Sender, &m.Text, &m.Code, &at)
		m.ReceivedAt = time.UnixMilli(at).UTC()
		return m, err
	}, `SELECT id, sender, text, code, received_at FROM numbers_sms WHERE rental_id = ? ORDER BY received_at, id`, id)
	return r, err
}

// Cancel ends a waiting rental with a full refund, from its cancelableAt on.
func (s *Service) Cancel(ctx context.Context, userID, id string) (Rental, error) {
	return s.end(ctx, userID, id, oweCancel, func(r Rental) (string, bool, error) {
		switch {
		case r.Status == StatusReceived:
			return "", false, errSMSReceived
		case r.Status != StatusWaiting:
			return "", false, errRentalEnded
		case s.now().Before(r.CancelableAt):
			return "", false, errTooEarly
		}
		return StatusCancelled, true, nil
	})
}

// Finish ends a waiting or received rental; nothing is refunded.
func (s *Service) Finish(ctx context.Context, userID, id string) (Rental, error) {
	return s.end(ctx, userID, id, oweFinish, func(r Rental) (string, bool, error) {
		if r.Status != StatusWaiting && r.Status != StatusReceived {
			return "", false, errRentalEnded
		}
		return StatusFinished, false, nil
	})
}

// Report says the service refused the number: the rental ends (refunded
// when no SMS came) and the number is not offered for that service again.
func (s *Service) Report(ctx context.Context, userID, id string) (Rental, error) {
	return s.end(ctx, userID, id, oweCancel, func(r Rental) (string, bool, error) {
		switch r.Status {
		case StatusWaiting:
			return StatusCancelled, true, nil
		case StatusReceived:
			return StatusFinished, false, nil
		}
		return "", false, errRentalEnded
	}, func(ctx context.Context, tx *db.Tx, r Rental) error {
		_, err := tx.Exec(ctx, `INSERT INTO numbers_blocked (number_id, service, created_at) VALUES (?, ?, ?)
			ON CONFLICT (number_id, service) DO NOTHING`, r.NumberID, r.Service, s.now().UnixMilli())
		return err
	})
}

// end moves a live rental to the state decide picks, refunding it if
// decide says so, and frees its number, in one transaction; also runs
// in the same transaction. A rental of the upstream is cancelled there
// first when it is to be refunded (a refusal there is the answer), and is
// otherwise owed upstream (oweCancel or oweFinish), sent by PollUpstream.
func (s *Service) end(ctx context.Context, userID, id, upstreamOwed string, decide func(Rental) (string, bool, error), also ...func(context.Context, *db.Tx, Rental) error) (Rental, error) {
	cancelled := false
	if s.up != nil {
		var err error
		if cancelled, err = s.cancelUpstream(ctx, userID, id, decide); err != nil {
			return Rental{}, err
		}
	}
	var out Rental
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		r, err := scanRental(tx.QueryRow(ctx, `SELECT `+rentalCols+` FROM numbers_rentals WHERE id = ? AND user_id = ?`, id, userID))
		if err == db.ErrNotFound {
			return errRentalNotFound
		}
		if err != nil {
			return err
		}
		status, refund, err := decide(r)
		if err != nil {
			return err
		}
		if err := s.close(ctx, tx, r, status, refund); err != nil {
			return err
		}
		owed := upstreamOwed
		if cancelled {
			owed = oweDone
		}
		if err := owe(ctx, tx, r.ID, owed, s.now()); err != nil {
			return err
		}
		for _, f := range also {
			if err := f(ctx, tx, r); err != nil {
				return err
			}
		}
		r.Status, r.Refunded = status, refund
		out = r
		return nil
	})
	return out, err
}

// close moves r from its read state to status (a race lost is
// errRentalEnded), frees its number and, if refund, credits its cost back
// once: the conditional update is what makes it once.
func (s *Service) close(ctx context.Context, tx *db.Tx, r Rental, status string, refund bool) error {
	refunded := 0
	if refund {
		refunded = 1
	}
	now := s.now().UnixMilli()
	err := db.ExecOne(ctx, tx, `UPDATE numbers_rentals SET status = ?, refunded = ?, ended_at = ?
		WHERE id = ? AND status = ? AND refunded = 0`, status, refunded, now, r.ID, r.Status)
	if err == db.ErrNotFound {
		return errRentalEnded
	}
	if err != nil {
		return err
	}
	s.changed(tx)
	if _, err := tx.Exec(ctx, `UPDATE numbers_pool SET rental_id = NULL WHERE id = ? AND rental_id = ?`, r.NumberID, r.ID); err != nil {
		return err
	}
	if refund {
		_, err = s.apply(ctx, tx, r.UserID, entryRefund, r.Cost, r.ID, fmt.Sprintf("refund: rental %s", status))
	}
	return err
}

// Sweep expires the live rentals past their expiresAt: refunded when no SMS
// came (status expired), finished otherwise. The server runs it every
// sweepEvery.
func (s *Service) Sweep(ctx context.Context) error {
	for {
		list, err := db.QueryAll(ctx, s.db, func(rows *sql.Rows) (Rental, error) { return scanRental(rows) },
			`SELECT `+rentalCols+` FROM numbers_rentals WHERE status IN ('waiting', 'received') AND expires_at <= ?
			ORDER BY expires_at LIMIT ?`, s.now().UnixMilli(), db.SweepBatch)
		if err != nil || len(list) == 0 {
			return err
		}
		err = s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
			for _, r := range list {
				status, refund, owed := StatusExpired, true, oweCancel
				if r.Status == StatusReceived {
					status, refund, owed = StatusFinished, false, oweFinish
				}
				err := s.close(ctx, tx, r, status, refund)
				if err == errRentalEnded {
					continue
				}
				if err == nil {
					err = owe(ctx, tx, r.ID, owed, s.now())
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("numbers: sweep rentals: %w", err)
		}
	}
}

// sweepEvery is how often Run sweeps expired rentals.
const sweepEvery = 15 * time.Second

// Run sweeps expired rentals every sweepEvery and, with an upstream
// provider, does its work (runUpstream), until ctx ends.
func (s *Service) Run(ctx context.Context) {
	if s.up != nil {
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Go(func() { s.runUpstream(ctx) })
	}
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "numbers sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
