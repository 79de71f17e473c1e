package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// register adds web's own pages to the kit, as any surface adds its own:
// templates, texts, routes. Every POST is a form carrying a CSRF token; a
// missing or wrong one is a 403 page saying the form has expired. Errors
// are HTML pages with the status of their kind: an unknown link token 404,
// a used or expired one 410. Sign-in attempts, password resets and changes
// are limited by the accounts service (per IP and per phone), not here.
func (s *Service) register() error {
	if err := s.AddPages(files, "templates/*.html"); err != nil {
		return err
	}
	if err := s.AddCatalogs(files, "messages/*.txt"); err != nil {
		return err
	}
	s.HandlePage("GET /{$}", s.home)
	s.HandlePage("GET /login", s.loginPage)
	s.HandlePage("POST /login", s.login)
	s.HandlePage("GET /signup", s.signupPage)
	s.HandlePage("POST /signup", s.signup)
	s.HandlePage("GET /signup/verify", s.verifyPage)
	s.HandlePage("POST /signup/verify", s.verify)
	s.HandlePage("POST /signup/resend", s.resend)
	s.HandlePage("GET /password/forgot", s.forgotPage)
	s.HandlePage("POST /password/forgot", s.forgot)
	s.HandlePage("GET /password/reset", s.resetPage)
	s.HandlePage("POST /password/reset", s.reset)
	s.HandlePage("POST /logout", s.logout)
	s.HandlePage("GET /linking/{token}", s.consentPage)
	s.HandlePage("POST /linking/{token}", s.consent)
	s.HandlePage("GET /account", s.accountPage)
	s.HandlePage("POST /account/apps/{id}/unlink", s.unlink)
	s.HandlePage("POST /account/password", s.changePassword)
	s.HandlePage("GET /account/delete", s.deletePage)
	s.HandlePage("POST /account/delete", s.deleteAccount)
	s.HandlePage("GET /inbox", s.inboxPage)
	s.HandlePage("POST /inbox/{id}/read", s.markRead)
	return nil
}

// defaultNext is where signing in leads when no page asked for it.
const defaultNext = "/inbox"

// localPath returns next when it is a path on this site, else "". A path
// starting with "//" or "/\" is another host to a browser, and browsers
// drop tabs and line breaks from URLs, so "/\t/evil.com" is one too: control
// characters and backslashes are refused anywhere.
func localPath(next string) string {
	if len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return ""
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return next
}

// nextOrDefault is where to go after signing in.
func nextOrDefault(next string) string {
	if next == "" {
		return defaultNext
	}
	return next
}

// withNext returns path with the query parameters of params that are not
// empty.
func withNext(path string, params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		if params[i+1] != "" {
			q.Set(params[i], params[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// formHere is a form's page for the language switch (Base.Here), also when
// it answers the form's POST: path, with next when there is one and the
// pairs of always as they are, empty or not.
func formHere(path, next string, always ...string) string {
	q := url.Values{}
	if next != "" {
		q.Set("next", next)
	}
	for i := 0; i+1 < len(always); i += 2 {
		q.Set(always[i], always[i+1])
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// home sends the signed-in to their inbox and others to the login page.
func (s *Service) home(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Session(r); err != nil {
		if !errors.Is(err, ErrNoSession) {
			return err
		}
		SeeOther(w, "/login")
		return nil
	}
	SeeOther(w, defaultNext)
	return nil
}
