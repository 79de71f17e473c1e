package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/secrets"
)

//go:embed assets layout templates messages
var files embed.FS

// Kit is the page kit every surface's hosted pages stand on: one layout,
// the cookie sessions, CSRF tokens, the languages and the error pages. A
// surface registers its templates (AddPages), its texts (AddCatalogs) and
// its routes (HandlePage) while the server is assembled; Routes then
// mounts them all. Web's own pages are registered the same way
// (NewService).
type Kit struct {
	db      *db.DB
	keys    *secrets.Keyring
	users   userReader
	streams streamRevoker
	now     func() time.Time
	log     *slog.Logger
	adapt   httpx.Adapter // errors as HTML pages (renderError)
	secure  bool          // cookies only over https
	assets  assetFiles
	static  http.Handler                             // assets.handler()
	locales []*locale                                // the languages and their texts, English first
	layouts map[string]*template.Template            // by language code
	pages   map[string]map[string]*template.Template // by page name and language code
	routes  []route
	mounted bool // Routes has run: registration is over
}

// userReader is what sessions read of an account.
type userReader interface {
	UserByID(ctx context.Context, id string) (accounts.User, error)
}

// streamRevoker closes the event streams a page session opened.
type streamRevoker interface {
	RevokeSessions(ctx context.Context, tx *db.Tx, userID, session string) error
}

// route is a page registered with HandlePage.
type route struct {
	pattern string
	h       httpx.HandlerFunc
}

var errMounted = errors.New("web: registration after Routes")

// newKit returns a kit with the layout, the error page and their texts.
func newKit(d *db.DB, keys *secrets.Keyring, users userReader, streams streamRevoker, cfg Config, log *slog.Logger) (*Kit, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("web: public URL %q is not an http(s) URL", cfg.PublicURL)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	k := &Kit{db: d, keys: keys, users: users, streams: streams, now: cfg.Now, log: log,
		secure: u.Scheme == "https", locales: newLocales(),
		layouts: map[string]*template.Template{}, pages: map[string]map[string]*template.Template{}}
	k.adapt = httpx.Adapter{Log: log, Render: k.renderError}
	if k.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if k.static, err = k.assets.handler(); err != nil {
		return nil, err
	}
	if err := k.parseLayouts(); err != nil {
		return nil, err
	}
	if err := k.AddPages(files, "layout/error.html"); err != nil {
		return nil, err
	}
	return k, k.AddCatalogs(files, "layout/*.txt")
}

// locale returns the kit's language of code, or nil for any other value.
func (k *Kit) locale(code string) *locale {
	for _, l := range k.locales {
		if l.code() == code {
			return l
		}
	}
	return nil
}

// HandlePage registers the page handler h for pattern (an http.ServeMux
// pattern, "GET /connect"), to be mounted by Routes. Its answers carry the
// pages' security headers, a language chosen with ?lang= is remembered,
// and the error it returns is written as an error page in the request's
// language with the status of its kind. It panics after Routes, as a
// ServeMux panics on a bad pattern: both are mistakes of the wiring.
func (k *Kit) HandlePage(pattern string, h httpx.HandlerFunc) {
	if k.mounted {
		panic(fmt.Sprintf("web: HandlePage(%q) after Routes", pattern))
	}
	k.routes = append(k.routes, route{pattern, h})
}

// Routes mounts every registered page on mux, with the assets under
// /assets/, and ends registration.
func (k *Kit) Routes(mux *http.ServeMux) {
	k.mounted = true
	for _, rt := range k.routes {
		mux.Handle(rt.pattern, k.page(rt.h))
	}
	mux.Handle("GET /assets/", k.static)
}

// page adapts a page handler: security headers first, a language chosen
// with ?lang= remembered, errors as HTML pages in the request's language.
func (k *Kit) page(h httpx.HandlerFunc) http.Handler {
	inner := k.adapt.H(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		k.rememberLanguage(w, r)
		inner.ServeHTTP(w, r)
	})
}

// Security headers of every page. Link tokens are in URLs, hence
// no-referrer; nothing is cached, since pages show codes and tokens.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}

// FormActionCSP is the pages' Content-Security-Policy with the origins of
// targets added to form-action, for a page whose form answers with a
// redirect to another site (Chromium applies form-action to that
// redirect): the consent page's return URL, a brand picker's authorize
// URLs. When a target's origin cannot be written safely into the header
// the policy has no form-action at all; targets are checked when they are
// registered, so this is a guard, not a path taken.
func FormActionCSP(targets ...string) string {
	policy := csp
	for _, target := range targets {
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			strings.ContainsFunc(u.Host, func(c rune) bool { return !isHostChar(c) }) {
			return strings.TrimSuffix(csp, "; form-action 'self'")
		}
		policy += " " + u.Scheme + "://" + u.Host
	}
	return policy
}

func isHostChar(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.ContainsRune(".-:[]", c)
}

// SeeOther redirects with 303, so that the browser follows with a GET.
func SeeOther(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusSeeOther)
}

// FormError returns the error a form shown again should tell about, with
// the status of its kind (and Retry-After), or ok false for a fault of
// ours, which the handler returns instead.
func FormError(w http.ResponseWriter, err error) (e *errs.Error, status int, ok bool) {
	e = errs.From(err)
	status = httpx.Status(e.Kind)
	if status >= 500 {
		return nil, 0, false
	}
	httpx.SetRetryAfter(w, e)
	return e, status, true
}
