package numbers

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/numbers/smsactivate"
)

// The upstream provider (SMS-Activate protocol) sells a number when the
// pool has none free: its prices join the catalog under the operator
// "any", at its cost times the markup; a number bought gets a pool row of
// its own (source smsactivate, no services, so never rented locally) and a
// numbers_upstream row saying what is owed to the upstream next: polls for
// codes while the rental lives, then the cancel (setStatus 8) or the finish
// (setStatus 6), sent by PollUpstream, retried with a backoff.
const (
	sourcePool       = "pool"
	sourceUpstream   = "smsactivate"
	upstreamOperator = "any"

	pollFirst     = 5 * time.Second  // the first polls of an activation, 6 of them
	pollMax       = time.Minute      // the backoff's cap
	leaseFor      = 30 * time.Second // a row being worked on is not due for others
	earlyRetry    = 30 * time.Second // after EARLY_CANCEL_DENIED
	giveUpAfter   = 30               // failed calls of a cancel or finish before it is dropped
	pollBatch     = 50
	upstreamEvery = time.Second     // how often Run looks for due work
	pricesEvery   = 5 * time.Minute // how often Run refreshes the upstream's prices
)

// What is owed to the upstream, in numbers_upstream.action.
const (
	owePoll   = "poll"
	oweCancel = "cancel"
	oweFinish = "finish"
	oweDone   = "done"
)

// Errors of the upstream, in the Numbers API's shape (NO_NUMBERS and an
// unknown service or country are errNoNumbers).
var (
	errUpstreamBalance  = errs.E(errs.Unavailable, "upstream_no_balance", "No number can be bought right now: try again later")
	errUpstream         = errs.E(errs.Unavailable, "upstream_error", "The number provider is unavailable: try again later")
	errUpstreamTooEarly = errs.E(errs.Conflict, "upstream_too_early", "The number provider does not allow cancelling this number yet: try again in a few minutes")
	errUpstreamRefused  = errs.E(errs.Conflict, "upstream_refused", "The number provider refused to cancel this number: finish it instead")
)

// upstream is the configured provider.
type upstream struct {
	c      *smsactivate.Client
	markup int64 // micro-units: 1_000_000 is 1.0
}

// upstreamErr maps an error of the provider to the API's; the cause is
// kept for the log (it never holds the key).
func upstreamErr(err error) error {
	switch smsactivate.Word(err) {
	case smsactivate.NoNumbers, smsactivate.BadService, smsactivate.WrongService, smsactivate.BadCountry, smsactivate.WrongCountry:
		return &errs.Error{Kind: errNoNumbers.Kind, Code: errNoNumbers.Code, Message: errNoNumbers.Message, Err: err}
	case smsactivate.NoBalance:
		return &errs.Error{Kind: errUpstreamBalance.Kind, Code: errUpstreamBalance.Code, Message: errUpstreamBalance.Message, Err: err}
	case smsactivate.EarlyCancelDenied:
		return &errs.Error{Kind: errUpstreamTooEarly.Kind, Code: errUpstreamTooEarly.Code, Message: errUpstreamTooEarly.Message, Err: err}
	case smsactivate.BadStatus:
		return &errs.Error{Kind: errUpstreamRefused.Kind, Code: errUpstreamRefused.Code, Message: errUpstreamRefused.Message, Err: err}
	}
	return &errs.Error{Kind: errUpstream.Kind, Code: errUpstream.Code, Message: errUpstream.Message, Err: err}
}

