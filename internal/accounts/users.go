package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
)

// Roles.
const (
	RoleUser  = "user"
	RoleAgent = "agent"
	RoleAdmin = "admin"
)

// Account statuses.
const (
	StatusPending   = "pending" // signed up, code not yet entered
	StatusActive    = "active"
	StatusBlocked   = "blocked"
	StatusSuspended = "suspended"
)

// User is an account.
type User struct {
	ID         string
	Phone      string // E.164
	FirstName  string
	LastName   string
	Email      string
	Username   string // "" when not chosen
	Role       string
	Status     string
	CreatedAt  time.Time
	VerifiedAt time.Time // zero until verified
	// SessionsValidAfter is the cut-off of the account's credentials:
	// access tokens and page sessions issued before it are refused.
	SessionsValidAfter time.Time
	hash               string // argon2id, PHC format
}

// Principal is who an access token speaks for, as the store says now.
type Principal struct {
	UserID  string
	Role    string
	Status  string
	Session string    // the token's refresh family ("fam_…"); "" for tokens older than sid
	Issued  time.Time // the token's iat
	Expires time.Time // the token's exp
}

// canLogIn is nil for an active account, else the 403 its status calls for.
func (u User) canLogIn() error {
	switch u.Status {
	case StatusActive:
		return nil
	case StatusPending:
		return errAccountPending
	case StatusBlocked:
		return errAccountBlocked
	case StatusSuspended:
		return errAccountSuspended
	}
	return errs.Wrap(fmt.Errorf("accounts: user %s has unknown status %q", u.ID, u.Status))
}

const userColumns = `id, phone, password_hash, first_name, last_name, email, username, role, status, created_at, verified_at, sessions_valid_after`

// userRow receives a users row.
type userRow struct {
	u          User
	username   sql.NullString
	created    int64
	verified   sql.NullInt64
	validAfter int64
}

// dest lists where the columns of userColumns go, in order.
func (r *userRow) dest() []any {
	return []any{&r.u.ID, &r.u.Phone, &r.u.hash, &r.u.FirstName, &r.u.LastName, &r.u.Email, &r.username,
		&r.u.Role, &r.u.Status, &r.created, &r.verified, &r.validAfter}
}

func (r *userRow) user() User {
	u := r.u
	u.Username = r.username.String
	u.CreatedAt = time.UnixMilli(r.created).UTC()
	if r.validAfter > 0 {
		u.SessionsValidAfter = time.UnixMilli(r.validAfter).UTC()
	}
	if r.verified.Valid {
		u.VerifiedAt = time.UnixMilli(r.verified.Int64).UTC()
	}
	return u
}

func scanUser(row *db.Row) (User, error) {
	var r userRow
	if err := row.Scan(r.dest()...); err != nil {
		return User{}, err
	}
	return r.user(), nil
}

func userByID(ctx context.Context, q db.Querier, id string) (User, error) {
	return scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

func userByPhone(ctx context.Context, q db.Querier, phone string) (User, error) {
	return scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE phone = ?`, phone))
}

// insertUser writes u; a phone or username already held is db.ErrConflict.
func insertUser(ctx context.Context, tx *db.Tx, u User) error {
	var verified, username any
	if !u.VerifiedAt.IsZero() {
		verified = u.VerifiedAt.UnixMilli()
	}
	if u.Username != "" {
		username = u.Username
	}
	_, err := tx.Exec(ctx, `INSERT INTO users (`+userColumns+`, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
		u.ID, u.Phone, u.hash, u.FirstName, u.LastName, u.Email, username,
		u.Role, u.Status, u.CreatedAt.UnixMilli(), verified, u.CreatedAt.UnixMilli())
	return err
}

// lapsedPending holds for a pending account, never verified, that has no
// verification code live after the cutoff it takes as its one argument (Unix
// milliseconds). Such an account can no longer be verified.
const lapsedPending = `status = '` + StatusPending + `' AND verified_at IS NULL AND NOT EXISTS (
	SELECT 1 FROM verification_codes c
	WHERE c.user_id = users.id AND c.purpose = '` + purposeVerify + `' AND c.expires_at > ?)`

// deleteStalePending frees phone from a pending account whose verification
// code has expired (or was never sent), so that nobody can squat a number
// they cannot receive SMS on. Its codes go with it (ON DELETE CASCADE).
func deleteStalePending(ctx context.Context, tx *db.Tx, phone string, now time.Time) error {
	_, err := tx.Exec(ctx, `DELETE FROM users WHERE phone = ? AND `+lapsedPending, phone, now.UnixMilli())
	return err
}

// createUser inserts u after freeing its phone from a stale pending account,
// turning a unique violation into phone_taken or username_taken.
func (s *Service) createUser(ctx context.Context, u User, then func(tx *db.Tx) error) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if err := deleteStalePending(ctx, tx, u.Phone, u.CreatedAt); err != nil {
			return err
		}
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		return then(tx)
	})
	if errors.Is(err, db.ErrConflict) {
		return s.whichTaken(ctx, u)
	}
	return err
}

// whichTaken tells which unique field a failed insert collided on; the
// drivers' errors name constraints differently, so the store is asked.
func (s *Service) whichTaken(ctx context.Context, u User) error {
	_, err := userByPhone(ctx, s.db, u.Phone)
	switch {
	case err == nil || u.Username == "":
		return errPhoneTaken
	case errors.Is(err, db.ErrNotFound):
		return errUsernameTaken
	}
	return err
}

// userJSON is the seed's User object as the sign-up example shows it:
// without verified_at, which a new account cannot have.
type userJSON struct {
	ID                   string `json:"id"`
	Object               string `json:"object"`
	Phone                string `json:"phone"`
	FirstName            string `json:"first_name"`
	LastName             string `json:"last_name"`
	Email                string `json:"email"`
	Username             string `json:"username,omitempty"`
	Role                 string `json:"role"`
	Status               string `json:"status"`
	CreatedAt            string `json:"created_at"`
	VerificationRequired bool   `json:"verification_required"`
}

// fullUserJSON is the whole User object, verified_at null until verified.
type fullUserJSON struct {
	userJSON
	VerifiedAt *string `json:"verified_at"`
}

func (u User) signupJSON() userJSON {
	return userJSON{
		ID: u.ID, Object: "user", Phone: u.Phone, FirstName: u.FirstName, LastName: u.LastName,
		Email: u.Email, Username: u.Username, Role: u.Role, Status: u.Status,
		CreatedAt:            formatTime(u.CreatedAt),
		VerificationRequired: u.VerifiedAt.IsZero(),
	}
}

// FullUser returns u as the API's full User object, verified_at included,
// ready for encoding/json: what GET /v1/auth/me answers and the admin
// commands print.
func FullUser(u User) any { return u.fullJSON() }

func (u User) fullJSON() fullUserJSON {
	j := fullUserJSON{userJSON: u.signupJSON()}
	if !u.VerifiedAt.IsZero() {
		v := formatTime(u.VerifiedAt)
		j.VerifiedAt = &v
	}
	return j
}

// loginUserJSON is the user inside the seed's token object.
type loginUserJSON struct {
	ID        string `json:"id"`
	Phone     string `json:"phone"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Username  string `json:"username,omitempty"`
	Role      string `json:"role"`
	Status    string `json:"status"`
}

func (u User) loginJSON() loginUserJSON {
	return loginUserJSON{ID: u.ID, Phone: u.Phone, FirstName: u.FirstName, LastName: u.LastName,
		Email: u.Email, Username: u.Username, Role: u.Role, Status: u.Status}
}

// formatTime is RFC 3339 in UTC to the second, as in the seed.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
