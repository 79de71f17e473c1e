package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Routes registers the hosted pages on mux. Every POST is a form carrying a
// CSRF token; a missing or wrong one is a 403 page saying the form has
// expired. Errors are HTML pages with the status of their kind: an unknown
// link token 404, a used or expired one 410. Sign-in attempts are limited by
// the accounts service (per IP and per phone), not here.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.Handle("GET /{$}", s.page(s.home))
	mux.Handle("GET /login", s.page(s.loginPage))
	mux.Handle("POST /login", s.page(s.login))
	mux.Handle("GET /signup", s.page(s.signupPage))
	mux.Handle("POST /signup", s.page(s.signup))
	mux.Handle("GET /signup/verify", s.page(s.verifyPage))
	mux.Handle("POST /signup/verify", s.page(s.verify))
	mux.Handle("POST /signup/resend", s.page(s.resend))
	mux.Handle("POST /logout", s.page(s.logout))
	mux.Handle("GET /linking/{token}", s.page(s.consentPage))
	mux.Handle("POST /linking/{token}", s.page(s.consent))
	mux.Handle("GET /account", s.page(s.accountPage))
	mux.Handle("POST /account/apps/{id}/unlink", s.page(s.unlink))
	mux.Handle("GET /inbox", s.page(s.inboxPage))
	mux.Handle("GET /assets/", s.static)
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

// requireSession returns the request's session; without one it redirects
// to the login page, which brings the user back here, and answers ok false.
func (s *Service) requireSession(w http.ResponseWriter, r *http.Request) (session, bool, error) {
	se, err := s.session(r)
	if errors.Is(err, errNoSession) {
		seeOther(w, withNext("/login", "next", localPath(r.URL.RequestURI())))
		return session{}, false, nil
	}
	return se, err == nil, err
}

// home sends the signed-in to their inbox and others to the login page.
func (s *Service) home(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.session(r); err != nil {
		if !errors.Is(err, errNoSession) {
			return err
		}
		seeOther(w, "/login")
		return nil
	}
	seeOther(w, defaultNext)
	return nil
}
