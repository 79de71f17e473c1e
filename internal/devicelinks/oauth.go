package devicelinks

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/web"
)

//go:embed pages
var pageFiles embed.FS

// Pages registers the hosted pages on the kit: GET /connect (the brands),
// POST /connect/brand (302 to the manufacturer with state and PKCE S256),
// GET /oauth/callback (303 back to the supplier's redirect_uri) and its
// device picker; for section 2, GET and POST /suppliers/select (the
// suppliers, 302 to one's login page) and GET /post-login-redirect (303
// back to the manufacturer).
func (s *Service) Pages(k *web.Kit) error {
	if err := k.AddDir(pageFiles, "pages"); err != nil {
		return err
	}
	s.kit = k
	k.HandlePage("GET /connect", s.connectPage)
	k.HandlePage("POST /connect/brand", s.chooseBrand)
	k.HandlePage("GET /oauth/callback", s.callback)
	k.HandlePage("POST /connect/device", s.chooseDevice)
	k.HandlePage("GET /suppliers/select", s.selectPage)
	k.HandlePage("POST /suppliers/select", s.chooseSupplier)
	k.HandlePage("GET /post-login-redirect", s.postLoginPage)
	return nil
}

// session is a link session as the pages read it.
type session struct {
	hash, supplierID, supplierUserID, redirectURI, language string
	expires                                                 time.Time
}

func (s *Service) session(ctx context.Context, token string) (session, error) {
	se := session{hash: s.keys.Hash("devicelinks-session", token)}
	var exp int64
	err := s.db.QueryRow(ctx, `SELECT supplier_id, supplier_user_id, redirect_uri, language, expires_at
		FROM devicelinks_sessions WHERE token_hash = ?`, se.hash).Scan(&se.supplierID, &se.supplierUserID, &se.redirectURI, &se.language, &exp)
	if errors.Is(err, db.ErrNotFound) {
		return session{}, errSessionNotFound
	}
	if err != nil {
		return session{}, err
	}
	se.expires = time.UnixMilli(exp)
	return se, nil
}

type connectView struct {
	web.Base
	Supplier string
	Token    string
	Brands   []Manufacturer
}

func (s *Service) connectPage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	se, err := s.session(r.Context(), token)
	if err != nil {
		return err
	}
	if !s.now().Before(se.expires) {
		return errSessionExpired
	}
	sup, err := s.supplier(r.Context(), se.supplierID)
	if err != nil {
		return err
	}
	brands, err := s.ListManufacturers(r.Context())
	if err != nil {
		return err
	}
	// The form's answer redirects to a manufacturer, and its answer, through
	// the callback, to the supplier: Chromium applies form-action to the
	// whole chain.
	targets, logos := []string{se.redirectURI}, []string(nil)
	for _, m := range brands {
		targets = append(targets, m.AuthorizeURL)
		if m.LogoURL != "" {
			logos = append(logos, m.LogoURL)
		}
	}
	policy := web.FormActionCSP(targets...)
	if origins := origins(logos); origins != "" {
		policy = strings.Replace(policy, "img-src 'self' data:", "img-src 'self' data: "+origins, 1)
	}
	w.Header().Set("Content-Security-Policy", policy)
	v := &connectView{Supplier: sup.Name, Token: token, Brands: brands}
	v.Lang = s.kit.Language(r, se.language)
	v.CSRF = s.kit.AnonCSRF(w, r)
	v.Here = "/connect?token=" + url.QueryEscape(token)
	return s.kit.Render(w, r, http.StatusOK, "devicelinks_connect", v)
}

// origins are the scheme://host of urls that can be written into a CSP.
func origins(urls []string) string {
	var out []string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
			strings.Trim(strings.ToLower(u.Host), "abcdefghijklmnopqrstuvwxyz0123456789.-:[]") == "" {
			out = append(out, u.Scheme+"://"+u.Host)
		}
	}
	return strings.Join(out, " ")
}

// supplier returns the live supplier of id.
func (s *Service) supplier(ctx context.Context, id string) (Supplier, error) {
	sup, err := s.suppliers.Get(ctx, id)
	if errs.Is(err, errs.NotFound, errSupplierNotFound.Code) {
		return Supplier{}, errSupplierNotFound
	}
	return sup, err
}

// oauthConfig is the manufacturer's OAuth2 client.
func (s *Service) oauthConfig(m Manufacturer) (*oauth2.Config, error) {
	secret, err := s.keys.Open(sealOAuth, m.clientSecret)
	if err != nil {
		return nil, fmt.Errorf("devicelinks: open client secret of %s: %w", m.Brand, err)
	}
	return &oauth2.Config{ClientID: m.ClientID, ClientSecret: string(secret), Scopes: m.Scopes,
		Endpoint:    oauth2.Endpoint{AuthURL: m.AuthorizeURL, TokenURL: m.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: s.cfg.PublicURL + "/oauth/callback"}, nil
}

// browser is the keyed hash binding a state to the browser that chose the
// brand: its anonymous CSRF token, itself the keyed hash of an HttpOnly
// cookie. A browser without that cookie gets a new one, and a mismatch.
func (s *Service) browser(w http.ResponseWriter, r *http.Request) string {
	return s.keys.Hash("devicelinks-browser", s.kit.AnonCSRF(w, r))
}

func (s *Service) chooseBrand(w http.ResponseWriter, r *http.Request) error {
	if err := s.kit.CheckAnonForm(w, r); err != nil {
		return err
	}
	se, err := s.session(r.Context(), r.PostForm.Get("token"))
	if err != nil {
		return err
	}
	if !s.now().Before(se.expires) {
		return errSessionExpired
	}
	m, err := s.manufacturer(r.Context(), r.PostForm.Get("manufacturer"))
	if err != nil {
		return err
	}
	conf, err := s.oauthConfig(m)
	if err != nil {
		return err
	}
	state := ids.Token("", 32)
	verifier := oauth2.GenerateVerifier()
	err = s.db.InTx(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO devicelinks_states (state_hash, session_hash, manufacturer_id, browser_hash, verifier, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, s.keys.Hash("devicelinks-state", state), se.hash, m.ID, s.browser(w, r),
			s.keys.Seal(sealPKCE, []byte(verifier)), se.expires.UnixMilli())
		return err
	})
	if err != nil {
		return err
	}
	http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), http.StatusFound)
	return nil
}

