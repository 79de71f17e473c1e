package connect

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ids"
)

// App is a third-party application of the Connect API.
type App struct {
	ID         string
	Name       string
	ReturnURLs []string // exact URLs, or prefixes when they end in "/"
	OTPTTL     time.Duration
	CreatedAt  time.Time
}

// CreateApp registers an app and returns it with its API key, which is shown
// only now: the store keeps its keyed hash. otpTTL 0 means 5 minutes.
func (s *Service) CreateApp(ctx context.Context, name string, returnURLs []string, otpTTL time.Duration) (App, string, error) {
	app, err := newApp(name, returnURLs, otpTTL)
	if err != nil {
		return App{}, "", err
	}
	app.ID, app.CreatedAt = ids.New("app_"), s.now()
	urls, err := json.Marshal(app.ReturnURLs)
	if err != nil {
		return App{}, "", fmt.Errorf("connect: encode return URLs: %w", err)
	}
	key, hash := s.newAPIKey()
	err = s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO clients (id, kind, name, return_urls, otp_ttl_ms, created_at)
			VALUES (?, 'app', ?, ?, ?, ?)`,
			app.ID, app.Name, string(urls), app.OTPTTL.Milliseconds(), app.CreatedAt.UnixMilli())
		if err != nil {
			return err
		}
		return insertKey(ctx, tx, hash, app.ID, app.CreatedAt)
	})
	if err != nil {
		return App{}, "", fmt.Errorf("connect: create app: %w", err)
	}
	return app, key, nil
}

// newApp validates what CreateApp is given.
func newApp(name string, returnURLs []string, otpTTL time.Duration) (App, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > 100 || strings.ContainsFunc(name, unicode.IsControl) {
		return App{}, errs.E(errs.Invalid, "invalid_name", "An app name must have 1 to 100 characters, none of them control characters")
	}
	if otpTTL == 0 {
		otpTTL = defaultOTPTTL
	}
	if otpTTL < minOTPTTL || otpTTL > maxOTPTTL {
		return App{}, errs.E(errs.Invalid, "invalid_otp_ttl", "The OTP lifetime must be between 30s and 1h")
	}
	if len(returnURLs) == 0 {
		return App{}, errs.E(errs.Invalid, "invalid_return_url", "An app needs at least one return URL")
	}
	var urls []string
	for _, u := range returnURLs {
		if err := checkReturnURL(u); err != nil {
			return App{}, err
		}
		if !slices.Contains(urls, u) {
			urls = append(urls, u)
		}
	}
	return App{Name: name, ReturnURLs: urls, OTPTTL: otpTTL}, nil
}

// checkReturnURL accepts an absolute https URL, or http on the local machine
// only, without credentials or fragment, whose path is already resolved (see
// isClean); a prefix, ending in "/", has no query either.
func checkReturnURL(raw string) error {
	bad := errs.E(errs.Invalid, "invalid_return_url",
		fmt.Sprintf("Return URL %q must be an absolute https URL (http only for localhost), without user info or fragment, "+
			"dot segments, backslashes, encoded slashes or empty path segments; a prefix (ending in /) without query", raw))
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxReturnURL || u.Host == "" || u.User != nil || u.Opaque != "" ||
		strings.ContainsAny(raw, `#\`) || strings.ContainsFunc(raw, unicode.IsSpace) ||
		!isClean(u.EscapedPath()) || (strings.HasSuffix(raw, "/") && u.RawQuery != "") {
		return bad
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLocalhost(u.Hostname()):
		return nil
	}
	return bad
}

