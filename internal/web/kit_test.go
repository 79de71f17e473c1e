package web_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/web"
)

// greetPages are the pages of a surface of the tests' own, as a package
// beside web would register them: a template with a title of its own, one
// titled from Go, an English catalog and a German one that leaves a text
// and the Dutch and French catalogs out.
var greetPages = fstest.MapFS{
	"pages/greet.html": {Data: []byte(`{{define "title"}}{{t "greet.title"}}{{end}}
{{define "content"}}
<h1 id="greet">{{t "greet.heading" .Name}}</h1>
<p id="untranslated">{{t "greet.untranslated"}}</p>
{{with .UserID}}<p id="signed-in">{{t "greet.signed_in"}}</p>{{end}}
<form method="post" action="/greet">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit">{{t "greet.submit"}}</button>
</form>
{{end}}
`)},
	"pages/plain.html": {Data: []byte(`{{define "content"}}<h1 id="plain">{{.Title}}</h1>{{end}}`)},
	"messages/en.txt": {Data: []byte(`# The greeting pages in English.
greet.title = Greetings
greet.heading = Hello, %s
greet.untranslated = Only in English
greet.signed_in = You are signed in
greet.submit = Send
`)},
	"messages/de.txt": {Data: []byte(`greet.title = Grüße
greet.heading = Hallo, %s
greet.signed_in = Sie sind angemeldet
greet.submit = Senden
code.greeting_not_found = Diesen Gruß gibt es nicht
`)},
}

// greetView is the greet page's view.
type greetView struct {
	web.Base
	Name string
}

// registerGreet registers the greeting pages with k through the kit's
// exported API alone.
func registerGreet(t testing.TB, k *web.Kit) {
	t.Helper()
	if err := k.AddPages(greetPages, "pages/*.html"); err != nil {
		t.Fatal(err)
	}
	if err := k.AddCatalogs(greetPages, "messages/*.txt"); err != nil {
		t.Fatal(err)
	}
	k.HandlePage("GET /greet", func(w http.ResponseWriter, r *http.Request) error {
		name := r.URL.Query().Get("name")
		if strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			name = "stranger"
		}
		v := &greetView{Base: web.Base{Here: "/greet?name=" + url.QueryEscape(name)}, Name: name}
		se, err := k.Session(r)
		switch {
		case err == nil:
			v.CSRF, v.UserID = k.SessionCSRF(se), se.UserID
		case errors.Is(err, web.ErrNoSession):
			v.CSRF = k.AnonCSRF(w, r)
		default:
			return err
		}
		return k.Render(w, r, http.StatusOK, "greet", v)
	})
	k.HandlePage("POST /greet", func(w http.ResponseWriter, r *http.Request) error {
		se, err := k.Session(r)
		switch {
		case err == nil:
			err = k.CheckSessionForm(w, r, se)
		case errors.Is(err, web.ErrNoSession):
			err = k.CheckAnonForm(w, r)
		}
		if err != nil {
			return err
		}
		web.SeeOther(w, "/greet?name=Sent")
		return nil
	})
	k.HandlePage("GET /greet/private", func(w http.ResponseWriter, r *http.Request) error {
		se, ok, err := k.RequireSession(w, r)
		if !ok {
			return err
		}
		return k.Render(w, r, http.StatusOK, "plain", &greetView{Base: web.Base{Title: "Private", UserID: se.UserID}})
	})
	k.HandlePage("GET /greet/hinted", func(w http.ResponseWriter, r *http.Request) error {
		v := &greetView{Name: "Hint"}
		v.Lang = k.Language(r, r.URL.Query().Get("hint"))
		return k.Render(w, r, http.StatusOK, "greet", v)
	})
	k.HandlePage("GET /greet/missing", func(w http.ResponseWriter, r *http.Request) error {
		return errs.E(errs.NotFound, "greeting_not_found", "No such greeting")
	})
	k.HandlePage("GET /greet/gone", func(w http.ResponseWriter, r *http.Request) error {
		k.RenderError(w, r, errs.E(errs.Gone, "link_used", "This link has already been used"))
		return nil
	})
	k.HandlePage("GET /greet/unregistered", func(w http.ResponseWriter, r *http.Request) error {
		return k.Render(w, r, http.StatusOK, "nope", &greetView{})
	})
}

func greetEnv(t testing.TB, databaseURL string) *env {
	t.Helper()
	return newEnvWith(t, databaseURL, "http://127.0.0.1", func(k *web.Kit) { registerGreet(t, k) })
}

