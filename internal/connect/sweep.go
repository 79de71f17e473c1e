package connect

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/linkbox/linkbox/internal/db"
)

const (
	// sweepInterval is how often RunSweeper looks for rows dead for over
	// deadRowTTL: they wait at most this long past it.
	sweepInterval = 10 * time.Minute
	// sweepBatch bounds the rows one sweep transaction deletes: on SQLite
	// every write queues behind it, so it must hold the writer for
	// milliseconds, however much there is to sweep.
	sweepBatch = 500
)

// RunSweeper sweeps at once, then every sweepInterval, until ctx ends. A
// failed sweep is logged, and the next one takes up what it left.
func (s *Service) RunSweeper(ctx context.Context) {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "connect: sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep deletes the OTPs and link tokens dead for over deadRowTTL, at most
// sweepBatch rows per transaction, and erases the OTPs' codes from the
// inbox as any other death of an OTP does.
//
// Both tables are ordered by key, not by time, so dead rows are found by
// walking the table in key order on the read pool, which on SQLite never
// blocks the writer. The writer only deletes by key, checking the expiry
// again: a row replaced since it was read is alive.
func (s *Service) Sweep(ctx context.Context) error {
	cutoff := s.now().Add(-deadRowTTL).UnixMilli()
	err := walkDead(func(after otpKey) ([]otpKey, error) {
		return db.QueryAll(ctx, s.db, func(rows *sql.Rows) (k otpKey, err error) {
			return k, rows.Scan(&k.appID, &k.extID, &k.reference)
		}, `SELECT app_id, external_user_id, reference FROM otps
			WHERE (app_id, external_user_id, reference) > (?, ?, ?) AND expires_at <= ?
			ORDER BY app_id, external_user_id, reference LIMIT ?`,
			after.appID, after.extID, after.reference, cutoff, sweepBatch)
	}, func(dead []otpKey) error {
		return s.dropDeadOTPs(ctx, dead, cutoff)
	})
	if err != nil {
		return fmt.Errorf("connect: sweep OTPs: %w", err)
	}
	err = walkDead(func(after string) ([]string, error) {
		return db.QueryAll(ctx, s.db, func(rows *sql.Rows) (hash string, err error) {
			return hash, rows.Scan(&hash)
		}, `SELECT token_hash FROM link_tokens WHERE token_hash > ? AND expires_at <= ?
			ORDER BY token_hash LIMIT ?`, after, cutoff, sweepBatch)
	}, func(dead []string) error {
		return s.db.InTx(ctx, func(tx *db.Tx) error {
			for _, hash := range dead {
				if _, err := tx.Exec(ctx, `DELETE FROM link_tokens WHERE token_hash = ? AND expires_at <= ?`,
					hash, cutoff); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("connect: sweep link tokens: %w", err)
	}
	return nil
}

// otpKey is the primary key of an OTP.
type otpKey struct{ appID, extID, reference string }

// walkDead pages through a table's dead rows in key order: next returns at
// most sweepBatch keys after the one given (the zero key first), and drop
// deletes them in one transaction.
func walkDead[K any](next func(after K) ([]K, error), drop func([]K) error) error {
	var after K
	for {
		keys, err := next(after)
		if err != nil || len(keys) == 0 {
			return err
		}
		if err := drop(keys); err != nil {
			return err
		}
		if len(keys) < sweepBatch {
			return nil
		}
		after = keys[len(keys)-1]
	}
}

// dropDeadOTPs deletes, in one transaction, the OTPs of keys still dead for
// over deadRowTTL at cutoff, erases their codes, then tells the inbox.
func (s *Service) dropDeadOTPs(ctx context.Context, keys []otpKey, cutoff int64) error {
	var changed []string
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		for _, k := range keys {
			users, err := s.dropOTPs(ctx, tx, `app_id = ? AND external_user_id = ? AND reference = ? AND expires_at <= ?`,
				k.appID, k.extID, k.reference, cutoff)
			if err != nil {
				return err
			}
			for _, u := range users {
				changed = appendUnique(changed, u)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.erased(ctx, changed)
	return nil
}
