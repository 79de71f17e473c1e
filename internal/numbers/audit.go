package numbers

import (
	"context"
	"fmt"

	"github.com/linkbox/linkbox/internal/db"
)

// Audit is what Check finds: the accounts checked, those whose balance is
// not the sum of their ledger (or not their last entry's balance_after),
// and the numbers held by two live rentals at once or marked in the pool
// as held by a rental that does not hold them. A sound store has neither.
type Audit struct {
	Accounts     int      `json:"accounts"`
	Credits      int64    `json:"credits"`      // every account's balance, summed
	Rentals      int      `json:"liveRentals"`  // rentals waiting or received
	Unbalanced   []string `json:"unbalanced"`   // user ids
	DoubleRented []string `json:"doubleRented"` // numbers
}

// Sound reports whether the audit found nothing wrong.
func (a Audit) Sound() bool { return len(a.Unbalanced) == 0 && len(a.DoubleRented) == 0 }

// Check audits the whole store: the credit ledger against every balance,
// and the pool against the live rentals. It reads without locking, so run
// it on a quiet store (or read its findings as "at some moment").
func (s *Service) Check(ctx context.Context) (Audit, error) {
	var a Audit
	err := s.db.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(credits), 0) FROM numbers_accounts`).Scan(&a.Accounts, &a.Credits)
	if err == nil {
		err = s.db.QueryRow(ctx, `SELECT COUNT(*) FROM numbers_rentals WHERE status IN (?, ?)`, StatusWaiting, StatusReceived).Scan(&a.Rentals)
	}
	if err != nil {
		return a, fmt.Errorf("numbers: audit: %w", err)
	}
	// An account is sound when its balance is its entries' sum and its
	// newest entry's balance_after; one without entries holds nothing.
	if a.Unbalanced, err = db.QueryAll(ctx, s.db, db.Column[string], `SELECT a.user_id FROM numbers_accounts a
		LEFT JOIN (SELECT user_id, SUM(credits) AS total, MAX(seq) AS last FROM numbers_ledger GROUP BY user_id) l ON l.user_id = a.user_id
		LEFT JOIN numbers_ledger e ON e.user_id = a.user_id AND e.seq = l.last
		WHERE a.credits <> COALESCE(l.total, 0) OR a.credits <> COALESCE(e.balance_after, 0)
		ORDER BY a.user_id`); err != nil {
		return a, fmt.Errorf("numbers: audit ledger: %w", err)
	}
	if a.DoubleRented, err = db.QueryAll(ctx, s.db, db.Column[string], `SELECT p.number FROM numbers_pool p WHERE
		(SELECT COUNT(*) FROM numbers_rentals r WHERE r.number_id = p.id AND r.status IN (?, ?)) > 1
		OR (p.rental_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM numbers_rentals r WHERE r.id = p.rental_id AND r.number_id = p.id))
		ORDER BY p.number`, StatusWaiting, StatusReceived); err != nil {
		return a, fmt.Errorf("numbers: audit pool: %w", err)
	}
	return a, nil
}