// TestRegisteredPageSignedOut: a page of another package renders inside
// the layout, in the request's language, its texts falling back to English
// where its catalog has none, under the pages' security headers.
func TestRegisteredPageSignedOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := greetEnv(t, databaseURL)
		b := e.browser()
		p := b.get("/greet?name=Ada")
		wantAll(t, "English", p, http.StatusOK, "<!doctype html>\n<html lang=\"en\">", "<title>Greetings · Linkbox</title>",
			`<link rel="stylesheet" href="/assets/style.css?v=`, `<a class="brand" href="/">Linkbox</a>`,
			`<h1 id="greet">Hello, Ada</h1>`, `<span lang="en" aria-current="true">English</span>`,
			`<a href="/greet?lang=de&amp;name=Ada" hreflang="de" lang="de">Deutsch</a>`,
			`<a href="/greet?lang=fr&amp;name=Ada" hreflang="fr" lang="fr">Français</a>`)
		if strings.Contains(p.body, `<nav><a href="/inbox">`) || strings.Contains(p.body, `id="signed-in"`) {
			t.Errorf("a signed-out page shows the signed-in navigation:\n%s", p.body)
		}
		if got := p.header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
			t.Errorf("CSP = %q, want the pages' policy", got)
		}
		wantAll(t, "German", b.get("/greet?name=Ada&lang=de"), http.StatusOK, `<html lang="de">`,
			"<title>Grüße · Linkbox</title>", `<h1 id="greet">Hallo, Ada</h1>`, `aria-label="Sprache"`,
			`<p id="untranslated">Only in English</p>`, `Senden</button>`)
		wantAll(t, "French, without a catalog", b.get("/greet?name=Ada&lang=fr"), http.StatusOK, `<html lang="fr">`,
			`aria-label="Langue"`, "<title>Greetings · Linkbox</title>", `<h1 id="greet">Hello, Ada</h1>`)
		wantAll(t, "Dutch, without a catalog", b.get("/greet?name=Ada&lang=nl"), http.StatusOK, `<html lang="nl">`,
			`aria-label="Taal"`, `<h1 id="greet">Hello, Ada</h1>`)

		fresh := e.browser()
		for _, bad := range []string{"xx", "DE", "de-DE", "<script>"} {
			p := fresh.get("/greet?name=Ada&lang=" + url.QueryEscape(bad))
			want(t, "?lang="+bad, p, http.StatusOK, `<html lang="en">`)
			want(t, "?lang="+bad, p, http.StatusOK, `<h1 id="greet">Hello, Ada</h1>`)
		}
		want(t, "a page the kit does not have", fresh.get("/greet/unregistered"), http.StatusInternalServerError, `<html lang="en">`)
	})
}

// TestRegisteredPageForm: the kit's CSRF tokens guard a registered page's
// form, anonymous and signed in; a missing, wrong or foreign token is a 403
// page in the layout, in the page's language.
func TestRegisteredPageForm(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := greetEnv(t, databaseURL)
		b := e.browser()
		p := b.submit("/greet", "/greet", url.Values{})
		want(t, "anonymous form", p, http.StatusSeeOther, "")
		if got := p.location(); got != "/greet?name=Sent" {
			t.Errorf("Location = %q", got)
		}
		anonToken := b.get("/greet").csrf(t)
		for name, form := range map[string]url.Values{
			"no token":      {},
			"wrong token":   {"csrf": {"0000"}},
			"foreign token": {"csrf": {e.browser().get("/greet").csrf(t)}},
		} {
			wantAll(t, name, b.post("/greet", form), http.StatusForbidden, `<html lang="en">`,
				"<title>Forbidden · Linkbox</title>", `<h1 id="error-title">Forbidden</h1>`,
				`<p class="error" id="error">This form has expired. Go back and try again.</p>`,
				`<footer class="langs">`)
		}
		b.get("/greet?lang=de")
		wantAll(t, "no token, in German", b.post("/greet", url.Values{}), http.StatusForbidden, `<html lang="de">`,
			`<h1 id="error-title">Kein Zugriff</h1>`, "Dieses Formular ist abgelaufen.")

		b.login(e.user())
		p = b.get("/greet?lang=en")
		wantAll(t, "signed in", p, http.StatusOK, `<p id="signed-in">You are signed in</p>`,
			`<nav><a href="/inbox">Inbox</a> <a href="/account">Account</a></nav>`)
		want(t, "signed-in form", b.post("/greet", url.Values{"csrf": {p.csrf(t)}}), http.StatusSeeOther, "")
		want(t, "signed in, the anonymous token", b.post("/greet", url.Values{"csrf": {anonToken}}),
			http.StatusForbidden, "This form has expired.")
	})
}

// TestRegisteredPageSession: a registered page that needs a session sends
// the signed-out to the login page, which brings them back.
func TestRegisteredPageSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := greetEnv(t, databaseURL)
		b := e.browser()
		p := b.get("/greet/private")
		want(t, "signed out", p, http.StatusSeeOther, "")
		if got := p.location(); got != "/login?next=%2Fgreet%2Fprivate" {
			t.Fatalf("Location = %q, want the login page back to /greet/private", got)
		}
		u := e.user()
		p = b.submit(p.location(), "/login", url.Values{"phone": {u.Phone}, "password": {password}, "next": {"/greet/private"}})
		if got := p.location(); got != "/greet/private" {
			t.Fatalf("login Location = %q, want /greet/private", got)
		}
		wantAll(t, "signed in", b.get("/greet/private"), http.StatusOK, "<title>Private · Linkbox</title>",
			`<h1 id="plain">Private</h1>`, `<nav><a href="/inbox">Inbox</a>`)
	})
}

