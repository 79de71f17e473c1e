package devicelinks

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/linkbox/linkbox/internal/clients"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
)

// Manufacturer is a device manufacturer, an OAuth2 provider, and an API
// client of kind manufacturer (its key starts section 2's sessions).
type Manufacturer struct {
	ID           string // the client id
	Brand        string // the admin's --id, named in redirects as manufacturer
	Name         string
	AuthorizeURL string
	TokenURL     string
	DevicesURL   string // "": the OAuth subject is the device
	SettingsURL  string
	ClientID     string
	Scopes       []string
	LogoURL      string
	clientSecret string // sealed
}

var manufacturerKind = clients.Kind{Name: "manufacturer", Prefix: "mfr_"}

func (s *Service) manufacturerTable() clients.Table[Manufacturer] {
	return clients.Table[Manufacturer]{Name: "devicelinks_manufacturers",
		Columns: "o.brand, o.authorize_url, o.token_url, o.devices_url, o.settings_url, o.oauth_client, o.oauth_secret, o.scopes, o.logo_url",
		Scan: func(scan func(dest ...any) (clients.Client, error)) (Manufacturer, error) {
			var m Manufacturer
			var scopes string
			c, err := scan(&m.Brand, &m.AuthorizeURL, &m.TokenURL, &m.DevicesURL, &m.SettingsURL, &m.ClientID, &m.clientSecret, &scopes, &m.LogoURL)
			if err != nil {
				return Manufacturer{}, err
			}
			m.ID, m.Name, m.Scopes = c.ID, c.Name, strings.Fields(scopes)
			return m, nil
		}}
}

// NewManufacturer is what manufacturers add registers.
type NewManufacturer struct {
	Brand, Name                                     string
	AuthorizeURL, TokenURL, DevicesURL, SettingsURL string
	ClientID, ClientSecret                          string
	Scopes                                          []string
	LogoURL                                         string
}

// AddManufacturer registers a manufacturer; its client secret is sealed.
// The API key returned is shown only now.
func (s *Service) AddManufacturer(ctx context.Context, nm NewManufacturer) (Manufacturer, string, error) {
	if nm.Brand == "" || len(nm.Brand) > 64 || strings.Trim(nm.Brand, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		return Manufacturer{}, "", errs.E(errs.Invalid, "invalid_brand", "A manufacturer id has 1 to 64 lower-case letters, digits, - or _")
	}
	for what, u := range map[string]string{"authorize URL": nm.AuthorizeURL, "token URL": nm.TokenURL} {
		if err := checkURL(what, u); err != nil {
			return Manufacturer{}, "", err
		}
	}
	for what, u := range map[string]string{"devices URL": nm.DevicesURL, "settings URL": nm.SettingsURL, "logo URL": nm.LogoURL} {
		if u == "" {
			continue
		}
		if err := checkURL(what, u); err != nil {
			return Manufacturer{}, "", err
		}
	}
	if nm.ClientID == "" || nm.ClientSecret == "" {
		return Manufacturer{}, "", errs.E(errs.Invalid, "invalid_client", "A manufacturer needs an OAuth client id and secret")
	}
	sealed := s.keys.Seal(sealOAuth, []byte(nm.ClientSecret))
	c, key, err := s.manufacturers.Create(ctx, nm.Name, func(ctx context.Context, tx *db.Tx, c clients.Client) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM devicelinks_manufacturers WHERE brand = ?`, nm.Brand).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.E(errs.Conflict, "brand_taken", "A manufacturer has this id already")
		}
		_, err := tx.Exec(ctx, `INSERT INTO devicelinks_manufacturers (client_id, brand, authorize_url, token_url, devices_url,
			settings_url, oauth_client, oauth_secret, scopes, logo_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, nm.Brand, nm.AuthorizeURL, nm.TokenURL, nm.DevicesURL, nm.SettingsURL, nm.ClientID, sealed,
			strings.Join(nm.Scopes, " "), nm.LogoURL)
		return err
	})
	if err != nil {
		return Manufacturer{}, "", fmt.Errorf("devicelinks: %w", err)
	}
	return Manufacturer{ID: c.ID, Brand: nm.Brand, Name: c.Name, AuthorizeURL: nm.AuthorizeURL, TokenURL: nm.TokenURL,
		DevicesURL: nm.DevicesURL, SettingsURL: nm.SettingsURL, ClientID: nm.ClientID, Scopes: nm.Scopes,
		LogoURL: nm.LogoURL, clientSecret: sealed}, key, nil
}