// oauthState is a state row, claimed by the callback.
type oauthState struct {
	se       session
	m        Manufacturer
	verifier string
}

// claimState marks the state used, once, for this browser.
func (s *Service) claimState(w http.ResponseWriter, r *http.Request, state string) (oauthState, error) {
	var st oauthState
	var sealed, mid string
	var used sql.NullInt64
	var browser string
	err := s.db.InTx(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		err := tx.QueryRow(ctx, `SELECT s.session_hash, s.manufacturer_id, s.browser_hash, s.verifier, s.used_at,
			l.supplier_id, l.supplier_user_id, l.redirect_uri, l.language, l.expires_at
			FROM devicelinks_states s JOIN devicelinks_sessions l ON l.token_hash = s.session_hash
			WHERE s.state_hash = ?`, s.keys.Hash("devicelinks-state", state)).Scan(&st.se.hash, &mid, &browser, &sealed, &used,
			&st.se.supplierID, &st.se.supplierUserID, &st.se.redirectURI, &st.se.language, new(int64))
		if errors.Is(err, db.ErrNotFound) {
			return errStateUnknown
		}
		if err != nil {
			return err
		}
		if used.Valid || !secretsEqual(browser, s.browser(w, r)) {
			return errStateUnknown
		}
		// Conditional: of two answers racing on PostgreSQL, one spends it.
		return spent(db.ExecOne(ctx, tx, `UPDATE devicelinks_states SET used_at = ? WHERE state_hash = ? AND used_at IS NULL`,
			s.now().UnixMilli(), s.keys.Hash("devicelinks-state", state)), errStateUnknown)
	})
	if err != nil {
		return oauthState{}, err
	}
	// The session's expiry is read again, outside: a late callback fails
	// even when the login succeeded.
	se, err := s.sessionByHash(r.Context(), st.se.hash)
	if err != nil {
		return oauthState{}, err
	}
	st.se = se
	if st.m, err = s.manufacturer(r.Context(), mid); err != nil {
		return oauthState{}, err
	}
	v, err := s.keys.Open(sealPKCE, sealed)
	if err != nil {
		return oauthState{}, err
	}
	st.verifier = string(v)
	return st, nil
}

func (s *Service) sessionByHash(ctx context.Context, hash string) (session, error) {
	se := session{hash: hash}
	var exp int64
	err := s.db.QueryRow(ctx, `SELECT supplier_id, supplier_user_id, redirect_uri, language, expires_at
		FROM devicelinks_sessions WHERE token_hash = ?`, hash).Scan(&se.supplierID, &se.supplierUserID, &se.redirectURI, &se.language, &exp)
	if err != nil {
		return session{}, err
	}
	se.expires = time.UnixMilli(exp)
	return se, nil
}

func secretsEqual(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// spent is the error of a conditional update that spends a single-use
// row: lost, when another request spent it first (db.ErrNotFound).
func spent(err, lost error) error {
	if errors.Is(err, db.ErrNotFound) {
		return lost
	}
	return err
}

// callback takes the manufacturer's answer. A state that is not ours
// (unknown, used, another browser's) is a 400 page: we cannot know where
// to send the browser. Every other failure goes back to the supplier with
// connection_status=failed.
func (s *Service) callback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	st, err := s.claimState(w, r, q.Get("state"))
	if err != nil {
		return err
	}
	fail := func(reason string, cause error) error {
		if cause != nil {
			s.log.WarnContext(r.Context(), "device link failed", "reason", reason, "err", cause, "supplier", st.se.supplierID)
		}
		return s.back(w, r, st, "", reason)
	}
	switch {
	case !s.now().Before(st.se.expires):
		return fail("session_expired", nil)
	case q.Get("error") != "":
		return fail("access_denied", nil)
	case q.Get("code") == "":
		return fail("invalid_response", nil)
	}
	conf, err := s.oauthConfig(st.m)
	if err != nil {
		return fail("internal_error", err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.verifier))
	if err != nil {
		return fail("token_exchange_failed", err)
	}
	// A token that lives less than oauth2's 10 s margin is refreshed now,
	// so that the one stored is the one the manufacturer last issued.
	if tok, err = conf.TokenSource(ctx, tok).Token(); err != nil {
		return fail("token_exchange_failed", err)
	}
	devices, err := s.devices(ctx, tok, st.m)
	if err != nil || len(devices) == 0 {
		return fail("no_devices", err)
	}
	if len(devices) > 1 {
		return s.picker(w, r, st, q.Get("state"), devices, tok)
	}
	nox, err := s.storeMapping(r.Context(), st.target(), devices, tok)
	if err != nil {
		return fail("internal_error", err)
	}
	return s.back(w, r, st, nox, "")
}
