package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// pageTexts are, per language, a text each of web's own pages must show:
// its title, or what tells it apart.
var pageTexts = map[string]map[string]string{
	"en": {"login": "<title>Log in · Linkbox</title>", "signup": "<title>Sign up · Linkbox</title>",
		"verify": "<title>Verify your phone · Linkbox</title>", "link": "Log in to link your account to Acme.",
		"consent": "<title>Link Acme · Linkbox</title>", "account": "<title>Your account · Linkbox</title>",
		"inbox": "<title>Inbox · Linkbox</title>", "404": `<h1 id="error-title">Not Found</h1>`,
		"410": `<h1 id="error-title">Link no longer valid</h1>`, "name": "English"},
	"nl": {"login": "<title>Inloggen · Linkbox</title>", "signup": "<title>Registreren · Linkbox</title>",
		"verify": "<title>Bevestig je telefoonnummer · Linkbox</title>", "link": "Log in om je account aan Acme te koppelen.",
		"consent": "<title>Acme koppelen · Linkbox</title>", "account": "<title>Je account · Linkbox</title>",
		"inbox": "Nog geen berichten.", "404": `<h1 id="error-title">Niet gevonden</h1>`,
		"410": `<h1 id="error-title">Link niet meer geldig</h1>`, "name": "Nederlands"},
	"de": {"login": "<title>Anmelden · Linkbox</title>", "signup": "<title>Registrieren · Linkbox</title>",
		"verify": "<title>Telefonnummer bestätigen · Linkbox</title>", "link": "Melden Sie sich an, um Ihr Konto mit Acme zu verknüpfen.",
		"consent": "<title>Acme verknüpfen · Linkbox</title>", "account": "<title>Ihr Konto · Linkbox</title>",
		"inbox": "<title>Posteingang · Linkbox</title>", "404": `<h1 id="error-title">Nicht gefunden</h1>`,
		"410": `<h1 id="error-title">Link nicht mehr gültig</h1>`, "name": "Deutsch"},
	"fr": {"login": "<title>Connexion · Linkbox</title>", "signup": "<title>Créer un compte · Linkbox</title>",
		"verify": "<title>Vérifiez votre numéro de téléphone · Linkbox</title>", "link": "Connectez-vous pour associer votre compte à Acme.",
		"consent": "<title>Associer Acme · Linkbox</title>", "account": "<title>Votre compte · Linkbox</title>",
		"inbox": "<title>Boîte de réception · Linkbox</title>", "404": `<h1 id="error-title">Introuvable</h1>`,
		"410": `<h1 id="error-title">Ce lien n’est plus valide</h1>`, "name": "Français"},
}

// englishTexts are texts of the English pages that a German or French
// page must not show.
var englishTexts = []string{">Inbox</a>", ">Account</a>", `aria-label="Language"`, "Log in", "Sign up",
	"Phone number", "Password<", "Go to Linkbox", "Approve", "linked since", "No messages yet", "This link"}

// TestPagesInEveryLanguage renders each of web's own pages in each
// language: <html lang>, the page's text in that language, and the switch
// in the footer naming all four languages, this one unlinked.
func TestPagesInEveryLanguage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		_, key := e.app("Acme")
		for lang, texts := range pageTexts {
			b := e.browser()
			check := func(page string, p page, status int) {
				t.Helper()
				wantAll(t, lang+" "+page, p, status, `<html lang="`+lang+`">`, texts[page],
					`<span lang="`+lang+`" aria-current="true">`+texts["name"]+`</span>`)
				for other, ot := range pageTexts {
					if other != lang && !strings.Contains(p.body, `hreflang="`+other+`" lang="`+other+`">`+ot["name"]+`</a>`) {
						t.Errorf("%s %s: the switch lacks %s:\n%s", lang, page, other, p.body)
					}
				}
				if lang == "de" || lang == "fr" {
					for _, en := range englishTexts {
						if strings.Contains(p.body, en) {
							t.Errorf("%s %s shows the English %q:\n%s", lang, page, en, p.body)
						}
					}
				}
			}
			q := "?lang=" + lang
			check("login", b.get("/login"+q), http.StatusOK)
			check("signup", b.get("/signup"+q), http.StatusOK)
			check("verify", b.get("/signup/verify?phone=%2B14155550100&lang="+lang), http.StatusOK)
			path := e.linkPath(key, "ext-"+lang)
			check("link", b.get(path+q), http.StatusOK)
			check("404", b.get("/linking/nope"+q), http.StatusNotFound)
			b.login(e.user())
			check("consent", b.get(path+q), http.StatusOK)
			check("account", b.get("/account"+q), http.StatusOK)
			check("inbox", b.get("/inbox"+q), http.StatusOK)
			want(t, "approve", b.submit(path, path, url.Values{"action": {"approve"}}), http.StatusSeeOther, "")
			check("410", b.get(path+q), http.StatusGone)
		}
	})
}

// TestErrorsInGermanAndFrench: the errors of the forms and of the pages
// are shown in the page's language.
func TestErrorsInGermanAndFrench(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		u := e.user()
		tests := []struct{ lang, credentials, csrf, email string }{
			{"de", "Telefonnummer oder Passwort ist falsch", "Dieses Formular ist abgelaufen.",
				"Bitte geben Sie eine gültige E-Mail-Adresse ein"},
			{"fr", "Numéro de téléphone ou mot de passe incorrect", "Ce formulaire a expiré.",
				"Saisissez une adresse e-mail valide"},
		}
		for _, tt := range tests {
			b := e.browser()
			want(t, tt.lang, b.get("/login?lang="+tt.lang), http.StatusOK, `<html lang="`+tt.lang+`">`)
			p := b.submit("/login", "/login", url.Values{"phone": {u.Phone}, "password": {"wrong password"}})
			want(t, tt.lang+" wrong password", p, http.StatusUnauthorized, tt.credentials)
			want(t, tt.lang+" no token", b.post("/login", url.Values{}), http.StatusForbidden, tt.csrf)
			p = b.submit("/signup", "/signup", url.Values{"phone": {e.phone()}, "password": {password},
				"first_name": {"A"}, "last_name": {"B"}, "email": {"not an email"}})
			want(t, tt.lang+" bad email", p, http.StatusBadRequest, tt.email)
		}
	})
}
