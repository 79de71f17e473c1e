package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/linkbox/linkbox/internal/errs"
)

// Base is what the layout (layout/layout.html) renders of every page. Each
// page's view is a struct of its own that embeds Base, passed to Render by
// pointer:
//
//	type connectView struct {
//		web.Base
//		Brands []Brand
//	}
type Base struct {
	// Lang is the page's language code. Render sets it to Kit.Language
	// unless it is already the code of a language of the pages, as after
	// v.Lang = kit.Language(r, session.Language).
	Lang string
	// Languages is the switch in the footer, set by Render.
	Languages []LangLink
	// Title is the page's title, for a page whose template defines no
	// "title" of its own.
	Title string
	// CSRF is the token of the page's forms (AnonCSRF, SessionCSRF).
	CSRF string
	// UserID is the signed-in user, "" for none. A page of a signed-in user
	// shows the navigation to the inbox and the account unless its template
	// defines a "nav" of its own.
	UserID string
	// Here is the local URL the language switch leads to, its query built
	// by the handler from what it validated ("/connect?token=…"); "" is
	// the page's path without its query, or the home page answering a
	// POST.
	Here string
}

// View is a page's view: any struct that embeds Base.
type View interface{ base() *Base }

func (b *Base) base() *Base { return b }

// errorView is the error page's view; its title is in Base.
type errorView struct {
	Base
	Error *errs.Error
	// Return leads back to the app the page was about, when it is known:
	// a linking link no longer valid.
	Return *returnLink
}

// returnLink is an error page's way back to an app.
type returnLink struct{ Name, URL string }

// The templates' functions, beside t: asset, when and errorText.
func (k *Kit) funcs(l *locale) template.FuncMap {
	return template.FuncMap{"asset": k.assets.url, "when": when, "t": l.text, "errorText": l.errorText}
}

// when formats a time as the pages show it; inbox.js writes the same form.
func when(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// parseLayouts parses the layout once per language; each page is parsed
// into a copy of it.
func (k *Kit) parseLayouts() error {
	for _, l := range k.locales {
		t, err := template.New("layout.html").Funcs(k.funcs(l)).ParseFS(files, "layout/layout.html")
		if err != nil {
			return fmt.Errorf("web: parse the layout: %w", err)
		}
		k.layouts[l.code()] = t
	}
	return nil
}

// AddDir adds a surface's pages and texts kept together in one directory
// of fsys: its templates dir/*.html (AddPages) and catalogs dir/*.txt
// (AddCatalogs).
func (k *Kit) AddDir(fsys fs.FS, dir string) error {
	if err := k.AddPages(fsys, dir+"/*.html"); err != nil {
		return err
	}
	return k.AddCatalogs(fsys, dir+"/*.txt")
}

// AddPages adds the page templates of fsys whose names match pattern
// (fs.Glob), each parsed inside the layout in every language. A page is
// named by its file's name without ".html" ("connect.html" is "connect")
// and defines "content", and may define "title" (else Base.Title is the
// title) and "nav". Its functions are t (a message by literal id, with
// arguments to format into it), errorText (an *errs.Error in the page's
// language), asset (the URL of a file under assets/) and when (a time). A
// page name another surface has taken is refused.
func (k *Kit) AddPages(fsys fs.FS, pattern string) error {
	if k.mounted {
		return errMounted
	}
	names, err := fs.Glob(fsys, pattern)
	if err != nil || len(names) == 0 {
		return fmt.Errorf("web: no page matches %q (%v)", pattern, err)
	}
	// Every page is parsed before any is added: a refused registration
	// leaves the kit as it was.
	adds := make(map[string]map[string]*template.Template, len(names))
	for _, name := range names {
		page := strings.TrimSuffix(path.Base(name), ".html")
		if _, taken := k.pages[page]; taken || adds[page] != nil || page == "layout" {
			return fmt.Errorf("web: page %s: the name %q is taken", name, page)
		}
		adds[page] = make(map[string]*template.Template, len(k.locales))
		for _, l := range k.locales {
			t, err := k.layouts[l.code()].Clone()
			if err == nil {
				_, err = t.ParseFS(fsys, name)
			}
			if err != nil {
				return fmt.Errorf("web: parse page %s: %w", name, err)
			}
			adds[page][l.code()] = t
		}
	}
	maps.Copy(k.pages, adds)
	return nil
}

// Render writes the page name, a registered page, with status, in v's
// language (Base.Lang) or r's. It renders into a buffer first, so that a
// template error is a clean 500 rather than half a page.
func (k *Kit) Render(w http.ResponseWriter, r *http.Request, status int, name string, v View) error {
	b := v.base()
	if !isLanguage(b.Lang) {
		b.Lang = pageLanguage(r)
	}
	l := k.locale(b.Lang)
	b.Languages = k.languageLinks(r, b.Here, l)
	t, ok := k.pages[name][b.Lang]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
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

// RenderError writes err as an error page in r's language, with the status
// of its kind, as the pages' adapter writes the error a page handler
// returns: a 5xx is logged and says little.
func (k *Kit) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	k.adapt.Error(w, r, err)
}

// renderError is the pages' httpx.Render: an error page saying what went
// wrong, in r's language, with the status of the error's kind.
func (k *Kit) renderError(w http.ResponseWriter, r *http.Request, status int, e *errs.Error) {
	k.renderErrorPage(w, r, status, &errorView{Error: e})
}

// renderErrorPage writes the error page v with status, titled by v's
// error in r's language.
func (k *Kit) renderErrorPage(w http.ResponseWriter, r *http.Request, status int, v *errorView) {
	l := k.locale(pageLanguage(r))
	v.Title = l.statusText(status)
	if v.Error.Kind == errs.Gone {
		v.Title, _ = l.lookup("error.gone_title")
	}
	if err := k.Render(w, r, status, "error", v); err != nil {
		k.log.Error("web: error page failed", "err", err)
		http.Error(w, v.Error.Message, status)
	}
}