func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// ListApps returns the apps not deleted, oldest first.
func (s *Service) ListApps(ctx context.Context) ([]App, error) {
	apps, err := db.QueryAll(ctx, s.db, func(rows *sql.Rows) (App, error) { return scanApp(rows) },
		`SELECT id, name, return_urls, otp_ttl_ms, created_at
		FROM clients WHERE kind = 'app' AND deleted_at IS NULL ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("connect: list apps: %w", err)
	}
	return apps, nil
}

// scanApp reads id, name, return_urls, otp_ttl_ms, created_at, then extra.
func scanApp(row interface{ Scan(...any) error }, extra ...any) (App, error) {
	var (
		app          App
		urls         string
		ttl, created int64
	)
	if err := row.Scan(append([]any{&app.ID, &app.Name, &urls, &ttl, &created}, extra...)...); err != nil {
		return App{}, err
	}
	if err := json.Unmarshal([]byte(urls), &app.ReturnURLs); err != nil {
		return App{}, fmt.Errorf("connect: app %s: return URLs: %w", app.ID, err)
	}
	app.OTPTTL, app.CreatedAt = time.Duration(ttl)*time.Millisecond, time.UnixMilli(created)
	return app, nil
}

// RotateAppKey gives the app a new API key, returned only now. The key it
// replaces keeps working for 24 hours, so the app can roll it out.
func (s *Service) RotateAppKey(ctx context.Context, id string) (string, error) {
	key, hash := s.newAPIKey()
	now := s.now()
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if err := liveApp(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM client_keys WHERE client_id = ? AND expires_at <= ?`,
			id, now.UnixMilli()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE client_keys SET expires_at = ? WHERE client_id = ? AND expires_at IS NULL`,
			now.Add(rotatedKeyTTL).UnixMilli(), id); err != nil {
			return err
		}
		return insertKey(ctx, tx, hash, id, now)
	})
	if err != nil {
		return "", fmt.Errorf("connect: rotate key of %s: %w", id, err)
	}
	return key, nil
}

// liveApp returns errAppNotFound unless id is an app not deleted.
func liveApp(ctx context.Context, q db.Querier, id string) error {
	var n int
	err := q.QueryRow(ctx, `SELECT 1 FROM clients WHERE id = ? AND kind = 'app' AND deleted_at IS NULL`, id).Scan(&n)
	if errors.Is(err, db.ErrNotFound) {
		return errAppNotFound
	}
	return err
}

// DeleteApp deletes the app: its keys stop working (within the key cache's
// few seconds on other instances), its links, pending link tokens and OTPs
// go, and the codes it sent vanish from the inbox. Its inbox messages stay.
func (s *Service) DeleteApp(ctx context.Context, id string) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := db.ExecOne(ctx, tx, `UPDATE clients SET deleted_at = ? WHERE id = ? AND kind = 'app' AND deleted_at IS NULL`,
			s.now().UnixMilli(), id)
		if errors.Is(err, db.ErrNotFound) {
			return errAppNotFound
		}
		if err != nil {
			return err
		}
		if err := s.dropOTPs(ctx, tx, `app_id = ?`, id); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM client_keys WHERE client_id = ?`,
			`DELETE FROM links WHERE app_id = ?`,
			`DELETE FROM link_tokens WHERE app_id = ?`,
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("connect: delete app %s: %w", id, err)
	}
	s.cache.evictApp(id)
	return nil
}

// appByKey finds the live app holding the key hash, and when the key expires
// (zero: never).
func appByKey(ctx context.Context, q db.Querier, hash string) (App, time.Time, error) {
	var expires sql.NullInt64
	app, err := scanApp(q.QueryRow(ctx, `SELECT c.id, c.name, c.return_urls, c.otp_ttl_ms, c.created_at, k.expires_at
		FROM client_keys k JOIN clients c ON c.id = k.client_id
		WHERE k.key_hash = ? AND c.kind = 'app' AND c.deleted_at IS NULL`, hash), &expires)
	if err != nil || !expires.Valid {
		return app, time.Time{}, err
	}
	return app, time.UnixMilli(expires.Int64), nil
}

func insertKey(ctx context.Context, tx *db.Tx, hash, clientID string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO client_keys (key_hash, client_id, created_at) VALUES (?, ?, ?)`,
		hash, clientID, now.UnixMilli())
	return err
}