// ListManufacturers returns the live manufacturers, oldest first.
func (s *Service) ListManufacturers(ctx context.Context) ([]Manufacturer, error) {
	list, err := s.manufacturers.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("devicelinks: %w", err)
	}
	return list, nil
}

// manufacturerByID returns the live manufacturer of client id or brand.
func (s *Service) manufacturer(ctx context.Context, idOrBrand string) (Manufacturer, error) {
	list, err := s.ListManufacturers(ctx)
	if err != nil {
		return Manufacturer{}, err
	}
	for _, m := range list {
		if m.ID == idOrBrand || m.Brand == idOrBrand {
			return m, nil
		}
	}
	return Manufacturer{}, errs.E(errs.NotFound, "manufacturer_not_found", "No manufacturer has this id")
}

// RemoveManufacturer deletes the manufacturer (by id or brand), its keys,
// its device sessions and the mappings to its devices, each device's
// removal a webhook of its supplier.
func (s *Service) RemoveManufacturer(ctx context.Context, idOrBrand string) error {
	m, err := s.manufacturer(ctx, idOrBrand)
	if err != nil {
		return err
	}
	err = s.manufacturers.Delete(ctx, m.ID, func(ctx context.Context, tx *db.Tx, c clients.Client) error {
		if err := s.announceRemoval(ctx, tx, m); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM devicelinks_states WHERE manufacturer_id = ?`,
			`DELETE FROM devicelinks_select_states WHERE session_hash IN (SELECT token_hash FROM devicelinks_device_sessions WHERE manufacturer_id = ?)`,
			`DELETE FROM devicelinks_device_sessions WHERE manufacturer_id = ?`,
			`DELETE FROM devicelinks_mappings WHERE manufacturer_id = ?`,
			`DELETE FROM devicelinks_manufacturers WHERE client_id = ?`,
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

// announceRemoval records, for every mapping to m's devices, the removal
// of each device (its webhook): the mappings go with the manufacturer.
func (s *Service) announceRemoval(ctx context.Context, tx *db.Tx, m Manufacturer) error {
	type gone struct {
		u          userData
		supplierID string
	}
	list, err := db.QueryAll(ctx, tx, func(rows *sql.Rows) (g gone, err error) {
		var devices string
		if err := rows.Scan(&g.supplierID, &g.u.SupplierUserID, &g.u.NoxUserID, &devices); err != nil {
			return g, err
		}
		return g, json.Unmarshal([]byte(devices), &g.u.Devices)
	}, `SELECT supplier_id, supplier_user_id, nox_user_id, devices FROM devicelinks_mappings WHERE manufacturer_id = ?
		ORDER BY supplier_id, supplier_user_id`, m.ID)
	if err != nil {
		return err
	}
	for _, g := range list {
		for i, d := range g.u.Devices {
			err := s.emit(ctx, tx, g.supplierID, EventDeviceRemoved, linkResult{NoxUserID: g.u.NoxUserID, SupplierUserID: g.u.SupplierUserID,
				Manufacturer: m.Brand, DeviceID: d.ID, Devices: g.u.Devices[i+1:]})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// CreateManufacturerKey gives the manufacturer a new API key (the old one
// works 24 h more), returned only now.
func (s *Service) CreateManufacturerKey(ctx context.Context, idOrBrand string) (string, error) {
	m, err := s.manufacturer(ctx, idOrBrand)
	if err != nil {
		return "", err
	}
	key, err := s.manufacturers.RotateKey(ctx, m.ID)
	if err != nil {
		return "", fmt.Errorf("devicelinks: %w", err)
	}
	return key, nil
}
