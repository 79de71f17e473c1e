package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
)

// UserByPhone returns the account of phone (any E.164 spelling);
// user_not_found when there is none.
func (s *Service) UserByPhone(ctx context.Context, phone string) (User, error) {
	phone, err := normalizePhone("phone", phone)
	if err != nil {
		return User{}, err
	}
	u, err := userByPhone(ctx, s.db, phone)
	if errors.Is(err, db.ErrNotFound) {
		return User{}, errUserNotFound
	}
	return u, err
}

// DeleteUser erases the account userID and everything hanging off it, in
// one transaction: its sessions (page sessions and event streams through
// the revokers), and the rows the users table's ON DELETE CASCADE reaches —
// codes, refresh tokens, links and through them OTPs, inbox messages, page
// sessions, the numbers account, ledger and rentals with their SMS. What the
// cascade cannot reach, the erasers erase first (AddEraser): the numbers
// its live rentals hold go back to the pool, its Idempotency-Key answers
// go, and the apps it was linked to are told. The log names
// the account by id, never by phone. An unknown id is user_not_found.
//
// The SMS quota of its phone stays until it lapses (an hour): deleting an
// account must not reset the limit on codes sent to a number.
func (s *Service) DeleteUser(ctx context.Context, userID string) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if _, err := userByID(ctx, tx, userID); err != nil {
			return err
		}
		if err := s.revokeElsewhere(ctx, tx, userID, ""); err != nil {
			return err
		}
		return s.eraseUser(ctx, tx, userID)
	})
	if errors.Is(err, db.ErrNotFound) {
		return errs.E(errs.NotFound, "user_not_found", "No account has this id")
	}
	if err != nil {
		return fmt.Errorf("accounts: delete user %s: %w", userID, err)
	}
	s.log.InfoContext(ctx, "account deleted", "user_id", userID)
	return nil
}

// eraseUser deletes the account in tx: first what the erasers keep of it,
// then the account, whose cascade takes the rest.
func (s *Service) eraseUser(ctx context.Context, tx *db.Tx, userID string) error {
	for _, e := range s.erasers {
		if err := e.EraseUser(ctx, tx, userID); err != nil {
			return err
		}
	}
	return db.ExecOne(ctx, tx, `DELETE FROM users WHERE id = ?`, userID)
}
