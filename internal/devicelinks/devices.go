package devicelinks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"golang.org/x/oauth2"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/web"
)

// Device is a device at a manufacturer.
type Device struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}

type devicesView struct {
	web.Base
	State   string
	Devices []Device
}

// picker keeps the token and the devices in the spent state and asks the
// user which device to link.
func (s *Service) picker(w http.ResponseWriter, r *http.Request, st oauthState, state string, devices []Device, tok *oauth2.Token) error {
	rawTok, err := json.Marshal(tok)
	if err != nil {
		return err
	}
	rawDev, err := json.Marshal(devices)
	if err != nil {
		return err
	}
	err = s.db.InTx(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE devicelinks_states SET token = ?, devices = ? WHERE state_hash = ?`,
			s.keys.Seal(sealToken, rawTok), string(rawDev), s.keys.Hash("devicelinks-state", state))
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Security-Policy", web.FormActionCSP(st.se.redirectURI))
	v := &devicesView{State: state, Devices: devices}
	v.Lang = s.kit.Language(r, st.se.language)
	v.CSRF = s.kit.AnonCSRF(w, r)
	v.Here = "/"
	return s.kit.Render(w, r, http.StatusOK, "devicelinks_devices", v)
}

// chooseDevice takes the picker's answer, once, from the browser that
// started the flow, and maps the device chosen.
func (s *Service) chooseDevice(w http.ResponseWriter, r *http.Request) error {
	if err := s.kit.CheckAnonForm(w, r); err != nil {
		return err
	}
	hash := s.keys.Hash("devicelinks-state", r.PostForm.Get("state"))
	var st oauthState
	var mid, browser string
	var sealed, devices sql.NullString
	err := s.db.InTx(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		err := tx.QueryRow(ctx, `SELECT session_hash, manufacturer_id, browser_hash, token, devices FROM devicelinks_states
			WHERE state_hash = ?`, hash).Scan(&st.se.hash, &mid, &browser, &sealed, &devices)
		if errors.Is(err, db.ErrNotFound) || (err == nil && (!sealed.Valid || !secretsEqual(browser, s.browser(w, r)))) {
			return errStateUnknown
		}
		if err != nil {
			return err
		}
		return spent(db.ExecOne(ctx, tx, `UPDATE devicelinks_states SET token = NULL, devices = NULL WHERE state_hash = ? AND token IS NOT NULL`, hash),
			errStateUnknown)
	})
	if err != nil {
		return err
	}
	if st.se, err = s.sessionByHash(r.Context(), st.se.hash); err != nil {
		return err
	}
	if st.m, err = s.manufacturer(r.Context(), mid); err != nil {
		return err
	}
	if !s.now().Before(st.se.expires) {
		return s.back(w, r, st, "", "session_expired")
	}
	var list []Device
	var tok oauth2.Token
	raw, err := s.keys.Open(sealToken, sealed.String)
	if err == nil {
		err = json.Unmarshal(raw, &tok)
	}
	if err == nil {
		err = json.Unmarshal([]byte(devices.String), &list)
	}
	if err != nil {
		return err
	}
	i := slices.IndexFunc(list, func(d Device) bool { return d.ID == r.PostForm.Get("device") })
	if i < 0 {
		return s.back(w, r, st, "", "no_devices")
	}
	nox, err := s.storeMapping(r.Context(), st.target(), list[i:i+1], &tok)
	if err != nil {
		return err
	}
	return s.back(w, r, st, nox, "")
}

// devices asks the manufacturer for the user's devices; without a devices
// URL the token's subject (its "sub", else the user) is the device.
func (s *Service) devices(ctx context.Context, tok *oauth2.Token, m Manufacturer) ([]Device, error) {
	if m.DevicesURL == "" {
		if sub, _ := tok.Extra("sub").(string); sub != "" {
			return []Device{{ID: sub}}, nil
		}
		return nil, errors.New("devicelinks: no devices URL and no sub in the token")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.DevicesURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok)).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("devicelinks: devices of %s: %s", m.Brand, resp.Status)
	}
	var list []Device
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("devicelinks: devices of %s: %w", m.Brand, err)
	}
	var out []Device
	for _, d := range list {
		if d.ID != "" {
			out = append(out, d)
		}
	}
	return out, nil
}
