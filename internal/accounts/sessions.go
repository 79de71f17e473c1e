package accounts

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
)

// refreshPrefix starts every refresh token, telling it apart from a JWT.
const refreshPrefix = "rt_"

// TokenPair is the seed's Token object.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"` // always "bearer"
	ExpiresIn    int    `json:"expires_in"` // seconds
	RefreshToken string `json:"refresh_token"`
}

// IssueSession starts a session for the active account userID: a new
// refresh token family and an access token.
func (s *Service) IssueSession(ctx context.Context, userID string) (TokenPair, error) {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return TokenPair{}, err
	}
	return s.issueSession(ctx, u)
}

func (s *Service) issueSession(ctx context.Context, u User) (TokenPair, error) {
	if err := u.canLogIn(); err != nil {
		return TokenPair{}, err
	}
	now := s.now()
	refresh, family := s.newRefresh(), ids.New("fam_")
	// Expired refresh tokens are left to Sweep.
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		return insertRefresh(ctx, tx, refresh, u.ID, family, now)
	})
	if err != nil {
		return TokenPair{}, err
	}
	return s.pair(ctx, u, refresh.token, family, now)
}

// pair completes a session's token object with a fresh access token of the
// session family.
func (s *Service) pair(ctx context.Context, u User, refresh, family string, now time.Time) (TokenPair, error) {
	access, err := s.signAccess(ctx, u, family, now)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, TokenType: "bearer", ExpiresIn: int(s.cfg.AccessTTL / time.Second), RefreshToken: refresh}, nil
}

// newRefresh is a refresh token to store, made before the transaction so
// that SQLite's only writer spends no time on randomness and hashing.
type newRefresh struct{ id, token, hash string }

func (s *Service) newRefresh() newRefresh {
	token := ids.Token(refreshPrefix, 32)
	return newRefresh{id: ids.New("rtk_"), token: token, hash: s.refreshHash(token)}
}

// insertRefresh stores t in family, only its keyed hash.
func insertRefresh(ctx context.Context, tx *db.Tx, t newRefresh, userID, family string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		t.id, family, userID, t.hash, now.UnixMilli(), now.Add(refreshTTL).UnixMilli())
	if err != nil {
		return fmt.Errorf("accounts: store refresh token: %w", err)
	}
	return nil
}

func (s *Service) refreshHash(token string) string {
	return s.keys.Hash("refresh-token", token)
}

// refreshRow is a stored refresh token.
type refreshRow struct {
	id, family, userID, hash string
	expiresAt, usedAt        int64
	used, revoked            bool
	successor                string // sealed; read by findRefresh only
}

func findRefresh(ctx context.Context, q db.Querier, hash string) (refreshRow, error) {
	var (
		r             refreshRow
		used, revoked sql.NullInt64
		successor     sql.NullString
	)
	err := q.QueryRow(ctx, `SELECT id, family_id, user_id, expires_at, used_at, revoked_at, successor
		FROM refresh_tokens WHERE token_hash = ?`, hash).Scan(&r.id, &r.family, &r.userID, &r.expiresAt,
		&used, &revoked, &successor)
	r.hash, r.usedAt, r.used, r.revoked, r.successor = hash, used.Int64, used.Valid, revoked.Valid, successor.String
	return r, err
}

// refreshUserQuery reads a refresh token and its user in one query: a
// refresh is the hottest write path, and each read costs SQLite a read
// transaction.
var refreshUserQuery = `SELECT r.id, r.family_id, r.expires_at, r.used_at, r.revoked_at, u.` +
	strings.ReplaceAll(userColumns, ", ", ", u.") +
	` FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE r.token_hash = ?`

func findRefreshAndUser(ctx context.Context, q db.Querier, hash string) (refreshRow, User, error) {
	var (
		r             refreshRow
		ur            userRow
		used, revoked sql.NullInt64
	)
	dest := append([]any{&r.id, &r.family, &r.expiresAt, &used, &revoked}, ur.dest()...)
	if err := q.QueryRow(ctx, refreshUserQuery, hash).Scan(dest...); err != nil {
		return r, User{}, err
	}
	u := ur.user()
	r.userID, r.hash, r.used, r.revoked = u.ID, hash, used.Valid, revoked.Valid
	return r, u, nil
}

// Refresh rotates a refresh token: it is spent, and a new one of the same
// family is returned with a new access token. Presenting a spent token
// again — a replay — revokes the whole family: the server cannot tell the
// thief from the owner. Within refreshGrace of its rotation, though, a
// spent token returns the successor it was rotated to, so that two tabs
// refreshing at once, or a client retrying a refresh whose answer it lost,
// keep their session.
func (s *Service) Refresh(ctx context.Context, token string, c Caller) (TokenPair, User, error) {
	if err := s.admit(ctx, actRefresh, c); err != nil {
		return TokenPair{}, User{}, err
	}
	if err := checkRefreshToken(token); err != nil {
		return TokenPair{}, User{}, err
	}
	now := s.now()
	// Token and user are read outside the transaction, which SQLite runs
	// one at a time; the conditional update in spend settles any race with
	// what was read.
	r, u, err := findRefreshAndUser(ctx, s.db, s.refreshHash(token))
	if err == nil && r.used {
		return s.replay(ctx, r, u, now)
	}
	if err = usable(r, err, now); err != nil {
		return TokenPair{}, User{}, err
	}
	if err := u.canLogIn(); err != nil {
		return TokenPair{}, User{}, err
	}
	next := s.newRefresh()
	var verdict error
	err = s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var txErr error
		verdict, txErr = s.spend(ctx, tx, r, next, now)
		return txErr
	})
	if errors.Is(verdict, errRotated) {
		return s.replay(ctx, r, u, now)
	}
	if err == nil {
		err = verdict
	}
	if err != nil {
		return TokenPair{}, User{}, err
	}
	pair, err := s.pair(ctx, u, next.token, r.family, now)
	return pair, u, err
}

