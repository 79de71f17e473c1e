package numbers

import (
	"cmp"
	"context"
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
		s.changed(tx)
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
	cost, err := s.upstreamCost(ctx, userID, q)
	if err != nil {
		return Rental{}, 0, err
	}
	// The purchase outlives a client that hangs up: its number is ours then.
	act, err := s.up.c.GetNumber(context.WithoutCancel(ctx), service, country, "")
	if err != nil {
		return Rental{}, 0, upstreamErr(err)
	}
	now := s.now()
	r := Rental{ID: ids.New("rnt_"), UserID: userID, Number: act.Phone, Service: q.Service, Country: q.Country,
		Operator: upstreamOperator, Status: StatusWaiting, Cost: cost,
		CreatedAt: now, CancelableAt: now.Add(cancelAfter), ExpiresAt: now.Add(rentalTTL)}
	var remaining int64
	err = s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		remaining, err = s.rentBought(ctx, tx, &r, act.ID, answer)
		return err
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

// upstreamCost is the price in credits of the upstream's number for q,
// refused (403, 402) before anything is bought when the account cannot
// pay it.
func (s *Service) upstreamCost(ctx context.Context, userID string, q RentRequest) (int64, error) {
	var micros int64
	err := s.db.QueryRow(ctx, `SELECT cost_micros FROM numbers_upstream_prices WHERE service = ? AND country = ? AND count > 0`,
		q.Service, q.Country).Scan(&micros)
	if err == db.ErrNotFound {
		return 0, errNoNumbers
	}
	if err != nil {
		return 0, err
	}
	a, err := s.Account(ctx, userID)
	switch {
	case err != nil:
		return 0, err
	case !a.Approved:
		return 0, errNotApproved
	case a.Credits < s.credits(micros):
		return 0, errNoCredits
	}
	return s.credits(micros), nil
}

// rentBought makes the rental of a number bought upstream, in tx: its pool
// row, the rental, what is owed upstream (polls), the debit and the answer.
func (s *Service) rentBought(ctx context.Context, tx *db.Tx, r *Rental, activationID string, answer Answer) (int64, error) {
	a, err := accountTx(ctx, tx, r.UserID)
	if err == db.ErrNotFound || (err == nil && !a.Approved) {
		return 0, errNotApproved
	}
	if err != nil {
		return 0, err
	}
	if r.NumberID, err = s.upstreamNumber(ctx, tx, *r); err != nil {
		return 0, err
	}
	if err := s.insertRental(ctx, tx, *r); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO numbers_upstream (activation_id, rental_id, action, last_code, attempts, next_at, created_at)
		VALUES (?, ?, ?, '', 0, ?, ?)`, activationID, r.ID, owePoll, r.CreatedAt.Add(pollFirst).UnixMilli(), r.CreatedAt.UnixMilli()); err != nil {
		return 0, err
	}
	remaining, err := s.apply(ctx, tx, r.UserID, entryRent, -r.Cost, r.ID, "rent "+r.Service+" "+r.Number)
	if err != nil {
		return 0, err
	}
	return remaining, answer.run(ctx, tx, *r, remaining)
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

// UpstreamBalance is the upstream account's balance (getBalance), in
// micro-units of its currency.
func (s *Service) UpstreamBalance(ctx context.Context) (int64, error) {
	if s.up == nil {
		return 0, errNoUpstream
	}
	return s.up.c.GetBalance(ctx)
}
