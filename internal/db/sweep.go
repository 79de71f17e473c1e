package db

import (
	"context"
	"fmt"
)

// SweepBatch bounds the rows one sweep transaction deletes: on SQLite every
// write queues behind it, so it must hold the writer for milliseconds,
// however much there is to sweep.
const SweepBatch = 500

// WalkKeys pages through rows in key order: next returns at most SweepBatch
// keys after the one given (the zero key first), and drop handles them,
// typically deleting them in one transaction. It stops at a short page or
// the first error.
func WalkKeys[K any](next func(after K) ([]K, error), drop func([]K) error) error {
	var after K
	for {
		keys, err := next(after)
		if err != nil || len(keys) == 0 {
			return err
		}
		if err := drop(keys); err != nil {
			return err
		}
		if len(keys) < SweepBatch {
			return nil
		}
		after = keys[len(keys)-1]
	}
}

// SweepExpired deletes the rows of table whose column expires (Unix
// milliseconds) is at or before cutoff, and returns how many it deleted.
// key is the table's primary key, a single text column; table, key and
// expires are identifiers from the code, never from input.
//
// Tables are ordered by key, not by time, so the dead rows are found by
// walking the table in key order on the read pool, which on SQLite never
// blocks the writer. The writer only deletes by key, SweepBatch rows per
// transaction, checking the expiry again: a row renewed since it was read
// stays.
func (d *DB) SweepExpired(ctx context.Context, table, key, expires string, cutoff int64) (int, error) {
	deleted := 0
	err := WalkKeys(func(after string) ([]string, error) {
		return QueryAll(ctx, d, Column[string], `SELECT `+key+` FROM `+table+` WHERE `+key+` > ? AND `+expires+` <= ? ORDER BY `+key+` LIMIT ?`,
			after, cutoff, SweepBatch)
	}, func(dead []string) error {
		return d.InTx(ctx, func(ctx context.Context, tx *Tx) error {
			for _, k := range dead {
				res, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE `+key+` = ? AND `+expires+` <= ?`, k, cutoff)
				if err != nil {
					return err
				}
				n, err := res.RowsAffected()
				if err != nil {
					return err
				}
				deleted += int(n)
			}
			return nil
		})
	})
	if err != nil {
		return deleted, fmt.Errorf("db: sweep %s: %w", table, err)
	}
	return deleted, nil
}
