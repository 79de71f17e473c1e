package devicelinks

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/outbox"
)

// maxSettings caps a user's settings, the body of PUT …/settings.
const maxSettings = 8 << 10

// emptyETag is the ETag of settings never PUT: the empty object.
const emptyETag = `"empty"`

// settingsKind is the outbox kind that PUTs a user's settings to the
// manufacturer of their mapping.
const settingsKind = "devicesettings"

// settingsData is a user's settings as GET and PUT answer them; the ETag
// is also the header's.
type settingsData struct {
	SupplierUserID string          `json:"supplier_user_id"`
	Settings       json.RawMessage `json:"settings"`
	ETag           string          `json:"etag"`
	UpdatedAt      int64           `json:"updated_at,omitempty"`
}

// settings reads the user's settings, the empty object before any PUT.
func (s *Service) settings(ctx context.Context, q db.Querier, supplierID, userID string) (settingsData, error) {
	d := settingsData{SupplierUserID: userID, Settings: json.RawMessage(`{}`), ETag: emptyETag}
	var body string
	var updated int64
	err := q.QueryRow(ctx, `SELECT body, etag, updated_at FROM devicelinks_settings WHERE supplier_id = ? AND supplier_user_id = ?`,
		supplierID, userID).Scan(&body, &d.ETag, &updated)
	if errors.Is(err, db.ErrNotFound) {
		return d, nil
	}
	if err != nil {
		return settingsData{}, err
	}
	d.Settings, d.UpdatedAt = json.RawMessage(body), updated/1000
	return d, nil
}

func (s *Service) handleGetSettings(w http.ResponseWriter, r *http.Request, sup Supplier) error {
	userID := r.PathValue("supplier_user_id")
	if _, err := s.mapping(r.Context(), s.db, sup.ID, userID); err != nil {
		return err
	}
	d, err := s.settings(r.Context(), s.db, sup.ID, userID)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", d.ETag)
	httpx.WriteJSON(w, http.StatusOK, okBody{Success: true, Timestamp: s.now().Unix(), Data: d})
	return nil
}

// handlePutSettings replaces the user's settings when If-Match names
// their current ETag: a change the supplier's webhook announces and the
// outbox PUTs to the manufacturer.
func (s *Service) handlePutSettings(w http.ResponseWriter, r *http.Request, sup Supplier) error {
	userID := r.PathValue("supplier_user_id")
	if err := checkUserID(userID); err != nil {
		return err
	}
	ifMatch := r.Header.Get("If-Match")
	if ifMatch == "" {
		return errNoIfMatch
	}
	body, err := readSettings(w, r)
	if err != nil {
		return err
	}
	var d settingsData
	err = s.db.InTx(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		u, err := s.mapping(ctx, tx, sup.ID, userID)
		if err != nil {
			return err
		}
		if d, err = s.settings(ctx, tx, sup.ID, userID); err != nil {
			return err
		}
		if !etagMatches(ifMatch, d.ETag) {
			return errETagMismatch
		}
		return s.writeSettings(ctx, tx, sup.ID, u, body, &d)
	})
	if err != nil {
		return err
	}
	w.Header().Set("ETag", d.ETag)
	httpx.WriteJSON(w, http.StatusOK, okBody{Success: true, Timestamp: s.now().Unix(), Data: d})
	return nil
}

