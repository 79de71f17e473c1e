package numbers

import (
	"context"
	"database/sql"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
)

// Account is an account's numbers state.
type Account struct {
	UserID          string
	Approved        bool
	Credits         int64
	FreeCreditsUsed int64
}

// Entry is one ledger entry.
type Entry struct {
	ID, Type     string
	Credits      int64 // signed
	BalanceAfter int64
	RentalID     string
	Reason       string
	CreatedAt    time.Time
}

// Ledger entry types.
const (
	entryGrant  = "grant"
	entryFree   = "free"
	entryRent   = "rent"
	entryRefund = "refund"
)

// Account reads an account's state; an account never approved nor granted
// anything has none stored and reads as zero.
func (s *Service) Account(ctx context.Context, userID string) (Account, error) {
	a := Account{UserID: userID}
	var approved int
	err := s.db.QueryRow(ctx, `SELECT approved, credits, free_credits_used FROM numbers_accounts WHERE user_id = ?`, userID).
		Scan(&approved, &a.Credits, &a.FreeCreditsUsed)
	if err == db.ErrNotFound {
		return a, nil
	}
	a.Approved = approved == 1
	return a, err
}

// userByPhone finds an account's id by its phone.
func userByPhone(ctx context.Context, tx *db.Tx, phone string) (string, error) {
	var id string
	err := tx.QueryRow(ctx, `SELECT id FROM users WHERE phone = ?`, phone).Scan(&id)
	if err == db.ErrNotFound {
		return "", errUserNotFound
	}
	return id, err
}

// ensureAccount creates the account's row if missing.
func (s *Service) ensureAccount(ctx context.Context, tx *db.Tx, userID string) error {
	_, err := tx.Exec(ctx, `INSERT INTO numbers_accounts (user_id, approved, credits, free_credits_used, updated_at)
		VALUES (?, 0, 0, 0, ?) ON CONFLICT (user_id) DO NOTHING`, userID, s.now().UnixMilli())
	return err
}

// Approve lets the account with phone rent numbers, granting the free
// credits on its first approval.
func (s *Service) Approve(ctx context.Context, phone string) (Account, error) {
	var a Account
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		id, err := userByPhone(ctx, tx, phone)
		if err != nil {
			return err
		}
		if err := s.ensureAccount(ctx, tx, id); err != nil {
			return err
		}
		err = db.ExecOne(ctx, tx, `UPDATE numbers_accounts SET approved = 1, updated_at = ? WHERE user_id = ? AND approved = 0`, s.now().UnixMilli(), id)
		if err == nil && s.freeCredits > 0 {
			if _, err = s.apply(ctx, tx, id, entryFree, s.freeCredits, "", "free credits on approval"); err == nil {
				_, err = tx.Exec(ctx, `UPDATE numbers_accounts SET free_credits_used = free_credits_used + ? WHERE user_id = ?`, s.freeCredits, id)
			}
		}
		if err != nil && err != db.ErrNotFound {
			return err
		}
		a, err = accountTx(ctx, tx, id)
		return err
	})
	return a, err
}

// Grant adds credits (takes them back when negative, never below zero) to
// the account with phone.
func (s *Service) Grant(ctx context.Context, phone string, credits int64, reason string) (Account, error) {
	if credits == 0 || reason == "" {
		return Account{}, errBadInput
	}
	var a Account
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		id, err := userByPhone(ctx, tx, phone)
		if err != nil {
			return err
		}
		if err := s.ensureAccount(ctx, tx, id); err != nil {
			return err
		}
		if _, err := s.apply(ctx, tx, id, entryGrant, credits, "", reason); err != nil {
			return err
		}
		a, err = accountTx(ctx, tx, id)
		return err
	})
	return a, err
}

func accountTx(ctx context.Context, tx *db.Tx, id string) (Account, error) {
	a := Account{UserID: id}
	var approved int
	err := tx.QueryRow(ctx, `SELECT approved, credits, free_credits_used FROM numbers_accounts WHERE user_id = ?`, id).
		Scan(&approved, &a.Credits, &a.FreeCreditsUsed)
	a.Approved = approved == 1
	return a, err
}

// apply changes the account's credits by delta, refusing to go below zero
// (errNoCredits), and appends the ledger entry, in tx. It returns the new
// balance.
func (s *Service) apply(ctx context.Context, tx *db.Tx, userID, typ string, delta int64, rentalID, reason string) (int64, error) {
	now := s.now().UnixMilli()
	var balance int64
	err := tx.QueryRow(ctx, `UPDATE numbers_accounts SET credits = credits + ?, updated_at = ?
		WHERE user_id = ? AND credits + ? >= 0 RETURNING credits`, delta, now, userID, delta).Scan(&balance)
	if err == db.ErrNotFound {
		if typ == entryGrant {
			return 0, errBelowZero
		}
		return 0, errNoCredits
	}
	if err != nil {
		return 0, err
	}
	var rental any
	if rentalID != "" {
		rental = rentalID
	}
	_, err = tx.Exec(ctx, `INSERT INTO numbers_ledger (id, user_id, seq, type, credits, balance_after, rental_id, reason, created_at)
		SELECT ?, ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ?, ? FROM numbers_ledger WHERE user_id = ?`,
		ids.New("txn_"), userID, typ, delta, balance, rental, reason, now, userID)
	return balance, err
}

// Transactions pages through the account's ledger, newest first.
func (s *Service) Transactions(ctx context.Context, userID string, page, limit int) ([]Entry, int64, error) {
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM numbers_ledger WHERE user_id = ?`, userID).Scan(&total); err != nil {
		return nil, 0, err
	}
	list, err := db.QueryAll(ctx, s.db, func(rows *sql.Rows) (e Entry, err error) {
		var rental sql.NullString
		var at int64
		err = rows.Scan(&e.ID, &e.Type, &e.Credits, &e.BalanceAfter, &rental, &e.Reason, &at)
		e.RentalID, e.CreatedAt = rental.String, time.UnixMilli(at).UTC()
		return e, err
	}, `SELECT id, type, credits, balance_after, rental_id, reason, created_at FROM numbers_ledger
		WHERE user_id = ? ORDER BY seq DESC LIMIT ? OFFSET ?`, userID, limit, (page-1)*limit)
	return list, total, err
}

// LedgerSum is the sum of the account's ledger: tests and the bench check
// it against the balance.
func (s *Service) LedgerSum(ctx context.Context, userID string) (int64, error) {
	var sum int64
	err := s.db.QueryRow(ctx, `SELECT COALESCE(SUM(credits), 0) FROM numbers_ledger WHERE user_id = ?`, userID).Scan(&sum)
	return sum, err
}
