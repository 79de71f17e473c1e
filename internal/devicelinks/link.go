package devicelinks

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/language"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ids"
)

// linkRequest is the body of POST /users/{supplier_user_id}/link.
type linkRequest struct {
	RedirectURI string `json:"redirect_uri"`
	Language    string `json:"language"`
}

// validate checks the request against the supplier's registration.
func (q *linkRequest) validate(sup Supplier) error {
	if q.RedirectURI == "" {
		return errMissingRedirect
	}
	if q.Language == "" {
		q.Language = "en"
	}
	if _, err := language.Parse(q.Language); err != nil || len(q.Language) > 35 {
		return errInvalidLanguage
	}
	if !slices.Contains(sup.RedirectURIs, q.RedirectURI) {
		return errUnregistered
	}
	return nil
}

func checkUserID(id string) error {
	if id == "" || len(id) > maxUserID || strings.ContainsFunc(id, unicode.IsControl) {
		return errInvalidUserID
	}
	return nil
}

// linkData is the seed's data of a link answer.
type linkData struct {
	LinkToken      string `json:"link_token"`
	LinkURL        string `json:"link_url"`
	ExpiresAt      int64  `json:"expires_at"`
	SupplierID     string `json:"supplier_id"`
	SupplierUserID string `json:"supplier_user_id"`
}

type okBody struct {
	Success   bool  `json:"success"`
	Timestamp int64 `json:"timestamp"`
	Data      any   `json:"data"`
}

func (s *Service) handleLink(w http.ResponseWriter, r *http.Request, sup Supplier) error {
	userID := r.PathValue("supplier_user_id")
	if err := checkUserID(userID); err != nil {
		return err
	}
	var q linkRequest
	if err := httpx.Decode(w, r, &q); err != nil {
		return err
	}
	if err := q.validate(sup); err != nil {
		return err
	}
	d, err := s.StartLink(r.Context(), sup, userID, q.RedirectURI, q.Language)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, okBody{Success: true, Timestamp: d.ExpiresAt - int64(sessionTTL.Seconds()), Data: d})
	return nil
}

// StartLink opens a 15-minute link session for the supplier's user; the
// token is stored as its keyed hash.
func (s *Service) StartLink(ctx context.Context, sup Supplier, userID, redirectURI, lang string) (linkData, error) {
	token := ids.Token("", 32)
	now := s.cfg.Now().Truncate(1e9)
	exp := now.Add(sessionTTL)
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO devicelinks_sessions (token_hash, supplier_id, supplier_user_id, redirect_uri,
			language, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			s.keys.Hash("devicelinks-session", token), sup.ID, userID, redirectURI, lang, now.UnixMilli(), exp.UnixMilli())
		return err
	})
	if err != nil {
		return linkData{}, fmt.Errorf("devicelinks: start link: %w", err)
	}
	return linkData{LinkToken: token, LinkURL: s.cfg.PublicURL + "/connect?token=" + token, ExpiresAt: exp.Unix(),
		SupplierID: sup.ID, SupplierUserID: userID}, nil
}