// writeSettings stores body as u's settings under a new ETag, records the
// event and queues the PUT to the manufacturer, when it has a settings URL.
func (s *Service) writeSettings(ctx context.Context, tx *db.Tx, supplierID string, u userData, body []byte, d *settingsData) error {
	now := s.now()
	old := d.ETag
	d.Settings, d.ETag, d.UpdatedAt = body, `"`+ids.Token("", 16)+`"`, now.Unix()
	// A compare-and-set on the ETag read: on PostgreSQL two PUTs naming
	// the same ETag may both have read it, and the second must not
	// overwrite the first.
	var res sql.Result
	var err error
	if old == emptyETag {
		res, err = tx.Exec(ctx, `INSERT INTO devicelinks_settings (supplier_id, supplier_user_id, body, etag, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (supplier_id, supplier_user_id) DO NOTHING`, supplierID, u.SupplierUserID, string(body), d.ETag, now.UnixMilli())
	} else {
		res, err = tx.Exec(ctx, `UPDATE devicelinks_settings SET body = ?, etag = ?, updated_at = ?
			WHERE supplier_id = ? AND supplier_user_id = ? AND etag = ?`, string(body), d.ETag, now.UnixMilli(), supplierID, u.SupplierUserID, old)
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return cmp.Or(err, error(errETagMismatch))
	}
	err = s.emit(ctx, tx, supplierID, EventSettings, struct {
		NoxUserID string `json:"nox_user_id"`
		settingsData
	}{u.NoxUserID, *d})
	if err != nil {
		return err
	}
	var target string
	err = tx.QueryRow(ctx, `SELECT o.settings_url FROM devicelinks_mappings m JOIN devicelinks_manufacturers o ON o.client_id = m.manufacturer_id
		WHERE m.supplier_id = ? AND m.supplier_user_id = ? AND m.access_token <> ''`, supplierID, u.SupplierUserID).Scan(&target)
	if errors.Is(err, db.ErrNotFound) || (err == nil && target == "") {
		return nil // no token to send them with, or nowhere to send them
	}
	if err != nil {
		return err
	}
	return s.outbox.Enqueue(ctx, tx, settingsKind, settingsPush{SupplierID: supplierID, SupplierUserID: u.SupplierUserID})
}

// readSettings reads the body of PUT …/settings: one JSON object of at
// most maxSettings bytes, compacted.
func readSettings(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, errNotJSON
		}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSettings))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, errSettingsTooLarge
	}
	if err != nil {
		return nil, errs.E(errs.Invalid, "invalid_body", "Request body could not be read")
	}
	var obj map[string]json.RawMessage
	var out bytes.Buffer
	if json.Unmarshal(raw, &obj) != nil || obj == nil || json.Compact(&out, raw) != nil {
		return nil, errSettingsNotObject
	}
	return out.Bytes(), nil
}

// etagMatches is If-Match's strong comparison: one of the listed tags, or
// "*", which any current settings match (those never PUT included).
func etagMatches(header, current string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		if tag = strings.TrimSpace(tag); tag == "*" || tag == current {
			return true
		}
	}
	return false
}

// settingsPush is the payload of a settingsKind message: whose settings
// to send. The settings and the token are read at each attempt, so that a
// retry sends the latest settings, and a late retry never undoes a newer
// change.
type settingsPush struct {
	SupplierID     string `json:"supplier_id"`
	SupplierUserID string `json:"supplier_user_id"`
}

// settingsDeliverer PUTs a user's settings to the manufacturer of their
// mapping, with its access token (refreshed when expired).
type settingsDeliverer struct{ s *Service }

var _ outbox.Deliverer = settingsDeliverer{}

// Deliver makes one attempt: a 2xx delivers; 408, 429, 5xx and transport
// errors are retried; any other answer, or a mapping gone or without a
// token, gives the message up.
func (d settingsDeliverer) Deliver(ctx context.Context, m outbox.Message) error {
	var p settingsPush
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return outbox.Permanent(fmt.Errorf("devicelinks: settings push %s: %w", m.ID, err))
	}
	tok, mf, err := d.s.token(ctx, p.SupplierID, p.SupplierUserID)
	if errors.Is(err, errUserNotFound) || errors.Is(err, errNoToken) {
		return outbox.Permanent(fmt.Errorf("devicelinks: settings push %s: %w", m.ID, err))
	}
	if err != nil {
		return err
	}
	if mf.SettingsURL == "" {
		return nil
	}
	cur, err := d.s.settings(ctx, d.s.db, p.SupplierID, p.SupplierUserID)
	if err != nil {
		return err
	}
	return d.put(ctx, m.ID, mf, tok, cur.Settings)
}

func (d settingsDeliverer) put(ctx context.Context, id string, mf Manufacturer, tok *oauth2.Token, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, mf.SettingsURL, bytes.NewReader(body))
	if err != nil {
		return outbox.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	client := oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))
	client.Timeout = 10 * time.Second
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("devicelinks: settings push %s to %s: %w", id, mf.Brand, err)
	}
	defer resp.Body.Close()
	detail, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("devicelinks: settings push %s to %s: answered %s: %q", id, mf.Brand, resp.Status, strings.TrimSpace(string(detail)))
	if resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return err
	}
	return outbox.Permanent(err)
}