// charge is the price Linkbox asks for an upstream cost: cost × markup,
// rounded up.
func (u *upstream) charge(cost int64) int64 {
	p := new(big.Int).Mul(big.NewInt(cost), big.NewInt(u.markup))
	q, m := p.QuoRem(p, big.NewInt(1e6), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}

// RefreshUpstreamPrices replaces the upstream's prices in the catalog by
// what getPrices says now, for the countries and services that have a
// name here. Run calls it every pricesEvery.
func (s *Service) RefreshUpstreamPrices(ctx context.Context) error {
	if s.up == nil {
		return nil
	}
	list, err := s.up.c.GetPrices(ctx, "", "")
	if err != nil {
		return err
	}
	// Upserted in key order, then what this list lacks is dropped: two
	// refreshes at once (two instances) neither collide nor deadlock, and
	// the later one wins.
	slices.SortFunc(list, func(a, b smsactivate.Price) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Country, b.Country))
	})
	now := s.now().UnixMilli()
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		for _, p := range list {
			country, ok1 := smsactivate.CountryISO(p.Country)
			service, ok2 := smsactivate.ServiceName(p.Service)
			if !ok1 || !ok2 {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO numbers_upstream_prices (service, country, upstream_cost_micros, cost_micros, count, updated_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (service, country) DO UPDATE SET upstream_cost_micros = excluded.upstream_cost_micros,
				cost_micros = excluded.cost_micros, count = excluded.count, updated_at = excluded.updated_at`,
				service, country, p.Cost, s.up.charge(p.Cost), p.Count, now); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `DELETE FROM numbers_upstream_prices WHERE updated_at < ?`, now)
		return err
	})
}

// upstreamPricesSQL is the upstream's part of the catalog, for Prices.
const upstreamPricesSQL = `SELECT service, country, 'any', cost_micros, 0, count, 1 FROM numbers_upstream_prices
	WHERE (? = '' OR service = ?) AND (? = '' OR country = ?) AND (? = '' OR ? = 'any')`

// rentUpstream buys a number upstream and rents it, when the pool had none.
// The account is checked before buying; if the rent then fails (credits
// spent meanwhile) the number is given back (cancelled once the upstream
// allows it).
func (s *Service) rentUpstream(ctx context.Context, userID string, q RentRequest, answer Answer) (Rental, int64, error) {
	service, ok1 := smsactivate.Service(q.Service)
	country, ok2 := smsactivate.Country(q.Country)
	if !ok1 || !ok2 {
		return Rental{}, 0, errNoNumbers
	}
	var costMicros int64
	err := s.db.QueryRow(ctx, `SELECT cost_micros FROM numbers_upstream_prices WHERE service = ? AND country = ? AND count > 0`,
		q.Service, q.Country).Scan(&costMicros)
	if err == db.ErrNotFound {
		return Rental{}, 0, errNoNumbers
	}
	if err != nil {
		return Rental{}, 0, err
	}
	a, err := s.Account(ctx, userID)
	switch {
	case err != nil:
		return Rental{}, 0, err
	case !a.Approved:
		return Rental{}, 0, errNotApproved
	case a.Credits < s.credits(costMicros):
		return Rental{}, 0, errNoCredits
	}
	// The purchase outlives a client that hangs up: its number is ours then.
	act, err := s.up.c.GetNumber(context.WithoutCancel(ctx), service, country, "")
	if err != nil {
		return Rental{}, 0, upstreamErr(err)
	}
	now := s.now()
	r := Rental{ID: ids.New("rnt_"), UserID: userID, Number: act.Phone, Service: q.Service, Country: q.Country,
		Operator: upstreamOperator, Status: StatusWaiting, Cost: s.credits(costMicros),
		CreatedAt: now, CancelableAt: now.Add(cancelAfter), ExpiresAt: now.Add(rentalTTL)}
	var remaining int64
	err = s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		a, err := accountTx(ctx, tx, userID)
		if err == db.ErrNotFound || (err == nil && !a.Approved) {
			return errNotApproved
		}
		if err != nil {
			return err
		}
		if r.NumberID, err = s.upstreamNumber(ctx, tx, r); err != nil {
			return err
		}
		if err := s.insertRental(ctx, tx, r); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO numbers_upstream (activation_id, rental_id, action, last_code, attempts, next_at, created_at)
			VALUES (?, ?, ?, '', 0, ?, ?)`, act.ID, r.ID, owePoll, now.Add(pollFirst).UnixMilli(), now.UnixMilli()); err != nil {
			return err
		}
		if remaining, err = s.apply(ctx, tx, userID, entryRent, -r.Cost, r.ID, "rent "+r.Service+" "+r.Number); err != nil {
			return err
		}
		return answer.run(ctx, tx, r, remaining)
	})
	if err != nil {
		s.abandon(ctx, act.ID, now)
		return Rental{}, 0, err
	}
	if err := s.up.c.SetStatus(ctx, act.ID, smsactivate.StatusReady); err != nil {
		s.log.WarnContext(ctx, "numbers: upstream setStatus 1 failed", "activation", act.ID, "err", err)
	}
	return r, remaining, nil
}

