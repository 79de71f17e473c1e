package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// getAccepting gets path with the Accept-Language header accept.
func (b *browser) getAccepting(path, accept string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.server.URL+path, nil)
	req.Header.Set("Accept-Language", accept)
	return b.do(req)
}

// langSetCookie is p's Set-Cookie of the lang cookie, or "".
func langSetCookie(p page) string {
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "lang=") {
			return c
		}
	}
	return ""
}

// wantAll fails unless p has status and contains every text.
func wantAll(t testing.TB, what string, p page, status int, texts ...string) {
	t.Helper()
	for _, text := range texts {
		want(t, what, p, status, text)
	}
}

func TestLanguageNegotiation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		b := e.browser()

		p := b.get("/login")
		wantAll(t, "no preference", p, http.StatusOK, `<html lang="en">`, "<h1>Log in</h1>",
			`<a href="/login?lang=nl" hreflang="nl" lang="nl">Nederlands</a>`)
		if vary := p.header.Values("Vary"); !strings.Contains(strings.Join(vary, ","), "Accept-Language") ||
			!strings.Contains(strings.Join(vary, ","), "Cookie") {
			t.Errorf("Vary = %q, want Accept-Language and Cookie", vary)
		}
		p = b.getAccepting("/login", "es-ES, nl-BE;q=0.8, en;q=0.5")
		wantAll(t, "Accept-Language nl-BE", p, http.StatusOK, `<html lang="nl">`, "<h1>Inloggen</h1>",
			`<a href="/login?lang=en" hreflang="en" lang="en">English</a>`)
		if b.cookie("lang") != "" {
			t.Error("Accept-Language set the lang cookie")
		}
		want(t, "Accept-Language es", b.getAccepting("/login", "es"), http.StatusOK, `<html lang="en">`)
		want(t, "Accept-Language de-AT", b.getAccepting("/login", "de-AT, en;q=0.5"), http.StatusOK, `<html lang="de">`)
		want(t, "Accept-Language fr-CA", b.getAccepting("/login", "fr-CA"), http.StatusOK, `<html lang="fr">`)
		want(t, "malformed Accept-Language", b.getAccepting("/login", "nl;q=;;x"), http.StatusOK, `<html lang="en">`)

		// ?lang= beats Accept-Language and is remembered; the cookie then
		// beats Accept-Language; a later ?lang= beats the cookie.
		p = b.getAccepting("/login?lang=nl", "en")
		want(t, "?lang=nl", p, http.StatusOK, `<html lang="nl">`)
		if got := langSetCookie(p); got != "lang=nl; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax" {
			t.Errorf("Set-Cookie = %q", got)
		}
		want(t, "lang cookie nl", b.getAccepting("/signup", "en"), http.StatusOK, `<html lang="nl">`)
		want(t, "?lang=en", b.getAccepting("/signup?lang=en", "nl"), http.StatusOK, `<html lang="en">`)
		want(t, "lang cookie en", b.getAccepting("/signup", "nl"), http.StatusOK, `<html lang="en">`)

		// A value that is not a language of the pages is ignored: no error,
		// no cookie, the page as without it.
		for _, bad := range []string{"xx", "NL", "nl-BE", "<script>", ""} {
			p = b.getAccepting("/login?lang="+url.QueryEscape(bad), "nl")
			want(t, "?lang="+bad, p, http.StatusOK, `<html lang="en">`)
			if got := langSetCookie(p); got != "" {
				t.Errorf("?lang=%s: Set-Cookie = %q", bad, got)
			}
		}
		if got := b.cookie("lang"); got != "en" {
			t.Errorf("lang cookie = %q after bad values, want en", got)
		}

		// A redirect keeps the choice for the page it leads to.
		fresh := e.browser()
		p = fresh.get("/?lang=nl")
		want(t, "home ?lang=nl", p, http.StatusSeeOther, "")
		want(t, "after the redirect", fresh.get(p.location()), http.StatusOK, `<html lang="nl">`)
	})
}

