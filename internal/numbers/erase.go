package numbers

import (
	"context"

	"github.com/linkbox/linkbox/internal/db"
)

// EraseUser gives the numbers the account's live rentals hold back to the
// pool, inside the transaction that deletes the account (accounts.Eraser):
// the rentals go with the account's cascade, which cannot reach the pool.
func (s *Service) EraseUser(ctx context.Context, tx *db.Tx, userID string) error {
	s.changed(tx)
	_, err := tx.Exec(ctx, `UPDATE numbers_pool SET rental_id = NULL
		WHERE rental_id IN (SELECT id FROM numbers_rentals WHERE user_id = ?)`, userID)
	return err
}
