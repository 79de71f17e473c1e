package db

import (
	"context"
	"fmt"
)

// EraseSetting deletes the setting key so that its value does not linger in
// the store's files: a value that must no longer be found in a copy of the
// store, such as the master secret older versions kept there. A plain
// DELETE leaves the row's bytes in its page until the space is reused, so on
// SQLite the delete runs with secure_delete on, which overwrites them with
// zeros, and the WAL is then folded into the database file and truncated.
// On PostgreSQL the dead row stays in the table's file until VACUUM reuses
// its space.
func (d *DB) EraseSetting(ctx context.Context, key string) error {
	err := d.InTx(ctx, func(ctx context.Context, tx *Tx) error {
		if d.Dialect != SQLite {
			_, err := tx.Exec(ctx, `DELETE FROM settings WHERE key = ?`, key)
			return err
		}
		// The pragma is the connection's, not the transaction's: it is
		// turned off again whatever the delete did.
		if _, err := tx.Exec(ctx, `PRAGMA secure_delete = ON`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM settings WHERE key = ?`, key)
		if _, offErr := tx.Exec(ctx, `PRAGMA secure_delete = OFF`); err == nil {
			err = offErr
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("db: erase setting %s: %w", key, err)
	}
	if d.ckpt == nil {
		return nil
	}
	// Until this checkpoint the database file holds the page as it was. One
	// that cannot finish (another process reading) leaves it to the next
	// tick's, a second later.
	_, err = d.ckpt.checkpoint(ctx, "TRUNCATE")
	return err
}