func TestAuthPagesInDutch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		b := e.browser()
		wantAll(t, "login", b.get("/login?lang=nl"), http.StatusOK, `<html lang="nl">`,
			"<title>Inloggen · Linkbox</title>", `<label for="phone">Telefoonnummer</label>`,
			`<label for="password">Wachtwoord</label>`, `id="login">Inloggen</button>`)
		p := b.submit("/login", "/login", url.Values{"phone": {e.user().Phone}, "password": {"wrong password"}})
		wantAll(t, "wrong password", p, http.StatusUnauthorized, `<html lang="nl">`, "Onjuist telefoonnummer of wachtwoord",
			`<a href="/login?lang=en" hreflang="en"`)

		wantAll(t, "sign-up", b.get("/signup"), http.StatusOK, `<html lang="nl">`,
			`<label for="first_name">Voornaam</label>`, `id="signup">Registreren</button>`)
		phone := e.phone()
		form := url.Values{"phone": {phone}, "password": {password}, "first_name": {"Grace"},
			"last_name": {"Hopper"}, "email": {"not an email"}}
		p = b.submit("/signup", "/signup", form)
		want(t, "bad email", p, http.StatusBadRequest, "Vul een geldig e-mailadres in")
		form.Set("email", "grace@example.com")
		p = b.submit("/signup", "/signup", form)
		want(t, "sign-up", p, http.StatusSeeOther, "")
		verify := p.location()
		code := smsCode(t, e.gw, phone)

		wantAll(t, "verify", b.get(verify), http.StatusOK, `<html lang="nl">`, "<h1>Bevestig je telefoonnummer</h1>",
			`We hebben een code per sms gestuurd naar <strong id="verify-phone">`)
		p = b.submit(verify, "/signup/verify", url.Values{"phone": {phone}, "code": {wrongCode(code)}})
		// The switcher of a form's answer links to the form's page, with
		// what the form carried.
		wantAll(t, "wrong code", p, http.StatusBadRequest, "Ongeldige verificatiecode",
			`href="/signup/verify?lang=en&amp;phone=`+url.QueryEscape(phone)+`"`)
		e.clock.Advance(2 * time.Minute) // past the one-SMS-a-minute cooldown
		p = b.submit(verify, "/signup/resend", url.Values{"phone": {phone}})
		want(t, "resend", p, http.StatusOK, `is er een nieuwe onderweg (hooguit één per minuut).</p>`)
	})
}

func TestLinkingPagesInDutch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		_, key := e.app("Acme & Co")
		path := e.linkPath(key, "ext-1")
		b := e.browser()
		want(t, "choose Dutch", b.get("/login?lang=nl"), http.StatusOK, `<html lang="nl">`)
		want(t, "linking page signed out", b.get(path), http.StatusOK,
			"Log in om je account aan Acme &amp; Co te koppelen.")
		b.login(e.user())
		wantAll(t, "consent", b.get(path), http.StatusOK, `<html lang="nl">`, "<title>Acme &amp; Co koppelen · Linkbox</title>",
			"Acme &amp; Co wil koppelen met je Linkbox-account",
			`Als je dit goedkeurt, kan <strong class="app-name">Acme &amp; Co</strong>:`,
			`id="approve">Goedkeuren</button>`, `id="deny" class="secondary">Weigeren</button>`,
			`<a href="/account">je account</a>`)
		want(t, "no action", b.submit(path, path, url.Values{}), http.StatusBadRequest, "Kies Goedkeuren of Weigeren.")
		want(t, "stale form", b.post(path, url.Values{"action": {"approve"}, "csrf": {"stale"}}),
			http.StatusForbidden, "Dit formulier is verlopen.")
		want(t, "approve", b.submit(path, path, url.Values{"action": {"approve"}}), http.StatusSeeOther, "")
		wantAll(t, "used link", b.get(path), http.StatusGone, "<h1 id=\"error-title\">Link niet meer geldig</h1>",
			"Deze koppellink is al gebruikt", `<a href="/">Naar Linkbox</a>`)
		wantAll(t, "unknown link", b.get("/linking/nope"), http.StatusNotFound, "<h1 id=\"error-title\">Niet gevonden</h1>",
			"Deze koppellink bestaat niet")

		wantAll(t, "account", b.get("/account"), http.StatusOK, `<html lang="nl">`, "<h1>Je account</h1>",
			"<h2>Gekoppelde apps</h2>", "gekoppeld sinds <time", `Ontkoppelen <span class="visually-hidden">Acme &amp; Co</span></button>`, `id="logout" class="secondary">Uitloggen</button>`)
	})
}

func TestInboxPageInDutch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, databaseURL)
		_, key := e.app("Acme")
		b := e.browser()
		b.login(e.user())
		e.approve(b, key, "ext-1")
		wantAll(t, "empty inbox", b.getAccepting("/inbox", "nl-NL"), http.StatusOK, `<html lang="nl">`,
			`<a href="/inbox" aria-current="page">Inbox</a>`, "Nog geen berichten.",
			`data-live="Live: nieuwe berichten verschijnen hier zodra ze binnenkomen."`,
			`data-reconnecting="Opnieuw verbinden…"`, `data-reference="Referentie:"`)
		if status, out := e.api(key, "/api/otp", map[string]any{"user_id": "ext-1", "reference": "login",
			"message": "Je code"}); status != http.StatusOK {
			t.Fatalf("otp: %d %v", status, out)
		}
		want(t, "inbox", b.getAccepting("/inbox", "nl-NL"), http.StatusOK,
			`<p class="reference muted">Referentie: <span>login</span></p>`)

		// The script writes the texts the page gives it, in the page's
		// language, and none of its own.
		js := b.get("/assets/inbox.js")
		for _, s := range []string{"Live:", "Reconnecting", "Reference"} {
			if strings.Contains(js.body, s) {
				t.Errorf("inbox.js writes %q itself", s)
			}
		}
		for _, attr := range []string{"data-live", "data-reconnecting", "data-reference"} {
			if !strings.Contains(js.body, `"`+attr+`"`) {
				t.Errorf("inbox.js does not read %s", attr)
			}
		}
	})
}
