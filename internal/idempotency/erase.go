package idempotency

import (
	"context"

	"github.com/linkbox/linkbox/internal/db"
)

// EraseUser deletes the answers kept under the account's scope, inside the
// transaction that deletes the account (accounts.Eraser): the surfaces
// scope keys by account id, and no foreign key ties a key to it.
func (s *Store) EraseUser(ctx context.Context, tx *db.Tx, userID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = ?`, userID)
	return err
}
