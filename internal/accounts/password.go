package accounts

import (
	"context"
	"errors"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
)

// errWrongPassword is ChangePassword's answer to a wrong current password:
// the caller is signed in already, so it is told which field is wrong.
var errWrongPassword = errs.E(errs.Invalid, "wrong_password", "The current password is wrong")

// ChangePassword sets the password of the active account userID to next,
// given its current password. Wrong current passwords count against the
// login failure limits of the account's phone and of the caller's IP, and
// the request against the login action's per-IP limit, so that a stolen
// page session cannot guess faster than the login form; next follows the
// sign-up rules. Every session of the account then ends, as after a reset:
// the caller starts a new one for the browser that asked.
func (s *Service) ChangePassword(ctx context.Context, userID, current, next string, c Caller) error {
	if err := s.admit(ctx, actLogin, c); err != nil {
		return err
	}
	if current == "" {
		return missingField("current_password")
	}
	if err := checkPassword("new_password", next); err != nil {
		return err
	}
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := u.canLogIn(); err != nil {
		return err
	}
	keys := []string{"login:phone:" + u.Phone, "login:ip:" + httpx.IPKey(c.IP)}
	if err := s.loginAllowed(ctx, keys); err != nil {
		return err
	}
	if ok, err := s.hasher.verify(ctx, u.hash, current); err != nil || !ok {
		if err == nil {
			s.countFailure(ctx, keys)
			err = errWrongPassword
		}
		return err
	}
	hash, err := s.hasher.hash(ctx, next)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		now := s.now()
		// The old hash in the condition: a change or reset that committed
		// since the check wins, and this one is refused.
		err := db.ExecOne(ctx, tx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?`,
			hash, now.UnixMilli(), u.ID, u.hash)
		if errors.Is(err, db.ErrNotFound) {
			return errWrongPassword
		}
		if err != nil {
			return err
		}
		return s.revokeUser(ctx, tx, u.ID, now)
	})
	if err == nil {
		s.log.InfoContext(ctx, "password changed", "user_id", u.ID)
	}
	return err
}
