package devicelinks

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/linkbox/linkbox/internal/clients"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// Supplier is an energy supplier, an API client of kind supplier.
type Supplier struct {
	ID            string
	Name          string
	RedirectURIs  []string // matched exactly
	WebhookURL    string   // "" for none
	LoginURL      string   // "" for none
	webhookSecret string   // sealed; "" for none
}

var supplierKind = clients.Kind{Name: "supplier", Prefix: SupplierPrefix}

// Sealing purposes.
const (
	sealWebhook = "devicelinks-webhook-secret"
	sealOAuth   = "devicelinks-oauth-secret"
	sealToken   = "devicelinks-token"
	sealPKCE    = "devicelinks-pkce"
)

func (s *Service) supplierTable() clients.Table[Supplier] {
	return clients.Table[Supplier]{Name: "devicelinks_suppliers",
		Columns: "o.redirect_uris, o.webhook_url, o.webhook_secret, o.login_url",
		Scan: func(scan func(dest ...any) (clients.Client, error)) (Supplier, error) {
			var uris string
			var hook, secret, login sql.NullString
			c, err := scan(&uris, &hook, &secret, &login)
			if err != nil {
				return Supplier{}, err
			}
			sup := Supplier{ID: c.ID, Name: c.Name, WebhookURL: hook.String, LoginURL: login.String, webhookSecret: secret.String}
			if err := json.Unmarshal([]byte(uris), &sup.RedirectURIs); err != nil {
				return Supplier{}, fmt.Errorf("devicelinks: supplier %s: redirect URIs: %w", c.ID, err)
			}
			return sup, nil
		}}
}

// CreateSupplier registers a supplier and returns it with its API key,
// shown only now.
func (s *Service) CreateSupplier(ctx context.Context, name string, redirectURIs []string) (Supplier, string, error) {
	if len(redirectURIs) == 0 {
		return Supplier{}, "", errs.E(errs.Invalid, "invalid_redirect_uri", "A supplier needs at least one redirect URI")
	}
	var uris []string
	for _, u := range redirectURIs {
		if err := checkURL("redirect URI", u); err != nil {
			return Supplier{}, "", err
		}
		if !slices.Contains(uris, u) {
			uris = append(uris, u)
		}
	}
	raw, err := json.Marshal(uris)
	if err != nil {
		return Supplier{}, "", err
	}
	c, key, err := s.suppliers.Create(ctx, name, func(ctx context.Context, tx *db.Tx, c clients.Client) error {
		_, err := tx.Exec(ctx, `INSERT INTO devicelinks_suppliers (client_id, redirect_uris) VALUES (?, ?)`, c.ID, string(raw))
		return err
	})
	if err != nil {
		return Supplier{}, "", fmt.Errorf("devicelinks: %w", err)
	}
	return Supplier{ID: c.ID, Name: c.Name, RedirectURIs: uris}, key, nil
}

// checkURL accepts an absolute https URL, or http on localhost/127.0.0.1
// only, without user info or fragment.
func checkURL(what, raw string) error {
	u, err := url.Parse(raw)
	bad := errs.E(errs.Invalid, "invalid_url",
		fmt.Sprintf("The %s %q must be an absolute https URL (http only on localhost or 127.0.0.1), without user info or fragment", what, raw))
	if err != nil || len(raw) > maxURI || u.Host == "" || u.User != nil || u.Opaque != "" ||
		strings.ContainsAny(raw, "#\\") || strings.ContainsFunc(raw, unicode.IsSpace) {
		return bad
	}
	if u.Scheme == "https" || (u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")) {
		return nil
	}
	return bad
}

// ListSuppliers returns the live suppliers, oldest first.
func (s *Service) ListSuppliers(ctx context.Context) ([]Supplier, error) {
	list, err := s.suppliers.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("devicelinks: %w", err)
	}
	return list, nil
}

// RotateSupplierKey gives the supplier a new API key; the old one works 24 h more.
func (s *Service) RotateSupplierKey(ctx context.Context, id string) (string, error) {
	key, err := s.suppliers.RotateKey(ctx, id)
	if err != nil {
		return "", fmt.Errorf("devicelinks: %w", err)
	}
	return key, nil
}

// DeleteSupplier deletes the supplier, its keys, sessions, states,
// mappings, settings and events.
func (s *Service) DeleteSupplier(ctx context.Context, id string) error {
	err := s.suppliers.Delete(ctx, id, func(ctx context.Context, tx *db.Tx, c clients.Client) error {
		for _, q := range []string{
			`DELETE FROM devicelinks_sessions WHERE supplier_id = ?`,
			`DELETE FROM devicelinks_select_states WHERE supplier_id = ?`,
			`DELETE FROM devicelinks_mappings WHERE supplier_id = ?`,
			`DELETE FROM devicelinks_settings WHERE supplier_id = ?`,
			`DELETE FROM devicelinks_events WHERE supplier_id = ?`,
			`DELETE FROM devicelinks_suppliers WHERE client_id = ?`,
		} {
			if _, err := tx.Exec(ctx, q, c.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("devicelinks: %w", err)
	}
	return nil
}

// SetWebhook sets the supplier's webhook URL and gives it a new secret,
// returned only now (sealed at rest). The secret also signs the query
// parameters of the redirect back to the supplier.
func (s *Service) SetWebhook(ctx context.Context, id, target string) (string, error) {
	if err := checkURL("webhook URL", target); err != nil {
		return "", err
	}
	secret, err := webhooks.NewSecret()
	if err != nil {
		return "", err
	}
	sealed := s.keys.Seal(sealWebhook, []byte(secret))
	if err := s.updateSupplier(ctx, id, `UPDATE devicelinks_suppliers SET webhook_url = ?, webhook_secret = ? WHERE client_id = ?`, target, sealed); err != nil {
		return "", err
	}
	return secret, nil
}

// SetLoginURL sets the supplier's OAuth login page (section 2 of the seed).
func (s *Service) SetLoginURL(ctx context.Context, id, target string) error {
	if err := checkURL("login URL", target); err != nil {
		return err
	}
	return s.updateSupplier(ctx, id, `UPDATE devicelinks_suppliers SET login_url = ? WHERE client_id = ?`, target)
}

func (s *Service) updateSupplier(ctx context.Context, id, q string, args ...any) error {
	err := s.suppliers.Update(ctx, id, "", func(ctx context.Context, tx *db.Tx, c clients.Client) error {
		_, err := tx.Exec(ctx, q, append(args, c.ID)...)
		return err
	})
	if errs.Is(err, errs.NotFound, errSupplierNotFound.Code) {
		return errSupplierNotFound
	}
	if err != nil {
		return fmt.Errorf("devicelinks: %w", err)
	}
	return nil
}

// webhookSecretOf opens the supplier's webhook secret; "" for none.
func (s *Service) webhookSecretOf(sup Supplier) (string, error) {
	if sup.webhookSecret == "" {
		return "", nil
	}
	b, err := s.keys.Open(sealWebhook, sup.webhookSecret)
	return string(b), err
}
