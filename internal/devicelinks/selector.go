package devicelinks

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/web"
)

// The pages of section 2: the supplier selector and the browser's return
// from the supplier's login.

// deviceSession is a manufacturer's session as the pages read it.
type deviceSession struct {
	hash, manufacturerID, deviceID, redirectURI string
	expires                                     time.Time
}

// liveDeviceSession returns the unexpired session of token.
func (s *Service) liveDeviceSession(ctx context.Context, token string) (deviceSession, error) {
	ds := deviceSession{hash: s.keys.Hash("devicelinks-device-session", token)}
	var exp int64
	err := s.db.QueryRow(ctx, `SELECT manufacturer_id, device_id, redirect_uri, expires_at FROM devicelinks_device_sessions
		WHERE token_hash = ?`, ds.hash).Scan(&ds.manufacturerID, &ds.deviceID, &ds.redirectURI, &exp)
	if errors.Is(err, db.ErrNotFound) {
		return deviceSession{}, errDeviceSessionNotFound
	}
	if err != nil {
		return deviceSession{}, err
	}
	if ds.expires = time.UnixMilli(exp); !s.now().Before(ds.expires) {
		return deviceSession{}, errDeviceSessionExpired
	}
	return ds, nil
}

// loginSuppliers are the suppliers with a login page, oldest first.
func (s *Service) loginSuppliers(ctx context.Context) ([]Supplier, error) {
	all, err := s.ListSuppliers(ctx)
	var out []Supplier
	for _, sup := range all {
		if sup.LoginURL != "" {
			out = append(out, sup)
		}
	}
	return out, err
}

type selectView struct {
	web.Base
	Session   string
	Suppliers []Supplier
}

// selectPage lists the suppliers the user may log in at.
func (s *Service) selectPage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("device_session")
	ds, err := s.liveDeviceSession(r.Context(), token)
	if err != nil {
		return err
	}
	sups, err := s.loginSuppliers(r.Context())
	if err != nil {
		return err
	}
	// The choice redirects to a login page, which redirects back here,
	// which redirects to the manufacturer: Chromium applies form-action to
	// the whole chain.
	targets := []string{ds.redirectURI}
	for _, sup := range sups {
		targets = append(targets, sup.LoginURL)
	}
	w.Header().Set("Content-Security-Policy", web.FormActionCSP(targets...))
	v := &selectView{Session: token, Suppliers: sups}
	v.CSRF = s.kit.AnonCSRF(w, r)
	v.Here = "/suppliers/select?device_session=" + url.QueryEscape(token)
	return s.kit.Render(w, r, http.StatusOK, "devicelinks_select", v)
}

// chooseSupplier stores a state bound to this browser and sends it to the
// supplier's login page with state and redirect_uri.
func (s *Service) chooseSupplier(w http.ResponseWriter, r *http.Request) error {
	if err := s.kit.CheckAnonForm(w, r); err != nil {
		return err
	}
	ds, err := s.liveDeviceSession(r.Context(), r.PostForm.Get("device_session"))
	if err != nil {
		return err
	}
	sup, err := s.supplier(r.Context(), r.PostForm.Get("supplier"))
	if err != nil || sup.LoginURL == "" {
		return errSupplierNotFound
	}
	login, err := url.Parse(sup.LoginURL)
	if err != nil {
		return err
	}
	state := ids.Token("", 32)
	err = s.db.InTx(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO devicelinks_select_states (state_hash, session_hash, supplier_id, browser_hash, expires_at)
			VALUES (?, ?, ?, ?, ?)`, s.keys.Hash("devicelinks-select-state", state), ds.hash, sup.ID, s.browser(w, r),
			s.now().Add(sessionTTL).UnixMilli())
		return err
	})
	if err != nil {
		return err
	}
	q := login.Query()
	q.Set("state", state)
	q.Set("redirect_uri", s.postLoginURL())
	login.RawQuery = q.Encode()
	http.Redirect(w, r, login.String(), http.StatusFound)
	return nil
}

// selected is a select state claimed by the browser's return.
type selected struct {
	t           target
	deviceID    string
	redirectURI string
	expired     bool
}

// postLoginPage takes the browser back from the supplier's login: the
// state (single use, this browser's, confirmed by the supplier) is spent,
// and in the same transaction the device is mapped to the supplier's user,
// or, past the state's 15 minutes, the link fails. Either way the browser
// goes back to the manufacturer's redirect_uri with the result. An
// unknown, used or foreign state is a 400 page and maps nothing.
func (s *Service) postLoginPage(w http.ResponseWriter, r *http.Request) error {
	hash := s.keys.Hash("devicelinks-select-state", r.URL.Query().Get("state"))
	browser := s.browser(w, r)
	var sel selected
	var nox string
	err := s.db.InTx(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		var err error
		if sel, err = s.claimSelected(ctx, tx, hash, browser); err != nil {
			return err
		}
		if sel.expired {
			return s.writeFailure(ctx, tx, sel.t, "session_expired")
		}
		nox, err = s.writeMapping(ctx, tx, sel.t, []Device{{ID: sel.deviceID}}, nil)
		return err
	})
	if err != nil {
		return err
	}
	v := url.Values{}
	v.Set("device_id", sel.deviceID)
	v.Set("supplier", sel.t.supplierID)
	v.Set("connected_at", strconv.FormatInt(s.now().Unix(), 10))
	if sel.expired {
		v.Set("connection_status", "failed")
		v.Set("error", "session_expired")
	} else {
		v.Set("nox_user_id", nox)
		v.Set("connection_status", "connected")
	}
	web.SeeOther(w, withQuery(sel.redirectURI, v))
	return nil
}

// claimSelected spends the state in tx, for this browser, once the
// supplier has confirmed it.
func (s *Service) claimSelected(ctx context.Context, tx *db.Tx, hash, browser string) (selected, error) {
	var sel selected
	var owner string
	var userID sql.NullString
	var used sql.NullInt64
	var exp int64
	err := tx.QueryRow(ctx, `SELECT s.supplier_id, s.browser_hash, s.supplier_user_id, s.used_at, s.expires_at,
		d.manufacturer_id, o.brand, d.device_id, d.redirect_uri
		FROM devicelinks_select_states s JOIN devicelinks_device_sessions d ON d.token_hash = s.session_hash
		JOIN devicelinks_manufacturers o ON o.client_id = d.manufacturer_id
		WHERE s.state_hash = ?`, hash).Scan(&sel.t.supplierID, &owner, &userID, &used, &exp,
		&sel.t.m.ID, &sel.t.m.Brand, &sel.deviceID, &sel.redirectURI)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return selected{}, errStateUnknown
	case err != nil:
		return selected{}, err
	case used.Valid || !secretsEqual(owner, browser):
		return selected{}, errStateUnknown
	case !userID.Valid:
		return selected{}, errNotConfirmed
	}
	sel.t.supplierUserID = userID.String
	now := s.now()
	sel.expired = now.UnixMilli() >= exp
	err = db.ExecOne(ctx, tx, `UPDATE devicelinks_select_states SET used_at = ? WHERE state_hash = ? AND used_at IS NULL`, now.UnixMilli(), hash)
	return sel, spent(err, errStateUnknown)
}
