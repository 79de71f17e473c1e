package devicelinks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

// Section 2 of the seed: a manufacturer starts a device session for one of
// its users' devices; the user picks a supplier on /suppliers/select and
// logs in there; the supplier confirms its user (POST /post-login-redirect)
// and sends the browser to GET /post-login-redirect, which maps the device
// and returns the browser to the manufacturer.

// deviceSessionRequest is the body of POST /device-sessions.
type deviceSessionRequest struct {
	DeviceID    string `json:"device_id"`
	RedirectURI string `json:"redirect_uri"`
}

func (q *deviceSessionRequest) validate() error {
	switch {
	case q.DeviceID == "":
		return errMissingDevice
	case len(q.DeviceID) > maxUserID || strings.ContainsFunc(q.DeviceID, unicode.IsControl):
		return errInvalidDevice
	case q.RedirectURI == "":
		return errMissingRedirect
	case checkURL("redirect URI", q.RedirectURI) != nil:
		return errInvalidReturn
	}
	return nil
}

// deviceSessionData is the data of POST /device-sessions' answer.
type deviceSessionData struct {
	DeviceSession string `json:"device_session"`
	SelectURL     string `json:"select_url"`
	ExpiresAt     int64  `json:"expires_at"`
}

type manufacturerHandler func(w http.ResponseWriter, r *http.Request, m Manufacturer) error

// manufacturerEndpoint is endpoint for a manufacturer's x-api-key.
func (s *Service) manufacturerEndpoint(h manufacturerHandler) http.Handler {
	return s.api.H(func(w http.ResponseWriter, r *http.Request) error {
		m, err := s.manufacturers.Authenticate(r.Context(), httpx.ClientIP(r), r.Header.Get("X-Api-Key"))
		if err != nil {
			return authError(err)
		}
		if err := ratelimit.Take(w, r, s.limiter, s.log, "devicelinks:manufacturer:"+m.ID, keyLimit); err != nil {
			return err
		}
		return h(w, r, m)
	})
}

func (s *Service) handleDeviceSession(w http.ResponseWriter, r *http.Request, m Manufacturer) error {
	var q deviceSessionRequest
	if err := httpx.Decode(w, r, &q); err != nil {
		return err
	}
	if err := q.validate(); err != nil {
		return err
	}
	token := ids.Token("", 32)
	now := s.cfg.Now().Truncate(1e9)
	exp := now.Add(sessionTTL)
	err := s.db.InTx(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO devicelinks_device_sessions (token_hash, manufacturer_id, device_id, redirect_uri, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, s.keys.Hash("devicelinks-device-session", token), m.ID, q.DeviceID, q.RedirectURI, now.UnixMilli(), exp.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("devicelinks: start device session: %w", err)
	}
	httpx.WriteJSON(w, http.StatusOK, okBody{Success: true, Timestamp: now.Unix(), Data: deviceSessionData{DeviceSession: token,
		SelectURL: s.cfg.PublicURL + "/suppliers/select?device_session=" + token, ExpiresAt: exp.Unix()}})
	return nil
}

// postLoginRequest is the body of POST /post-login-redirect.
type postLoginRequest struct {
	State          string `json:"state"`
	SupplierUserID string `json:"supplier_user_id"`
}

func (q *postLoginRequest) validate() error {
	switch {
	case q.State == "":
		return errMissingState
	case q.SupplierUserID == "":
		return errMissingSupplierID
	}
	return checkUserID(q.SupplierUserID)
}

// postLoginData is the data of POST /post-login-redirect's answer: where
// the supplier sends the browser next.
type postLoginData struct {
	RedirectURL string `json:"redirect_url"`
	ExpiresAt   int64  `json:"expires_at"`
}

// handlePostLogin is the supplier's word that the user logged in as
// supplier_user_id: it confirms the state once; the browser's GET
// /post-login-redirect then maps the device. Another supplier's state is
// unknown to it.
func (s *Service) handlePostLogin(w http.ResponseWriter, r *http.Request, sup Supplier) error {
	var q postLoginRequest
	if err := httpx.Decode(w, r, &q); err != nil {
		return err
	}
	if err := q.validate(); err != nil {
		return err
	}
	hash := s.keys.Hash("devicelinks-select-state", q.State)
	var exp int64
	err := s.db.InTx(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		var supplierID string
		var confirmed sql.NullString
		err := tx.QueryRow(ctx, `SELECT supplier_id, supplier_user_id, expires_at FROM devicelinks_select_states
			WHERE state_hash = ?`, hash).Scan(&supplierID, &confirmed, &exp)
		switch {
		case errors.Is(err, db.ErrNotFound) || (err == nil && supplierID != sup.ID):
			return errSelectNotFound
		case err != nil:
			return err
		case confirmed.Valid:
			return errSelectUsed
		case s.now().UnixMilli() >= exp:
			return errSelectExpired
		}
		return spent(db.ExecOne(ctx, tx, `UPDATE devicelinks_select_states SET supplier_user_id = ? WHERE state_hash = ? AND supplier_user_id IS NULL`,
			q.SupplierUserID, hash), errSelectUsed)
	})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, okBody{Success: true, Timestamp: s.now().Unix(), Data: postLoginData{
		RedirectURL: s.postLoginURL() + "?state=" + q.State, ExpiresAt: exp / 1000}})
	return nil
}

// postLoginURL is where a supplier's login sends the browser back.
func (s *Service) postLoginURL() string { return s.cfg.PublicURL + "/post-login-redirect" }
