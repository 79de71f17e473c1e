package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/inbox"
)

//go:embed assets templates
var files embed.FS

// pageNames are the templates, each rendered inside templates/layout.html.
var pageNames = []string{"login", "signup", "verify", "consent", "account", "inbox", "error"}

// assetFiles maps each file under assets/ to a digest of its content, put in
// its URL: the files can then be cached for a year, and a new release still
// reaches every browser at once.
type assetFiles map[string]string

func loadAssets() (assetFiles, error) {
	a := assetFiles{}
	err := fs.WalkDir(files, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a[strings.TrimPrefix(path, "assets/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read assets: %w", err)
	}
	return a, nil
}

// url is the versioned URL of an asset; parsing the templates fails on an
// unknown name.
func (a assetFiles) url(name string) (string, error) {
	v, ok := a[name]
	if !ok {
		return "", fmt.Errorf("web: no asset %q", name)
	}
	return "/assets/" + name + "?v=" + v, nil
}

// parsePages parses the pages of each locale, by locale code and page name.
// Each locale's templates have its own t and errorText, so that a request
// only picks the set of its language.
func parsePages(a assetFiles) (map[string]map[string]*template.Template, error) {
	pages := make(map[string]map[string]*template.Template, len(locales))
	for _, l := range locales {
		funcs := template.FuncMap{"asset": a.url, "when": when, "t": l.text, "errorText": l.errorText}
		pages[l.code()] = make(map[string]*template.Template, len(pageNames))
		for _, name := range pageNames {
			t, err := template.New("layout.html").Funcs(funcs).
				ParseFS(files, "templates/layout.html", "templates/"+name+".html")
			if err != nil {
				return nil, fmt.Errorf("web: parse template %s: %w", name, err)
			}
			pages[l.code()][name] = t
		}
	}
	return pages, nil
}

// when formats a time as the pages show it; inbox.js writes the same form.
func when(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// view is what a template renders. Each page uses the fields it needs.
type view struct {
	Lang        string     // the page's language, set by render
	Languages   []langLink // the language switcher, set by render
	Title       string     // the error page's; the other pages' are in their templates
	CSRF        string
	Next        string // a local path to go to after signing in, "" for the default
	Phone       string
	Error       *errs.Error
	Pending     bool // the error is account_pending: offer the way to the code
	Resent      bool // a new code was sent
	Form        signupForm
	Link        connect.LinkRequest
	Action      string // the target of the consent form
	Apps        []connect.LinkedApp
	Messages    []inbox.Message
	LastEventID string // where the inbox page's stream starts
}

// render writes the page name with status, in the language of r. It renders
// into a buffer first, so that a template error is a clean 500 rather than
// half a page.
func (s *Service) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) error {
	l := pageLanguage(r)
	v.Lang, v.Languages = l.code(), languageLinks(r, name, v, l)
	var buf bytes.Buffer
	if err := s.pages[l.code()][name].Execute(&buf, v); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The language comes from the lang cookie or Accept-Language.
	h.Add("Vary", "Accept-Language")
	h.Add("Vary", "Cookie")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// renderError is the pages' httpx.Render: an error page saying what went
// wrong, in r's language, with the status of the error's kind.
func (s *Service) renderError(w http.ResponseWriter, r *http.Request, status int, e *errs.Error) {
	l := pageLanguage(r)
	title := l.statusText(status)
	if e.Kind == errs.Gone {
		title = l.messages["error.gone_title"]
	}
	if err := s.render(w, r, status, "error", view{Title: title, Error: e}); err != nil {
		s.log.Error("web: error page failed", "err", err)
		http.Error(w, e.Message, status)
	}
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

// page adapts a page handler: security headers first, a language chosen
// with ?lang= remembered, errors as HTML pages in the request's language.
func (s *Service) page(h httpx.HandlerFunc) http.Handler {
	inner := s.adapt.H(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		s.rememberLanguage(w, r)
		inner.ServeHTTP(w, r)
	})
}

// seeOther redirects with 303, so that the browser follows with a GET.
func seeOther(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusSeeOther)
}

// handler serves the embedded files under /assets/. The URLs carry a
// digest of the content, so they are immutable.
func (a assetFiles) handler() (http.Handler, error) {
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		return nil, fmt.Errorf("web: assets: %w", err)
	}
	files := http.StripPrefix("/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := a[strings.TrimPrefix(r.URL.Path, "/assets/")]; !ok {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	}), nil
}
