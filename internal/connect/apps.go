package connect

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/linkbox/linkbox/internal/clients"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
)

// App is a third-party application of the Connect API.
type App struct {
	ID         string
	Name       string
	ReturnURLs []string // exact URLs, or prefixes when they end in "/"
	OTPTTL     time.Duration
	WebhookURL string // "" for none
	CreatedAt  time.Time
}

// appKind is Connect's kind of API client.
var appKind = clients.Kind{Name: "app", Prefix: "app_"}

// appTable is what is an app's own: every read of an app joins it.
var appTable = clients.Table[App]{Name: "connect_apps", Columns: "o.return_urls, o.otp_ttl_ms, o.webhook_url", Scan: scanApp}

// CreateApp registers an app and returns it with its API key, which is shown
// only now: the store keeps its keyed hash. otpTTL 0 means 5 minutes.
func (s *Service) CreateApp(ctx context.Context, name string, returnURLs []string, otpTTL time.Duration) (App, string, error) {
	app, err := newApp(returnURLs, otpTTL)
	if err != nil {
		return App{}, "", err
	}
	urls, err := json.Marshal(app.ReturnURLs)
	if err != nil {
		return App{}, "", fmt.Errorf("connect: encode return URLs: %w", err)
	}
	c, key, err := s.apps.Create(ctx, name, func(ctx context.Context, tx *db.Tx, c clients.Client) error {
		_, err := tx.Exec(ctx, `INSERT INTO connect_apps (client_id, return_urls, otp_ttl_ms) VALUES (?, ?, ?)`,
			c.ID, string(urls), app.OTPTTL.Milliseconds())
		return err
	})
	if err != nil {
		return App{}, "", fmt.Errorf("connect: %w", err)
	}
	app.ID, app.Name, app.CreatedAt = c.ID, c.Name, c.CreatedAt
	return app, key, nil
}

// newApp validates what CreateApp is given beside the name, which package
// clients checks.
func newApp(returnURLs []string, otpTTL time.Duration) (App, error) {
	if otpTTL == 0 {
		otpTTL = defaultOTPTTL
	}
	if err := checkOTPTTL(otpTTL); err != nil {
		return App{}, err
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
	return App{ReturnURLs: urls, OTPTTL: otpTTL}, nil
}

// checkOTPTTL accepts an app's OTP lifetime: 30 s to 1 h.
func checkOTPTTL(ttl time.Duration) error {
	if ttl < minOTPTTL || ttl > maxOTPTTL {
		return errs.E(errs.Invalid, "invalid_otp_ttl", "The OTP lifetime must be between 30s and 1h")
	}
	return nil
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
	apps, err := s.apps.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return apps, nil
}

// scanApp makes an App of a client and its row of connect_apps.
func scanApp(scan func(dest ...any) (clients.Client, error)) (App, error) {
	var (
		urls string
		ttl  int64
	)
	var app App
	c, err := scan(&urls, &ttl, &app.WebhookURL)
	if err != nil {
		return App{}, err
	}
	app.ID, app.Name, app.OTPTTL, app.CreatedAt = c.ID, c.Name, time.Duration(ttl)*time.Millisecond, c.CreatedAt
	if err := json.Unmarshal([]byte(urls), &app.ReturnURLs); err != nil {
		return App{}, fmt.Errorf("connect: app %s: return URLs: %w", app.ID, err)
	}
	return app, nil
}

// AppUpdate is what UpdateApp changes; a zero field stays as it is.
type AppUpdate struct {
	Name       string
	ReturnURLs []string // replace the return URLs, checked as CreateApp checks them
	OTPTTL     time.Duration
}

// UpdateApp changes the app's name, return URLs or OTP lifetime; its keys,
// links and codes stay. A link page already handed out keeps the return URL
// it was given; a new OTP takes the new lifetime.
func (s *Service) UpdateApp(ctx context.Context, id string, u AppUpdate) (App, error) {
	var urls []byte
	if len(u.ReturnURLs) > 0 {
		checked, err := newApp(u.ReturnURLs, 0) // the URLs, checked as CreateApp checks them
		if err != nil {
			return App{}, err
		}
		if urls, err = json.Marshal(checked.ReturnURLs); err != nil {
			return App{}, fmt.Errorf("connect: encode return URLs: %w", err)
		}
	}
	if u.OTPTTL != 0 {
		if err := checkOTPTTL(u.OTPTTL); err != nil {
			return App{}, err
		}
	}
	err := s.apps.Update(ctx, id, u.Name, func(ctx context.Context, tx *db.Tx, c clients.Client) error {
		_, err := tx.Exec(ctx, `UPDATE connect_apps SET
			return_urls = CASE WHEN ? = '' THEN return_urls ELSE ? END,
			otp_ttl_ms = CASE WHEN ? = 0 THEN otp_ttl_ms ELSE ? END
			WHERE client_id = ?`, string(urls), string(urls), u.OTPTTL.Milliseconds(), u.OTPTTL.Milliseconds(), c.ID)
		return err
	})
	if err != nil {
		return App{}, fmt.Errorf("connect: %w", err)
	}
	apps, err := s.ListApps(ctx)
	if err != nil {
		return App{}, err
	}
	for _, a := range apps {
		if a.ID == id {
			return a, nil
		}
	}
	return App{}, fmt.Errorf("connect: app %s gone during its update", id)
}

// RotateAppKey gives the app a new API key, returned only now. The key it
// replaces keeps working for 24 hours, so the app can roll it out.
func (s *Service) RotateAppKey(ctx context.Context, id string) (string, error) {
	key, err := s.apps.RotateKey(ctx, id)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	return key, nil
}

// DeleteApp deletes the app: its keys stop working (within the key cache's
// few seconds on other instances), its links, pending link tokens and OTPs
// go, and the codes it sent vanish from the inbox. Its inbox messages stay.
func (s *Service) DeleteApp(ctx context.Context, id string) error {
	if err := s.apps.Delete(ctx, id, s.dropApp); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}

// dropApp erases the rows of a deleted app. The OTPs go first, with their
// codes: the links' deletion would cascade to them and leave the codes
// behind.
func (s *Service) dropApp(ctx context.Context, tx *db.Tx, app clients.Client) error {
	if err := s.dropOTPs(ctx, tx, `app_id = ?`, app.ID); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM links WHERE app_id = ?`,
		`DELETE FROM link_tokens WHERE app_id = ?`,
		`DELETE FROM connect_apps WHERE client_id = ?`,
	} {
		if _, err := tx.Exec(ctx, q, app.ID); err != nil {
			return err
		}
	}
	return nil
}
