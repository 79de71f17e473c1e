package accounts

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
)

// forgotMessage is the one answer to a forgotten password, whoever asks.
const forgotMessage = "If an active account has this phone number, a password reset code has been sent to it"

// Forgot sends a password reset code to the active account of phone. It
// answers the same — nil — whether or not there is one, and when the
// phone's reset quota or the SMS budget refuses, so it cannot tell who has
// an account. The reset quota is counted for every phone asked about, which
// also gives both cases about the same work; it is the reset purpose's own,
// so asking cannot block the phone's sign-up code.
func (s *Service) Forgot(ctx context.Context, phone string, c Caller) error {
	if err := s.admit(ctx, actForgot, c); err != nil {
		return err
	}
	phone, err := normalizePhone("phone", phone)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		now := s.now()
		if err := takeSMSQuota(ctx, tx, purposeReset, phone, now); err != nil {
			return err
		}
		u, err := userByPhone(ctx, tx, phone)
		if errors.Is(err, db.ErrNotFound) || (err == nil && u.Status != StatusActive) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.queueCode(ctx, tx, u, purposeReset, now)
	})
	return s.quietly(ctx, "forgot", err)
}

// quietly ends an action that must answer the same whoever asks: a refusal
// of the SMS quota, budget or destination becomes nil (logged).
func (s *Service) quietly(ctx context.Context, action string, err error) error {
	if e := errs.From(err); err != nil && (e.Kind == errs.TooMany || e.Code == smsCountryRefused) {
		s.log.InfoContext(ctx, "SMS refused; the answer does not say so", "action", action, "code", e.Code)
		return nil
	}
	return err
}

// Reset sets a new password for the account of phone, given the code that
// Forgot sent, and ends every session of the account: whoever knew the old
// password is logged out.
func (s *Service) Reset(ctx context.Context, phone, code, password string, c Caller) error {
	if err := s.admit(ctx, actReset, c); err != nil {
		return err
	}
	phone, err := normalizePhone("phone", phone)
	if err != nil {
		return err
	}
	if err := checkCode("code", code); err != nil {
		return err
	}
	if err := checkPassword("new_password", password); err != nil {
		return err
	}
	// Hashed before the transaction, which must not hold SQLite's only
	// writer through argon2id; a wrong code wastes the hash, but the
	// attempt cap and the rate limits bound how often.
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.withCode(ctx, phone, purposeReset, code, func(tx *db.Tx, u User, now time.Time) error {
		if err := db.ExecOne(ctx, tx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`,
			hash, now.UnixMilli(), u.ID); err != nil {
			return err
		}
		return s.revokeUser(ctx, tx, u.ID, now)
	})
}

func (s *Service) handleForgot(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Phone string `json:"phone"`
	}
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	if err := s.Forgot(r.Context(), req.Phone, APICaller(w, r)); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, messageJSON{forgotMessage})
	return nil
}

func (s *Service) handleReset(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Phone       string `json:"phone"`
		Code        string `json:"code"`
		NewPassword string `json:"new_password"`
	}
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	if err := s.Reset(r.Context(), req.Phone, req.Code, req.NewPassword, APICaller(w, r)); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, messageJSON{"Password reset successfully; sign in with the new password"})
	return nil
}
