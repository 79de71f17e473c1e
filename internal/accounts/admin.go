package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
)

// CreateUser creates an account of any role, active and verified at once:
// the admin command "linkbox users create".
func (s *Service) CreateUser(ctx context.Context, n NewUser) (User, error) {
	n, err := n.normalize()
	if err != nil {
		return User{}, err
	}
	u, err := s.newUser(ctx, n, StatusActive)
	if err != nil {
		return User{}, err
	}
	u.VerifiedAt = u.CreatedAt
	err = s.createUser(ctx, u, func(*db.Tx) error { return nil })
	return u, err
}

// SetStatus sets the status of the account of phone to active, blocked or
// suspended. Blocking or suspending ends every session at once; access
// tokens already out stop working too, since Authenticate reads the status.
// Activating an account never verified vouches for it.
func (s *Service) SetStatus(ctx context.Context, phone, status string) (User, error) {
	phone, err := normalizePhone("phone", phone)
	if err != nil {
		return User{}, err
	}
	if status != StatusActive && status != StatusBlocked && status != StatusSuspended {
		return User{}, invalid("invalid_status", "Status must be active, blocked or suspended")
	}
	now := s.now()
	var u User
	err = s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := db.ExecOne(ctx, tx, `UPDATE users SET status = ?, updated_at = ?,
			verified_at = CASE WHEN ? = 'active' THEN COALESCE(verified_at, ?) ELSE verified_at END
			WHERE phone = ?`, status, now.UnixMilli(), status, now.UnixMilli(), phone)
		if errors.Is(err, db.ErrNotFound) {
			return errUserNotFound
		}
		if err != nil {
			return err
		}
		if u, err = userByPhone(ctx, tx, phone); err != nil || status == StatusActive {
			return err
		}
		return s.revokeUser(ctx, tx, u.ID, now)
	})
	return u, err
}

// ListUsers returns the accounts of status ("" for every status) created
// after the account after ("" from the first), oldest first, at most limit
// of them: page on by passing the last one's id.
func (s *Service) ListUsers(ctx context.Context, status, after string, limit int) ([]User, error) {
	switch status {
	case "", StatusPending, StatusActive, StatusBlocked, StatusSuspended:
	default:
		return nil, invalid("invalid_status", "Status must be pending, active, blocked or suspended")
	}
	var afterCreated int64 = -1
	if after != "" {
		u, err := userByID(ctx, s.db, after)
		if err != nil {
			return nil, fmt.Errorf("accounts: list users after %s: %w", after, err)
		}
		afterCreated = u.CreatedAt.UnixMilli()
	}
	return db.QueryAll(ctx, s.db, func(rows *sql.Rows) (User, error) {
		var r userRow
		if err := rows.Scan(r.dest()...); err != nil {
			return User{}, err
		}
		return r.user(), nil
	}, `SELECT `+userColumns+` FROM users WHERE (? = '' OR status = ?) AND (created_at, id) > (?, ?)
		ORDER BY created_at, id LIMIT ?`, status, status, afterCreated, after, limit)
}

// UserByID returns the account id; user_not_found when there is none.
func (s *Service) UserByID(ctx context.Context, id string) (User, error) {
	u, err := userByID(ctx, s.db, id)
	if errors.Is(err, db.ErrNotFound) {
		return User{}, errs.E(errs.NotFound, "user_not_found", "No account has this id")
	}
	return u, err
}

// RotateKey makes a new key sign access tokens, and returns its kid. The
// old key keeps verifying the tokens it signed until they expire; other
// instances start signing with the new key within a minute.
func (s *Service) RotateKey(ctx context.Context) (string, error) {
	return s.signing.rotate(ctx)
}