// upstreamNumber is the pool row of a number bought upstream, made the
// first time the upstream sells it; a number reported for the service is
// refused (the upstream sold it again) and given back.
func (s *Service) upstreamNumber(ctx context.Context, tx *db.Tx, r Rental) (string, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO numbers_pool (id, number, country, operator, services, source, created_at)
		VALUES (?, ?, ?, ?, '', ?, ?) ON CONFLICT (number) DO NOTHING`,
		ids.New("num_"), r.Number, r.Country, upstreamOperator, sourceUpstream, r.CreatedAt.UnixMilli()); err != nil {
		return "", err
	}
	var id, source string
	var blocked int
	err := tx.QueryRow(ctx, `SELECT id, source, (SELECT COUNT(*) FROM numbers_blocked b WHERE b.number_id = n.id AND b.service = ?)
		FROM numbers_pool n WHERE number = ?`, r.Service, r.Number).Scan(&id, &source, &blocked)
	switch {
	case err != nil:
		return "", err
	case source != sourceUpstream:
		return "", fmt.Errorf("numbers: the upstream sold %s, a number of the pool", r.Number)
	case blocked > 0:
		return "", errNoNumbers
	}
	_, err = tx.Exec(ctx, `UPDATE numbers_pool SET rental_id = ? WHERE id = ?`, r.ID, id)
	return id, err
}

// abandon queues the cancel of an activation no rental took.
func (s *Service) abandon(ctx context.Context, activationID string, bought time.Time) {
	err := s.db.InTx(context.WithoutCancel(ctx), func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO numbers_upstream (activation_id, rental_id, action, last_code, attempts, next_at, created_at)
			VALUES (?, NULL, ?, '', 0, ?, ?) ON CONFLICT (activation_id) DO UPDATE SET rental_id = NULL, action = excluded.action, next_at = excluded.next_at`,
			activationID, oweCancel, bought.Add(cancelAfter).UnixMilli(), bought.UnixMilli())
		return err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "numbers: the cancel of an unused upstream number was not queued", "activation", activationID, "err", err)
	}
}

// owe sets what is owed to the upstream for a rental that has just ended
// (nothing happens for a rental of the pool).
func owe(ctx context.Context, tx *db.Tx, rentalID, action string, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE numbers_upstream SET action = ?, attempts = 0, next_at = ? WHERE rental_id = ? AND action = ?`,
		action, now.UnixMilli(), rentalID, owePoll)
	return err
}

// liveActivation is the upstream activation of a live rental, "" for a
// rental of the pool.
func (s *Service) liveActivation(ctx context.Context, rentalID string) (string, error) {
	var id string
	err := s.db.QueryRow(ctx, `SELECT activation_id FROM numbers_upstream WHERE rental_id = ? AND action = ?`, rentalID, owePoll).Scan(&id)
	if err == db.ErrNotFound {
		return "", nil
	}
	return id, err
}

// cancelUpstream cancels the upstream activation of a rental about to be
// refunded, before the refund: a cancel the upstream refuses is refused.
func (s *Service) cancelUpstream(ctx context.Context, userID, id string, decide func(Rental) (string, bool, error)) (bool, error) {
	r, err := scanRental(s.db.QueryRow(ctx, `SELECT `+rentalCols+` FROM numbers_rentals WHERE id = ? AND user_id = ?`, id, userID))
	if err == db.ErrNotFound {
		return false, errRentalNotFound
	}
	if err != nil {
		return false, err
	}
	if _, refund, err := decide(r); err != nil || !refund {
		return false, err
	}
	act, err := s.liveActivation(ctx, r.ID)
	if err != nil || act == "" {
		return false, err
	}
	err = s.up.c.SetStatus(context.WithoutCancel(ctx), act, smsactivate.StatusCanceled)
	if err != nil && smsactivate.Word(err) != smsactivate.NoActivation {
		return false, upstreamErr(err)
	}
	return true, nil
}

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

// errNoUpstream: no upstream provider is configured.
var errNoUpstream = errs.E(errs.NotFound, "no_upstream", "No upstream provider is configured (LINKBOX_SMSACTIVATE_URL)")

// UpstreamBalance is the upstream account's balance (getBalance), in
// micro-units of its currency.
func (s *Service) UpstreamBalance(ctx context.Context) (int64, error) {
	if s.up == nil {
		return 0, errNoUpstream
	}
	return s.up.c.GetBalance(ctx)
}