// usable judges the unspent token r as read (err is the read's error).
func usable(r refreshRow, err error, now time.Time) error {
	switch {
	case errors.Is(err, db.ErrNotFound):
		return errInvalidToken
	case err != nil:
		return err
	case r.revoked:
		return errInvalidToken
	case r.expiresAt <= now.UnixMilli():
		return errTokenExpired
	}
	return nil
}

// replay answers a spent token r presented again: within refreshGrace of
// its rotation, with the successor it was rotated to; after that, by
// revoking its family.
func (s *Service) replay(ctx context.Context, r refreshRow, u User, now time.Time) (TokenPair, User, error) {
	r, err := findRefresh(ctx, s.db, r.hash)
	if err != nil {
		return TokenPair{}, User{}, err
	}
	if r.revoked || now.UnixMilli()-r.usedAt > refreshGrace.Milliseconds() || r.successor == "" {
		err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error { return revokeFamily(ctx, tx, r, now) })
		return TokenPair{}, User{}, cmp.Or(err, error(errRefreshReused))
	}
	successor, err := s.keys.Open(successorPurpose, r.successor)
	if err != nil {
		return TokenPair{}, User{}, fmt.Errorf("accounts: open a rotated token's successor: %w", err)
	}
	if err := u.canLogIn(); err != nil {
		return TokenPair{}, User{}, err
	}
	pair, err := s.pair(ctx, u, string(successor), r.family, now)
	return pair, u, err
}

// errRotated is spend's verdict on a token another refresh spent since it
// was read: the caller answers it as a replay.
var errRotated = errors.New("accounts: refresh token rotated concurrently")

// spend marks r used, keeping its successor next sealed for the grace, and
// stores next. If r was revoked since it was read the verdict is
// invalid_token; if it was spent, errRotated.
func (s *Service) spend(ctx context.Context, tx *db.Tx, r refreshRow, next newRefresh, now time.Time) (verdict, err error) {
	err = db.ExecOne(ctx, tx, `UPDATE refresh_tokens SET used_at = ?, successor = ?
		WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL`,
		now.UnixMilli(), s.keys.Seal(successorPurpose, []byte(next.token)), r.id)
	if errors.Is(err, db.ErrNotFound) {
		var used bool
		err = tx.QueryRow(ctx, `SELECT used_at IS NOT NULL AND revoked_at IS NULL FROM refresh_tokens WHERE id = ?`, r.id).Scan(&used)
		if errors.Is(err, db.ErrNotFound) || err == nil && !used {
			return errInvalidToken, nil
		}
		if err != nil {
			return nil, err
		}
		return errRotated, nil
	}
	if err != nil {
		return nil, err
	}
	return nil, insertRefresh(ctx, tx, next, r.userID, r.family, now)
}

// Logout revokes the family of a refresh token: the session it belongs to
// ends everywhere, its event streams included. Logging out twice is no
// error.
func (s *Service) Logout(ctx context.Context, token string, c Caller) error {
	if err := s.admit(ctx, actLogout, c); err != nil {
		return err
	}
	if err := checkRefreshToken(token); err != nil {
		return err
	}
	r, err := findRefresh(ctx, s.db, s.refreshHash(token))
	if errors.Is(err, db.ErrNotFound) {
		return errInvalidToken
	}
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if err := revokeFamily(ctx, tx, r, s.now()); err != nil {
			return err
		}
		return s.revokeElsewhere(ctx, tx, r.userID, r.family)
	})
}

// revokeFamily revokes r and every token of its family.
func revokeFamily(ctx context.Context, tx *db.Tx, r refreshRow, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = ?
		WHERE user_id = ? AND family_id = ? AND revoked_at IS NULL`, now.UnixMilli(), r.userID, r.family)
	return err
}

// revokeUser ends every session of a user: refresh tokens are revoked,
// access tokens and page sessions issued until now refused (the cut-off,
// read with the user wherever a credential is checked), and what the
// revokers hold — page sessions, event streams — ended, all in tx.
func (s *Service) revokeUser(ctx context.Context, tx *db.Tx, userID string, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`,
		now.UnixMilli(), userID); err != nil {
		return err
	}
	if err := db.ExecOne(ctx, tx, `UPDATE users SET sessions_valid_after = ? WHERE id = ?`,
		cutoff(now).UnixMilli(), userID); err != nil {
		return err
	}
	return s.revokeElsewhere(ctx, tx, userID, "")
}

// revokeElsewhere has every revoker end the user's session (all of them
// when session is "") in tx.
func (s *Service) revokeElsewhere(ctx context.Context, tx *db.Tx, userID, session string) error {
	for _, r := range s.revokers {
		if err := r.RevokeSessions(ctx, tx, userID, session); err != nil {
			return err
		}
	}
	return nil
}

// cutoff is the instant from which credentials count again after a
// revocation at now: the next whole second, since an access token's iat has
// whole seconds. Tokens signed in the rest of that second carry the cut-off
// as their iat (signAccess), so a login right after a reset still works.
func cutoff(now time.Time) time.Time {
	return now.Truncate(time.Second).Add(time.Second)
}

// checkRefreshToken rejects what cannot be a refresh token before any
// lookup.
func checkRefreshToken(token string) error {
	switch {
	case token == "":
		return missingField("refresh_token")
	case len(token) > 128 || len(token) < len(refreshPrefix) || token[:len(refreshPrefix)] != refreshPrefix:
		return errInvalidToken
	}
	return nil
}
