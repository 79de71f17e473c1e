package web

import (
	"net/http"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/secrets"
)

// A form's CSRF token is the keyed hash of a secret the browser holds in an
// HttpOnly cookie: a page elsewhere can neither read that cookie nor compute
// the hash. Forms of a signed-in user are bound to the session's token, so a
// planted anonymous cookie gains nothing against them; the forms that sign
// in are bound to an anonymous cookie set when the form is shown.
const (
	csrfCookie = "linkbox_csrf"
	csrfField  = "csrf"
	// maxForm caps a form body; the largest, sign-up, is well under 4 KiB.
	maxForm = 64 << 10
)

var errCSRF = errs.E(errs.Forbidden, "csrf", "This form has expired. Go back and try again.")

// anonCSRF returns the token of a form shown to someone not signed in,
// setting the anonymous cookie it is bound to when the browser has none.
func (s *Service) anonCSRF(w http.ResponseWriter, r *http.Request) string {
	value, ok := s.readCookie(r, csrfCookie)
	if !ok {
		value = ids.Token("", 32)
		http.SetCookie(w, s.cookie(csrfCookie, value, 0))
	}
	return s.csrfToken("anon:" + value)
}

// sessionCSRF returns the token of a form shown to the signed-in se.
func (s *Service) sessionCSRF(se session) string {
	return s.csrfToken("session:" + se.token)
}

func (s *Service) csrfToken(binding string) string {
	return s.keys.Hash("csrf", binding)
}

// checkAnonForm parses the form and checks its token against the anonymous
// cookie.
func (s *Service) checkAnonForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	value, ok := s.readCookie(r, csrfCookie)
	if !ok {
		return errCSRF
	}
	return s.checkToken(r, "anon:"+value)
}

// checkSessionForm parses the form and checks its token against se.
func (s *Service) checkSessionForm(w http.ResponseWriter, r *http.Request, se session) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	return s.checkToken(r, "session:"+se.token)
}

func (s *Service) checkToken(r *http.Request, binding string) error {
	got := r.PostForm.Get(csrfField)
	if got == "" || !secrets.Equal(got, s.csrfToken(binding)) {
		return errCSRF
	}
	return nil
}

// parseForm reads a url-encoded form body of at most maxForm bytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return errs.E(errs.Invalid, "invalid_form", "The form could not be read. Go back and try again.")
	}
	return nil
}
