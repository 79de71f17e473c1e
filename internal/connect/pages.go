package connect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/linkbox/linkbox/internal/db"
)

// maxLinkToken bounds what is hashed: real tokens are 32 characters.
const maxLinkToken = 128

// LinkRequest is a pending link, as the hosted linking page shows it.
type LinkRequest struct {
	AppID     string
	AppName   string
	ReturnURL string
	ExpiresAt time.Time
}

// PendingLink returns the link a token asks for. Errors: NotFound
// "link_not_found", Gone "link_expired" or "link_used".
func (s *Service) PendingLink(ctx context.Context, token string) (LinkRequest, error) {
	if token == "" || len(token) > maxLinkToken {
		return LinkRequest{}, errLinkNotFound
	}
	var (
		lr      LinkRequest
		expires int64
		used    sql.NullInt64
	)
	err := s.db.QueryRow(ctx, `SELECT t.app_id, c.name, t.return_url, t.expires_at, t.used_at
		FROM link_tokens t JOIN clients c ON c.id = t.app_id
		WHERE t.token_hash = ? AND c.deleted_at IS NULL`, s.tokenHash(token)).
		Scan(&lr.AppID, &lr.AppName, &lr.ReturnURL, &expires, &used)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return LinkRequest{}, errLinkNotFound
	case err != nil:
		return LinkRequest{}, fmt.Errorf("connect: read link token: %w", err)
	case used.Valid:
		return LinkRequest{}, errLinkUsed
	case expires <= s.now().UnixMilli():
		return LinkRequest{}, errLinkExpired
	}
	lr.ExpiresAt = time.UnixMilli(expires)
	return lr, nil
}

// ApproveLink spends the token and links its (app, user_id) to the account
// userID, in one transaction, and returns the app's return URL. Every other
// pending token of the pair is spent with it: left alive, one would let
// another account approve it later. A pair linked to another account stays
// linked to it (Conflict "link_taken"): the link moves only after that
// account or the app unlinks it.
func (s *Service) ApproveLink(ctx context.Context, token, userID string) (string, error) {
	now := s.now()
	var t spentToken
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		if t, err = s.spendPair(ctx, tx, token, now); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `INSERT INTO links (app_id, external_user_id, user_id, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (app_id, external_user_id) DO NOTHING`,
			t.appID, t.extID, userID, now.UnixMilli())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			linked, err := linkedUser(ctx, tx, t.appID, t.extID)
			if err == nil && linked != userID {
				return errLinkTaken
			}
			return err // linked to this account already: nothing new to tell
		}
		acc, err := linkedAccount(ctx, tx, t.appID, t.extID)
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, t.appID, EventLinkApproved, linkEventData{UserID: t.extID, Email: acc.Email, Phone: acc.Phone, Username: acc.Username})
	})
	if err != nil {
		return "", fmt.Errorf("connect: approve link: %w", err)
	}
	return t.returnURL, nil
}

// spendPair spends the token and every other pending token of its (app,
// user_id), in one conditional update: of two approvals racing for tokens
// of one pair, the second finds its own token spent.
func (s *Service) spendPair(ctx context.Context, tx *db.Tx, token string, now time.Time) (spentToken, error) {
	if token == "" || len(token) > maxLinkToken {
		return spentToken{}, errLinkNotFound
	}
	hash := s.tokenHash(token)
	var t spentToken
	err := tx.QueryRow(ctx, `SELECT app_id, external_user_id, return_url FROM link_tokens WHERE token_hash = ?`,
		hash).Scan(&t.appID, &t.extID, &t.returnURL)
	if errors.Is(err, db.ErrNotFound) {
		return t, errLinkNotFound
	}
	if err != nil {
		return t, err
	}
	spent, err := db.QueryAll(ctx, tx, db.Column[string], `UPDATE link_tokens SET used_at = ?
		WHERE app_id = ? AND external_user_id = ? AND used_at IS NULL AND expires_at > ?
		RETURNING token_hash`, now.UnixMilli(), t.appID, t.extID, now.UnixMilli())
	if err != nil || slices.Contains(spent, hash) {
		return t, err
	}
	return t, tokenDead(ctx, tx, hash)
}

