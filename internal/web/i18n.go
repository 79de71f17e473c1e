package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/text/language"

	"github.com/linkbox/linkbox/internal/errs"
)

// The pages speak the languages of supported. A request's language is
// ?lang= when it names one of them (remembered in the lang cookie), else
// the lang cookie, else the best match of the languages a page knows its
// user speaks (a Device link session's) and of Accept-Language, else
// English. Every text of the pages is a message with a stable id, in the
// catalogs of the kit and of each surface (catalog.go); the templates are
// parsed once per language, each with its own `t`.
const (
	langCookie = "lang"
	// langCookieAge keeps a choice for a year: it is a preference, not a
	// credential.
	langCookieAge = 365 * 24 * 60 * 60
)

// supported are the pages' languages, the default first; the switch in
// the footer lists them in this order.
var supported = []language.Tag{language.English, language.Dutch, language.German, language.French}

var matcher = language.NewMatcher(supported)

// locale is one language of a kit, with the texts its catalogs gave it.
type locale struct {
	tag      language.Tag
	messages map[string]string // by id
	fallback *locale           // English, for the ids this language lacks; nil for English
}

// newLocales returns the kit's languages, with no texts yet.
func newLocales() []*locale {
	ls := make([]*locale, len(supported))
	for i, tag := range supported {
		ls[i] = &locale{tag: tag, messages: map[string]string{}}
		if i > 0 {
			ls[i].fallback = ls[0]
		}
	}
	return ls
}

// code is the locale's BCP 47 code, as in ?lang= and <html lang>: "en".
func (l *locale) code() string { return l.tag.String() }

// isLanguage reports whether code is the code of a language of the pages.
func isLanguage(code string) bool {
	for _, tag := range supported {
		if tag.String() == code {
			return true
		}
	}
	return false
}

// matchLanguage returns the code of the page language closest to the
// preferred languages, best first, or English when none is close.
func matchLanguage(preferred ...language.Tag) string {
	_, i, _ := matcher.Match(preferred...)
	return supported[i].String()
}

// pageLanguage returns the code of the language of r's page; hints are
// BCP 47 tags of the languages the page knows its user speaks, which come
// after a choice made on the pages (?lang=, the cookie) and before
// Accept-Language. A malformed ?lang=, cookie, hint or Accept-Language is
// ignored, as if it were absent.
func pageLanguage(r *http.Request, hints ...string) string {
	if code := r.URL.Query().Get("lang"); isLanguage(code) {
		return code
	}
	// The cookie is __Host-lang over https (Kit.cookieName); either name
	// will do for a preference.
	for _, name := range []string{hostPrefix + langCookie, langCookie} {
		if c, err := r.Cookie(name); err == nil && isLanguage(c.Value) {
			return c.Value
		}
	}
	var preferred []language.Tag
	for _, h := range hints {
		if tag, err := language.Parse(h); err == nil {
			preferred = append(preferred, tag)
		}
	}
	accepted, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	return matchLanguage(append(preferred, accepted...)...)
}

// Language returns the code of the language r's page is in ("en", "nl",
// "de", "fr"): ?lang=, else the lang cookie, else the best match of hints
// (BCP 47 tags the page knows its user speaks, such as a Device link
// session's language) and Accept-Language, else English. Render uses it
// unless the view's Lang is already set.
func (k *Kit) Language(r *http.Request, hints ...string) string {
	return pageLanguage(r, hints...)
}

// rememberLanguage keeps the language chosen with ?lang= for the pages that
// follow, the pages a redirect leads to included.
func (k *Kit) rememberLanguage(w http.ResponseWriter, r *http.Request) {
	if code := r.URL.Query().Get("lang"); isLanguage(code) {
		http.SetCookie(w, k.cookie(langCookie, code, langCookieAge))
	}
}

// lookup returns the text of id in l, else in English.
func (l *locale) lookup(id string) (string, bool) {
	if msg, ok := l.messages[id]; ok {
		return msg, true
	}
	if l.fallback != nil {
		return l.fallback.lookup(id)
	}
	return "", false
}

// text is the templates' t: the message id, formatted with args when there
// are any. As in Rails, a message whose id ends in "_html" is markup: its
// args are escaped into it, and the template takes it as it is.
func (l *locale) text(id string, args ...any) (any, error) {
	msg, ok := l.lookup(id)
	if !ok {
		return nil, fmt.Errorf("web: no message %q in %s", id, l.tag)
	}
	if !strings.HasSuffix(id, "_html") {
		if len(args) == 0 {
			return msg, nil
		}
		return fmt.Sprintf(msg, args...), nil
	}
	for i, a := range args {
		args[i] = template.HTMLEscaper(a)
	}
	return template.HTML(fmt.Sprintf(msg, args...)), nil
}

// errorText is what a page says of e: the text of its code, in l or else
// in English, or, for a code no catalog has (another surface's), e's own
// message.
func (l *locale) errorText(e *errs.Error) string {
	if msg, ok := l.lookup(codePrefix + e.Code); ok {
		return msg
	}
	return e.Message
}

// statusText is the title of an error page of status.
func (l *locale) statusText(status int) string {
	if msg, ok := l.lookup("status." + strconv.Itoa(status)); ok {
		return msg
	}
	return http.StatusText(status)
}

// LangLink is a language of the switch in the footer.
type LangLink struct {
	Code, Name, URL string
	Current         bool // the page's own language: named, not linked
}

// languageLinks are the switch's entries: this page in each language, at
// here (Base.Here).
func (k *Kit) languageLinks(r *http.Request, here string, cur *locale) []LangLink {
	path, q := switchTarget(r, here)
	links := make([]LangLink, len(k.locales))
	for i, l := range k.locales {
		q.Set("lang", l.code())
		u := localPath(path + "?" + q.Encode())
		if u == "" {
			u = "/?lang=" + l.code()
		}
		name, _ := l.lookup("language.name")
		links[i] = LangLink{Code: l.code(), Name: name, URL: u, Current: l == cur}
	}
	return links
}

// switchTarget is where the switch's links lead: here, a local URL built by
// the page's handler from what it validated (never the query as sent,
// which would reflect anything); else the page's own path, or, for an
// answer to a POST, which a link cannot repeat, the home page.
func switchTarget(r *http.Request, here string) (string, url.Values) {
	switch {
	case here != "":
		path, query, _ := strings.Cut(here, "?")
		q, _ := url.ParseQuery(query)
		return path, q
	case r.Method == http.MethodPost:
		return "/", url.Values{}
	}
	return r.URL.EscapedPath(), url.Values{}
}
