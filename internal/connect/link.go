package connect

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ids"
)

// linkedJSON answers /api/link-account for a linked user: what the app may
// keep to recognise the account, without learning its email or phone.
type linkedJSON struct {
	Linked   bool   `json:"linked"`
	Email    string `json:"email"`
	Phone    string `json:"phone"`
	Username string `json:"username"`
}

// notLinkedJSON answers /api/link-account for a user to send to the hosted
// linking page.
type notLinkedJSON struct {
	Linked bool   `json:"linked"`
	URL    string `json:"url"`
}

// handleLinkAccount is POST /api/link-account.
func (s *Service) handleLinkAccount(w http.ResponseWriter, r *http.Request, app App) error {
	b, err := decode(w, r)
	if err != nil {
		return err
	}
	q, err := b.linkAccount(app)
	if err != nil {
		return err
	}
	linked, err := linkedAccount(r.Context(), s.db, app.ID, q.UserID)
	if err == nil {
		httpx.WriteJSON(w, http.StatusOK, linked)
		return nil
	}
	if !errors.Is(err, db.ErrNotFound) {
		return fmt.Errorf("connect: read link: %w", err)
	}
	url, err := s.linkURL(r.Context(), app.ID, q.UserID, q.ReturnURL)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, notLinkedJSON{URL: url})
	return nil
}

// linkedAccount describes the account linked to (appID, extID); ErrNotFound
// when there is none.
func linkedAccount(ctx context.Context, q db.Querier, appID, extID string) (linkedJSON, error) {
	var email, phone string
	var username sql.NullString
	err := q.QueryRow(ctx, `SELECT u.email, u.phone, u.username FROM links l JOIN users u ON u.id = l.user_id
		WHERE l.app_id = ? AND l.external_user_id = ?`, appID, extID).Scan(&email, &phone, &username)
	if err != nil {
		return linkedJSON{}, err
	}
	return linkedJSON{Linked: true, Email: maskEmail(email), Phone: maskPhone(phone), Username: username.String}, nil
}

// maskEmail returns "<md5 hex of the lowercased address>-<masked address>",
// e.g. "7d05…39a3-he****@gmail.com": the app can match an address it already
// knows without being told a new one. The mask keeps two characters of the
// local part (one when it is that short) and a fixed four stars, which hide
// its length.
func maskEmail(email string) string {
	if email == "" {
		return ""
	}
	lower := strings.ToLower(email)
	local, domain := lower, ""
	if i := strings.LastIndexByte(lower, '@'); i >= 0 {
		local, domain = lower[:i], lower[i:]
	}
	keep := []rune(local)
	if len(keep) > 2 {
		keep = keep[:2]
	} else if len(keep) > 0 {
		keep = keep[:1]
	}
	return md5Hex(lower) + "-" + string(keep) + "****" + domain
}

// maskPhone returns "<md5 hex of the E.164 number>-<its last 4 digits>".
func maskPhone(phone string) string {
	if phone == "" {
		return ""
	}
	return md5Hex(phone) + "-" + phone[max(0, len(phone)-4):]
}

// md5Hex is the seed document's fingerprint; MD5 is used for compatibility,
// not for secrecy.
func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// linkURL returns the URL of the hosted linking page for (appID, extID,
// returnURL): the pending token's when there is one, so that a user who
// reloads the app's page gets the same URL, else a new token's. On PostgreSQL
// two concurrent first requests may each create a token; both are valid,
// and the approval of either spends the other.
func (s *Service) linkURL(ctx context.Context, appID, extID, returnURL string) (string, error) {
	now := s.now()
	var token string
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		token, err = s.pendingToken(ctx, tx, appID, extID, returnURL, now)
		if errors.Is(err, db.ErrNotFound) {
			token, err = s.newLinkToken(ctx, tx, appID, extID, returnURL, now)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("connect: link token: %w", err)
	}
	return s.cfg.PublicURL + "/linking/" + token, nil
}

// pendingToken returns the newest usable token of (appID, extID, returnURL),
// or ErrNotFound. A token that no longer opens (LINKBOX_SECRET changed) no
// longer matches its hash either, so it counts as none.
func (s *Service) pendingToken(ctx context.Context, tx *db.Tx, appID, extID, returnURL string, now time.Time) (string, error) {
	var sealed string
	err := tx.QueryRow(ctx, `SELECT token_sealed FROM link_tokens
		WHERE app_id = ? AND external_user_id = ? AND return_url = ? AND used_at IS NULL AND expires_at > ?
		ORDER BY created_at DESC LIMIT 1`, appID, extID, returnURL, now.UnixMilli()).Scan(&sealed)
	if err != nil {
		return "", err
	}
	token, err := s.keys.Open("link-token", sealed)
	if err != nil {
		s.log.WarnContext(ctx, "pending link token does not open; issuing a new one", "app_id", appID, "err", err)
		return "", db.ErrNotFound
	}
	return string(token), nil
}

// newLinkToken stores a new token for (appID, extID, returnURL). Dead
// tokens are left to the sweeper.
func (s *Service) newLinkToken(ctx context.Context, tx *db.Tx, appID, extID, returnURL string, now time.Time) (string, error) {
	token := ids.Token("", 24)
	_, err := tx.Exec(ctx, `INSERT INTO link_tokens
		(token_hash, token_sealed, app_id, external_user_id, return_url, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.tokenHash(token), s.keys.Seal("link-token", []byte(token)), appID, extID, returnURL,
		now.UnixMilli(), now.Add(linkTokenTTL).UnixMilli())
	return token, err
}

func (s *Service) tokenHash(token string) string {
	return s.keys.Hash("link-token", token)
}

// handleUnlink is POST /api/link-account/unlink.
func (s *Service) handleUnlink(w http.ResponseWriter, r *http.Request, app App) error {
	b, err := decode(w, r)
	if err != nil {
		return err
	}
	extID, err := b.unlink()
	if err != nil {
		return err
	}
	if err := s.unlink(r.Context(), app.ID, extID); err != nil {
		return err
	}
	writeSuccess(w)
	return nil
}

// unlink deletes the link of (appID, extID) and its OTPs, whose codes leave
// the inbox; errUserNotLinked when there is no link. The OTPs go first: the
// link's deletion would cascade to them and leave their codes behind.
func (s *Service) unlink(ctx context.Context, appID, extID string) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if err := s.dropOTPs(ctx, tx, `app_id = ? AND external_user_id = ?`, appID, extID); err != nil {
			return err
		}
		err := db.ExecOne(ctx, tx, `DELETE FROM links WHERE app_id = ? AND external_user_id = ?`, appID, extID)
		if errors.Is(err, db.ErrNotFound) {
			return errUserNotLinked
		}
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, appID, EventLinkUnlinked, linkEventData{UserID: extID, By: byApp})
	})
	if err != nil {
		return fmt.Errorf("connect: unlink: %w", err)
	}
	return nil
}

// linkedUser returns the account linked to (appID, extID), or
// errUserNotLinked.
func linkedUser(ctx context.Context, q db.Querier, appID, extID string) (string, error) {
	var userID string
	err := q.QueryRow(ctx, `SELECT user_id FROM links WHERE app_id = ? AND external_user_id = ?`,
		appID, extID).Scan(&userID)
	if errors.Is(err, db.ErrNotFound) {
		return "", errUserNotLinked
	}
	return userID, err
}
