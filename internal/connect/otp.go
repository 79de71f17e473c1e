package connect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/inbox"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/secrets"
)

// handleSendOTP is POST /api/otp.
func (s *Service) handleSendOTP(w http.ResponseWriter, r *http.Request, app App) error {
	b, err := decode(w, r)
	if err != nil {
		return err
	}
	q, err := b.sendOTP()
	if err != nil {
		return err
	}
	if err := ratelimit.Take(w, r, s.limiter, s.log, "connect:otp:"+app.ID+"\x00"+q.UserID, otpLimit); err != nil {
		return err
	}
	if err := s.sendOTP(r.Context(), app, q, ids.Digits(6)); err != nil {
		return err
	}
	writeSuccess(w)
	return nil
}

// sendOTP makes code the one live OTP of (app, user_id, reference) and puts it
// in the linked account's inbox, in one transaction: the OTP it replaces dies
// and its code leaves the inbox. Only the code's keyed hash is stored.
func (s *Service) sendOTP(ctx context.Context, app App, q sendOTPRequest, code string) error {
	now := s.now()
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		userID, err := linkedUser(ctx, tx, app.ID, q.UserID)
		if err != nil {
			return err
		}
		// Only the replaced OTP, by its key: the pair's other OTPs may be
		// many (each send may name a new reference), and the sweeper clears
		// the dead ones off this hot path. The inbox announces the new
		// message and the replaced one's dead code once, after the commit.
		if err := s.dropOTPs(ctx, tx, `app_id = ? AND external_user_id = ? AND reference = ?`,
			app.ID, q.UserID, q.Reference); err != nil {
			return err
		}
		expires := now.Add(app.OTPTTL)
		msgNum, err := s.inbox.Add(ctx, tx, inbox.NewMessage{
			UserID: userID, Source: inbox.Source{Kind: inbox.SourceApp, ID: app.ID, Name: app.Name},
			Type: inbox.TypeOTP, Message: q.Message, Code: code, Reference: q.Reference, ExpiresAt: expires,
		})
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO otps
			(app_id, external_user_id, reference, user_id, code_hash, message_id, attempts, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)`,
			app.ID, q.UserID, q.Reference, userID, s.otpHash(app.ID, q.UserID, q.Reference, code), msgNum,
			now.UnixMilli(), expires.UnixMilli())
		if err != nil {
			return err
		}
		return s.scheduleExpiry(ctx, tx, app, otpExpiry{AppID: app.ID, UserID: q.UserID, Reference: q.Reference, Message: msgNum}, expires)
	})
	if err != nil {
		return fmt.Errorf("connect: send OTP: %w", err)
	}
	return nil
}

// otpHash binds a code to its app, user and reference, so a stored hash
// matches no code sent for anything else.
func (s *Service) otpHash(appID, extID, reference, code string) string {
	return s.keys.Hash("otp", appID+"\x00"+extID+"\x00"+reference+"\x00"+code)
}

// handleVerifyOTP is POST /api/otp/verify.
func (s *Service) handleVerifyOTP(w http.ResponseWriter, r *http.Request, app App) error {
	b, err := decode(w, r)
	if err != nil {
		return err
	}
	q, err := b.verifyOTP()
	if err != nil {
		return err
	}
	if err := s.verifyOTP(r.Context(), app.ID, q); err != nil {
		return err
	}
	writeSuccess(w)
	return nil
}

// verifyOTP spends one try on the OTP of (app, user_id, reference). The
// verdict (nil: the code matched) is returned after the transaction commits,
// so that a wrong try stays counted.
func (s *Service) verifyOTP(ctx context.Context, appID string, q verifyOTPRequest) error {
	now := s.now()
	var verdict error
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		verdict, err = s.tryOTP(ctx, tx, appID, q, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("connect: verify OTP: %w", err)
	}
	return verdict
}

// tryOTP counts the try before comparing, with a conditional update that
// takes the row's lock, so that concurrent guesses cannot share one try. A
// match deletes the OTP; the last allowed wrong try kills it. Either way its
// code leaves the inbox. An OTP exists only
// while its pair is linked (its foreign key to links; unlink, relink and app
// deletion drop OTPs first, to erase their codes), so the link is looked up
// only when there is none.
func (s *Service) tryOTP(ctx context.Context, tx *db.Tx, appID string, q verifyOTPRequest, now time.Time) (verdict, err error) {
	var (
		hash, userID string
		msgNum       int64
		attempts     int
	)
	err = tx.QueryRow(ctx, `UPDATE otps SET attempts = attempts + 1
		WHERE app_id = ? AND external_user_id = ? AND reference = ? AND attempts < ? AND expires_at > ?
		RETURNING code_hash, message_id, user_id, attempts`,
		appID, q.UserID, q.Reference, maxOTPAttempts, now.UnixMilli()).Scan(&hash, &msgNum, &userID, &attempts)
	if errors.Is(err, db.ErrNotFound) {
		return deadOTPReason(ctx, tx, appID, q, now)
	}
	if err != nil {
		return nil, err
	}
	if !secrets.Equal(hash, s.otpHash(appID, q.UserID, q.Reference, q.Code)) {
		if attempts < maxOTPAttempts {
			return errInvalidOTP, nil
		}
		return errInvalidOTP, s.inbox.EraseCode(ctx, tx, msgNum)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM otps WHERE app_id = ? AND external_user_id = ? AND reference = ?`,
		appID, q.UserID, q.Reference); err != nil {
		return nil, err
	}
	return nil, s.inbox.EraseCode(ctx, tx, msgNum)
}

// deadOTPReason explains why no try could be spent: the user is not linked,
// there is no such OTP (never sent, or already used), it expired, or wrong
// tries killed it.
func deadOTPReason(ctx context.Context, tx *db.Tx, appID string, q verifyOTPRequest, now time.Time) (verdict, err error) {
	_, err = linkedUser(ctx, tx, appID, q.UserID)
	switch {
	case errors.Is(err, errUserNotLinked):
		return errUserNotLinked, nil
	case err != nil:
		return nil, err
	}
	var expires int64
	err = tx.QueryRow(ctx, `SELECT expires_at FROM otps WHERE app_id = ? AND external_user_id = ? AND reference = ?`,
		appID, q.UserID, q.Reference).Scan(&expires)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return errInvalidOTP, nil
	case err != nil:
		return nil, err
	case expires <= now.UnixMilli():
		return errOTPExpired, nil
	}
	return errTooManyAttempts, nil
}

// dropOTPs deletes the OTPs matching where, a condition on otps taking args,
// and erases their codes from the inbox.
func (s *Service) dropOTPs(ctx context.Context, tx *db.Tx, where string, args ...any) error {
	nums, err := db.QueryAll(ctx, tx, db.Column[int64], `DELETE FROM otps WHERE `+where+` RETURNING message_id`, args...)
	if err != nil {
		return err
	}
	for _, num := range nums {
		if err := s.inbox.EraseCode(ctx, tx, num); err != nil {
			return err
		}
	}
	return nil
}
