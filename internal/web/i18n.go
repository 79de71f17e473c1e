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

// The pages speak the languages of locales. A request's language is ?lang=
// when it names one of them (remembered in the lang cookie), else the lang
// cookie, else the best match of Accept-Language, else English. Every text
// of the pages is a message with a stable id (messages_en.go), and the
// templates are parsed once per locale, each with its own `t`.
const (
	langCookie = "lang"
	// langCookieAge keeps a choice for a year: it is a preference, not a
	// credential.
	langCookieAge = 365 * 24 * 60 * 60
)

// locale is one language of the pages.
type locale struct {
	tag language.Tag
	// messages are the texts by message id; every locale has exactly the
	// ids English has.
	messages map[string]string
	// errors translate the domains' errors by code. The domains write their
	// public messages in English, so English needs none; see errorText.
	errors map[string]string
}

// locales are the pages' languages, the default first.
var locales = []*locale{
	{tag: language.English, messages: messagesEN},
	{tag: language.Dutch, messages: messagesNL, errors: errorsNL},
}

var matcher = func() language.Matcher {
	tags := make([]language.Tag, len(locales))
	for i, l := range locales {
		tags[i] = l.tag
	}
	return language.NewMatcher(tags)
}()

// code is the locale's BCP 47 code, as in ?lang= and <html lang>: "en".
func (l *locale) code() string { return l.tag.String() }

// localeByCode returns the locale of code, or nil for any other value.
func localeByCode(code string) *locale {
	for _, l := range locales {
		if l.code() == code {
			return l
		}
	}
	return nil
}

// matchLanguage returns the page language closest to the preferred
// languages, best first, or English when none is close: the languages of
// Accept-Language, or the one a Device link session carries
// (language.Make(session.Language)).
func matchLanguage(preferred ...language.Tag) *locale {
	_, i, _ := matcher.Match(preferred...)
	return locales[i]
}

// pageLanguage returns the language of r's page. A malformed ?lang=,
// cookie or Accept-Language is ignored, as if it were absent.
func pageLanguage(r *http.Request) *locale {
	if l := localeByCode(r.URL.Query().Get("lang")); l != nil {
		return l
	}
	// The cookie is __Host-lang over https (Service.cookieName); either
	// name will do for a preference.
	for _, name := range []string{hostPrefix + langCookie, langCookie} {
		if c, err := r.Cookie(name); err == nil {
			if l := localeByCode(c.Value); l != nil {
				return l
			}
		}
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	return matchLanguage(tags...)
}

// rememberLanguage keeps the language chosen with ?lang= for the pages that
// follow, the pages a redirect leads to included.
func (s *Service) rememberLanguage(w http.ResponseWriter, r *http.Request) {
	if l := localeByCode(r.URL.Query().Get("lang")); l != nil {
		http.SetCookie(w, s.cookie(langCookie, l.code(), langCookieAge))
	}
}

// text is the templates' t: the message id, formatted with args when there
// are any. As in Rails, a message whose id ends in "_html" is markup: its
// args are escaped into it, and the template takes it as it is.
func (l *locale) text(id string, args ...any) (any, error) {
	msg, ok := l.messages[id]
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

// errorText is what a page says of e: its translation by code, or, in
// English and for a code the locale does not know, e's own message. The
// domains' English messages can be more precise than one text per code
// (they name the field at fault), so English keeps them.
func (l *locale) errorText(e *errs.Error) string {
	if msg, ok := l.errors[e.Code]; ok {
		return msg
	}
	return e.Message
}

// statusText is the title of an error page of status.
func (l *locale) statusText(status int) string {
	if msg, ok := l.messages["status."+strconv.Itoa(status)]; ok {
		return msg
	}
	return http.StatusText(status)
}

// langLink is a link of the language switcher.
type langLink struct {
	Code, Name, URL string
}

// languageLinks are the switcher's links: this page in each language but
// cur's.
func languageLinks(r *http.Request, name string, v view, cur *locale) []langLink {
	path, q := pageURL(r, name, v)
	links := make([]langLink, 0, len(locales)-1)
	for _, l := range locales {
		if l == cur {
			continue
		}
		q.Set("lang", l.code())
		u := localPath(path + "?" + q.Encode())
		if u == "" {
			u = "/?lang=" + l.code()
		}
		links = append(links, langLink{Code: l.code(), Name: l.messages["language.name"], URL: u})
	}
	return links
}

// formPaths are the pages of the forms that are shown again in answer to
// their POST.
var formPaths = map[string]string{"login": "/login", "signup": "/signup", "verify": "/signup/verify"}

// pageURL is where the switcher's links lead: the page itself, or, for an
// answer to a POST, which a link cannot repeat, the page of its form, else
// the home page. Its query holds what the handler validated, never the
// query as sent, which would reflect anything.
func pageURL(r *http.Request, name string, v view) (string, url.Values) {
	q := url.Values{}
	path, form := formPaths[name]
	switch {
	case form && (r.Method == http.MethodPost || r.URL.Path == path):
		if v.Next != "" {
			q.Set("next", v.Next)
		}
		if name == "verify" {
			q.Set("phone", v.Phone)
		}
		return path, q
	case r.Method == http.MethodPost:
		return "/", q
	}
	return r.URL.EscapedPath(), q
}
