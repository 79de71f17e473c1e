package accounts

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ids"
)

// Signup creates a pending account with role user and sends its
// verification code by SMS. Asking for another role is role_not_allowed:
// agents and admins come from CreateUser.
func (s *Service) Signup(ctx context.Context, n NewUser, c Caller) (User, error) {
	if err := s.admit(ctx, actSignup, c); err != nil {
		return User{}, err
	}
	n, err := n.normalize()
	if err != nil {
		return User{}, err
	}
	if n.Role != RoleUser {
		return User{}, errRoleNotAllowed
	}
	u, err := s.newUser(ctx, n, StatusPending)
	if err != nil {
		return User{}, err
	}
	err = s.createUser(ctx, u, func(tx *db.Tx) error {
		return s.sendCode(ctx, tx, u, purposeVerify, u.CreatedAt)
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// newUser hashes the password of the validated n, outside any transaction:
// SQLite has one writer, which must not wait on argon2id.
func (s *Service) newUser(ctx context.Context, n NewUser, status string) (User, error) {
	hash, err := s.hasher.hash(ctx, n.Password)
	if err != nil {
		return User{}, err
	}
	return User{
		ID: ids.New("user_"), Phone: n.Phone, FirstName: n.FirstName, LastName: n.LastName,
		Email: n.Email, Username: n.Username, Role: n.Role, Status: status,
		CreatedAt: s.now(), hash: hash,
	}, nil
}

// Verify checks the code sent to phone at sign-up and activates the
// account. Wrong codes count against the code's five attempts. An unknown
// phone, an account already verified and a wrong code get one answer,
// invalid_code, so that verify cannot tell who has an account.
func (s *Service) Verify(ctx context.Context, phone, code string, c Caller) (User, error) {
	if err := s.admit(ctx, actVerify, c); err != nil {
		return User{}, err
	}
	phone, err := normalizePhone("phone", phone)
	if err != nil {
		return User{}, err
	}
	if err := checkCode("verification_code", code); err != nil {
		return User{}, err
	}
	var u User
	err = s.withCode(ctx, phone, purposeVerify, code, func(tx *db.Tx, found User, now time.Time) error {
		u = found
		u.VerifiedAt = now
		if u.Status == StatusPending {
			u.Status = StatusActive
		}
		_, err := tx.Exec(ctx, `UPDATE users SET status = ?, verified_at = ?, updated_at = ? WHERE id = ?`,
			u.Status, now.UnixMilli(), now.UnixMilli(), u.ID)
		return err
	})
	return u, err
}

// withCode runs then, in one transaction with the check of code, for the
// account of phone when code is its live code for purpose. An unknown phone,
// and for verification an account already verified, is invalid_code, like a
// wrong code. A wrong code's attempt is committed.
func (s *Service) withCode(ctx context.Context, phone, purpose, code string, then func(*db.Tx, User, time.Time) error) error {
	now := s.now()
	var verdict error
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		u, err := userByPhone(ctx, tx, phone)
		if errors.Is(err, db.ErrNotFound) {
			verdict = errInvalidCode
			return nil
		}
		if err != nil {
			return err
		}
		if purpose == purposeVerify && !u.VerifiedAt.IsZero() {
			verdict = errInvalidCode
			return nil
		}
		if verdict, err = s.useCode(ctx, tx, u, purpose, code, now); err != nil || verdict != nil {
			return err
		}
		return then(tx, u, now)
	})
	if err == nil {
		err = verdict
	}
	return err
}

// resendMessage is the one answer to a resend, whoever asks.
const resendMessage = "If an account waiting for verification has this phone number, a new verification code has been sent to it"

// Resend sends a new verification code to the pending account of phone,
// replacing the previous one. The phone's SMS quota applies: one per
// minute, five per hour. Like Forgot it answers nil whether or not there is
// such an account, and when the quota or the SMS budget refuses, so that
// resend cannot tell who has an account; an unknown phone spends no quota,
// so a stranger cannot spend that of a sign-up to come.
func (s *Service) Resend(ctx context.Context, phone string, c Caller) error {
	if err := s.admit(ctx, actResend, c); err != nil {
		return err
	}
	phone, err := normalizePhone("phone", phone)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		u, err := userByPhone(ctx, tx, phone)
		switch {
		case errors.Is(err, db.ErrNotFound) || (err == nil && !u.VerifiedAt.IsZero()):
			return nil
		case err != nil:
			return err
		}
		return s.sendCode(ctx, tx, u, purposeVerify, s.now())
	})
	return s.quietly(ctx, "resend", err)
}

// signupRequest is the seed's sign-up body, plus an optional username.
type signupRequest struct {
	Phone     string `json:"phone"`
	Password  string `json:"password"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Username  string `json:"username"`
	Role      string `json:"role"`
}

func (s *Service) handleSignup(w http.ResponseWriter, r *http.Request) error {
	var req signupRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	u, err := s.Signup(r.Context(), NewUser(req), APICaller(w, r))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, u.signupJSON())
	return nil
}

// verifyJSON is the seed's verify answer.
type verifyJSON struct {
	Message string `json:"message"`
	User    struct {
		ID         string `json:"id"`
		Status     string `json:"status"`
		VerifiedAt string `json:"verified_at"`
	} `json:"user"`
}

func (s *Service) handleVerify(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Phone string `json:"phone"`
		Code  string `json:"verification_code"`
	}
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	u, err := s.Verify(r.Context(), req.Phone, req.Code, APICaller(w, r))
	if err != nil {
		return err
	}
	var out verifyJSON
	out.Message = "Account verified successfully"
	out.User.ID, out.User.Status, out.User.VerifiedAt = u.ID, u.Status, formatTime(u.VerifiedAt)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// messageJSON is the answer of actions with nothing else to say.
type messageJSON struct {
	Message string `json:"message"`
}

func (s *Service) handleResend(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Phone string `json:"phone"`
	}
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	if err := s.Resend(r.Context(), req.Phone, APICaller(w, r)); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, messageJSON{resendMessage})
	return nil
}
