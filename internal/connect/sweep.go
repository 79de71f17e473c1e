package connect

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/linkbox/linkbox/internal/db"
)

// Sweep deletes the OTPs and link tokens dead for over deadRowTTL, at most
// db.SweepBatch rows per transaction, and erases the OTPs' codes from the
// inbox as any other death of an OTP does. The server runs it periodically.
//
// Dead rows are found by walking the table in key order on the read pool,
// which on SQLite never blocks the writer (see db.SweepExpired). The writer
// only deletes by key, checking the expiry again: a row replaced since it
// was read is alive.
func (s *Service) Sweep(ctx context.Context) error {
	cutoff := s.now().Add(-deadRowTTL).UnixMilli()
	err := db.WalkKeys(func(after otpKey) ([]otpKey, error) {
		return db.QueryAll(ctx, s.db, func(rows *sql.Rows) (k otpKey, err error) {
			return k, rows.Scan(&k.appID, &k.extID, &k.reference)
		}, `SELECT app_id, external_user_id, reference FROM otps
			WHERE (app_id, external_user_id, reference) > (?, ?, ?) AND expires_at <= ?
			ORDER BY app_id, external_user_id, reference LIMIT ?`,
			after.appID, after.extID, after.reference, cutoff, db.SweepBatch)
	}, func(dead []otpKey) error {
		return s.dropDeadOTPs(ctx, dead, cutoff)
	})
	if err != nil {
		return fmt.Errorf("connect: sweep OTPs: %w", err)
	}
	if _, err := s.db.SweepExpired(ctx, "link_tokens", "token_hash", "expires_at", cutoff); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}

// otpKey is the primary key of an OTP.
type otpKey struct{ appID, extID, reference string }

// dropDeadOTPs deletes, in one transaction, the OTPs of keys still dead for
// over deadRowTTL at cutoff and erases their codes (the inbox announces it).
func (s *Service) dropDeadOTPs(ctx context.Context, keys []otpKey, cutoff int64) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		for _, k := range keys {
			err := s.dropOTPs(ctx, tx, `app_id = ? AND external_user_id = ? AND reference = ? AND expires_at <= ?`,
				k.appID, k.extID, k.reference, cutoff)
			if err != nil {
				return err
			}
		}
		return nil
	})
}
