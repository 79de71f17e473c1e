package devicelinks

import (
	"context"
	"encoding/json"

	"golang.org/x/oauth2"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
)

// target is whose mapping a link writes: a supplier's user, at a
// manufacturer.
type target struct {
	supplierID, supplierUserID string
	m                          Manufacturer
}

func (st oauthState) target() target {
	return target{supplierID: st.se.supplierID, supplierUserID: st.se.supplierUserID, m: st.m}
}

// storeMapping writes the mapping of the supplier user and its event: a
// relink of the same supplier_user_id overwrites the manufacturer, devices
// and tokens and keeps nox_user_id; another supplier_user_id is another
// nox user, whatever its devices. tok is nil when the manufacturer vouched
// for the device itself (section 2): the mapping then has no token.
func (s *Service) storeMapping(ctx context.Context, t target, devices []Device, tok *oauth2.Token) (string, error) {
	var nox string
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		nox, err = s.writeMapping(ctx, tx, t, devices, tok)
		return err
	})
	return nox, err
}

// writeMapping is storeMapping in tx.
func (s *Service) writeMapping(ctx context.Context, tx *db.Tx, t target, devices []Device, tok *oauth2.Token) (string, error) {
	raw, err := json.Marshal(devices)
	if err != nil {
		return "", err
	}
	now := s.now()
	var access, refresh string
	var expiry int64
	if tok != nil {
		access, expiry = s.keys.Seal(sealToken, []byte(tok.AccessToken)), tok.Expiry.UnixMilli()
		if tok.RefreshToken != "" {
			refresh = s.keys.Seal(sealToken, []byte(tok.RefreshToken))
		}
	}
	// Insert, or else overwrite: two links of one supplier user racing on
	// PostgreSQL meet at the key, and the second overwrites the first.
	nox, typ := ids.New("nox_"), EventConnected
	res, err := tx.Exec(ctx, `INSERT INTO devicelinks_mappings (supplier_id, supplier_user_id, nox_user_id, manufacturer_id,
		devices, access_token, refresh_token, token_expiry, connected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (supplier_id, supplier_user_id) DO NOTHING`,
		t.supplierID, t.supplierUserID, nox, t.m.ID, string(raw), access, refresh, expiry, now.UnixMilli())
	if err != nil {
		return "", err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", err
	}
	if n == 0 {
		typ = EventOverwritten
		err = tx.QueryRow(ctx, `UPDATE devicelinks_mappings SET manufacturer_id = ?, devices = ?, access_token = ?, refresh_token = ?,
			token_expiry = ?, connected_at = ? WHERE supplier_id = ? AND supplier_user_id = ? RETURNING nox_user_id`,
			t.m.ID, string(raw), access, refresh, expiry, now.UnixMilli(), t.supplierID, t.supplierUserID).Scan(&nox)
		if err != nil {
			return "", err
		}
	}
	return nox, s.emit(ctx, tx, t.supplierID, typ, linkResult{NoxUserID: nox, SupplierUserID: t.supplierUserID, Manufacturer: t.m.Brand,
		ConnectionStatus: "connected", ConnectedAt: now.Unix(), Devices: devices})
}

// linkFailed records the failure of a link session, an event (and a
// webhook) of the supplier.
func (s *Service) linkFailed(ctx context.Context, t target, reason string) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error { return s.writeFailure(ctx, tx, t, reason) })
}

// writeFailure is linkFailed in tx.
func (s *Service) writeFailure(ctx context.Context, tx *db.Tx, t target, reason string) error {
	return s.emit(ctx, tx, t.supplierID, EventFailed, linkResult{SupplierUserID: t.supplierUserID, Manufacturer: t.m.Brand,
		ConnectionStatus: "failed", Error: reason})
}