// DenyLink spends the token without linking and returns the app's return URL.
func (s *Service) DenyLink(ctx context.Context, token string) (string, error) {
	var t spentToken
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		if t, err = s.spendToken(ctx, tx, token, s.now()); err != nil {
			return err
		}
		return s.emit(ctx, tx, t.appID, EventLinkDenied, linkEventData{UserID: t.extID})
	})
	if err != nil {
		return "", fmt.Errorf("connect: deny link: %w", err)
	}
	return t.returnURL, nil
}

// spentToken is what a link token stood for.
type spentToken struct{ appID, extID, returnURL string }

// spendToken marks the token used, with a conditional update that only one
// of two concurrent requests can win. Tokens of deleted apps are deleted with
// them, so the app needs no check.
func (s *Service) spendToken(ctx context.Context, tx *db.Tx, token string, now time.Time) (spentToken, error) {
	if token == "" || len(token) > maxLinkToken {
		return spentToken{}, errLinkNotFound
	}
	var t spentToken
	hash := s.tokenHash(token)
	err := tx.QueryRow(ctx, `UPDATE link_tokens SET used_at = ?
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
		RETURNING app_id, external_user_id, return_url`,
		now.UnixMilli(), hash, now.UnixMilli()).Scan(&t.appID, &t.extID, &t.returnURL)
	if !errors.Is(err, db.ErrNotFound) {
		return t, err
	}
	return t, tokenDead(ctx, tx, hash)
}

// tokenDead says why the token of hash could not be spent: errLinkNotFound,
// errLinkUsed or errLinkExpired.
func tokenDead(ctx context.Context, tx *db.Tx, hash string) error {
	var used sql.NullInt64
	err := tx.QueryRow(ctx, `SELECT used_at FROM link_tokens WHERE token_hash = ?`, hash).Scan(&used)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return errLinkNotFound
	case err != nil:
		return err
	case used.Valid:
		return errLinkUsed
	}
	return errLinkExpired
}

// LinkedApp is an app linked to an account.
type LinkedApp struct {
	AppID    string
	AppName  string
	LinkedAt time.Time // the earliest link, when the app links several of its users to the account
}

// LinkedApps lists the apps linked to the account, most recently linked
// first.
func (s *Service) LinkedApps(ctx context.Context, userID string) ([]LinkedApp, error) {
	apps, err := db.QueryAll(ctx, s.db, func(rows *sql.Rows) (a LinkedApp, err error) {
		var at int64
		err = rows.Scan(&a.AppID, &a.AppName, &at)
		a.LinkedAt = time.UnixMilli(at)
		return a, err
	}, `SELECT l.app_id, c.name, MIN(l.created_at) AS linked_at
		FROM links l JOIN clients c ON c.id = l.app_id
		WHERE l.user_id = ? AND c.deleted_at IS NULL
		GROUP BY l.app_id, c.name ORDER BY linked_at DESC, l.app_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("connect: linked apps: %w", err)
	}
	return apps, nil
}

// UnlinkApp removes every link between the app and the account, with the
// OTPs the app sent it, as the app's own unlink would: the app's next
// /api/link-account answers linked:false. NotFound "not_linked" when there was
// none.
func (s *Service) UnlinkApp(ctx context.Context, userID, appID string) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		// The OTPs first, found through the links (an OTP's key starts with
		// its link's): the links' deletion would cascade to them and leave
		// their codes behind.
		err := s.dropOTPs(ctx, tx, `app_id = ? AND external_user_id IN
			(SELECT external_user_id FROM links WHERE app_id = ? AND user_id = ?)`, appID, appID, userID)
		if err != nil {
			return err
		}
		extIDs, err := db.QueryAll(ctx, tx, db.Column[string], `DELETE FROM links WHERE user_id = ? AND app_id = ? RETURNING external_user_id`, userID, appID)
		if err != nil {
			return err
		}
		if len(extIDs) == 0 {
			return errNotLinked
		}
		for _, ext := range extIDs {
			if err := s.emit(ctx, tx, appID, EventLinkUnlinked, linkEventData{UserID: ext, By: byUser}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("connect: unlink app: %w", err)
	}
	return nil
}