// TestRegisteredPageLanguageHint: a language the page knows its user
// speaks beats Accept-Language, and a choice made on the pages beats it.
func TestRegisteredPageLanguageHint(t *testing.T) {
	e := greetEnv(t, dbtest.SQLite(t))
	b := e.browser()
	want(t, "hint de", b.getAccepting("/greet/hinted?hint=de-AT", "nl"), http.StatusOK, `<html lang="de">`)
	want(t, "hint es", b.getAccepting("/greet/hinted?hint=es", "nl"), http.StatusOK, `<html lang="nl">`)
	want(t, "bad hint", b.getAccepting("/greet/hinted?hint=%3Cx%3E", "fr"), http.StatusOK, `<html lang="fr">`)
	want(t, "?lang= over the hint", b.getAccepting("/greet/hinted?hint=de&lang=fr", "nl"), http.StatusOK, `<html lang="fr">`)
	want(t, "cookie over the hint", b.getAccepting("/greet/hinted?hint=de", "nl"), http.StatusOK, `<html lang="fr">`)
}

// TestRegisteredErrorCodes: a registered catalog translates its own error
// codes; a language without the code shows the error's English message.
// RenderError writes an error page as a returned error is written.
func TestRegisteredErrorCodes(t *testing.T) {
	e := greetEnv(t, dbtest.SQLite(t))
	b := e.browser()
	wantAll(t, "German", b.get("/greet/missing?lang=de"), http.StatusNotFound, `<h1 id="error-title">Nicht gefunden</h1>`,
		`<p class="error" id="error">Diesen Gruß gibt es nicht</p>`)
	wantAll(t, "Dutch", b.get("/greet/missing?lang=nl"), http.StatusNotFound, `<h1 id="error-title">Niet gevonden</h1>`,
		`<p class="error" id="error">No such greeting</p>`)
	wantAll(t, "English", b.get("/greet/missing?lang=en"), http.StatusNotFound, `<h1 id="error-title">Not Found</h1>`,
		`<p class="error" id="error">No such greeting</p>`)
	wantAll(t, "RenderError, in French", b.get("/greet/gone?lang=fr"), http.StatusGone, `<html lang="fr">`,
		"<h1 id=\"error-title\">Ce lien n’est plus valide</h1>", "Ce lien d’association a déjà été utilisé")
}

// TestRegistrationRefused: a surface cannot take another's page name or
// text, nor bring a language the pages do not speak or a malformed
// catalog; nothing registers once the routes are mounted.
func TestRegistrationRefused(t *testing.T) {
	bad := fstest.MapFS{
		"login.html":     {Data: []byte(`{{define "content"}}{{end}}`)},
		"error.html":     {Data: []byte(`{{define "content"}}{{end}}`)},
		"layout.html":    {Data: []byte(`{{define "content"}}{{end}}`)},
		"broken.html":    {Data: []byte(`{{define "content"}}{{if}}{{end}}`)},
		"es.txt":         {Data: []byte("greet.title = Saludos\n")},
		"taken/en.txt":   {Data: []byte("login.title = Sign in\n")},
		"taken/de.txt":   {Data: []byte("code.csrf = Abgelaufen\n")},
		"twice/en.txt":   {Data: []byte("a.b = one\na.b = two\n")},
		"noeq/en.txt":    {Data: []byte("a.b one\n")},
		"empty/en.txt":   {Data: []byte("a.b =\n")},
		"badid/en.txt":   {Data: []byte("A B = text\n")},
		"notutf8/en.txt": {Data: []byte("a.b = \xff\n")},
	}
	var k *web.Kit
	e := newEnvWith(t, dbtest.SQLite(t), "http://127.0.0.1", func(kit *web.Kit) {
		k = kit
		for _, pattern := range []string{"login.html", "error.html", "layout.html", "broken.html", "none/*.html", "["} {
			if err := k.AddPages(bad, pattern); err == nil {
				t.Errorf("AddPages(%q) = nil, want an error", pattern)
			}
		}
		for _, pattern := range []string{"es.txt", "taken/en.txt", "taken/de.txt", "twice/*.txt", "noeq/*.txt",
			"empty/*.txt", "badid/*.txt", "notutf8/*.txt", "none/*.txt"} {
			if err := k.AddCatalogs(bad, pattern); err == nil {
				t.Errorf("AddCatalogs(%q) = nil, want an error", pattern)
			}
		}
	})
	want(t, "web's login page kept", e.browser().get("/login"), http.StatusOK, "<h1>Log in</h1>")
	if err := k.AddPages(greetPages, "pages/*.html"); err == nil {
		t.Error("AddPages after Routes = nil, want an error")
	}
	if err := k.AddCatalogs(greetPages, "messages/*.txt"); err == nil {
		t.Error("AddCatalogs after Routes = nil, want an error")
	}
	defer func() {
		if recover() == nil {
			t.Error("HandlePage after Routes did not panic")
		}
	}()
	k.HandlePage("GET /late", func(http.ResponseWriter, *http.Request) error { return nil })
}
