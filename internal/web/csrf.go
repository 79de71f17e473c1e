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
// planted anonymous cookie gains nothing against them; the forms of someone
// not signed in (sign-in, a Device link's brand picker) are bound to an
// anonymous cookie set when the form is shown. The token travels in the
// form's "csrf" field.
const (
	csrfCookie = "linkbox_csrf"
	csrfField  = "csrf"
	// maxForm caps a form body; the largest, sign-up, is well under 4 KiB.
	maxForm = 64 << 10
)

var errCSRF = errs.E(errs.Forbidden, "csrf", "This form has expired. Go back and try again.")

// AnonCSRF returns the token of a form shown to someone not signed in,
// setting the anonymous cookie it is bound to when the browser has none.
func (k *Kit) AnonCSRF(w http.ResponseWriter, r *http.Request) string {
	value, ok := k.readCookie(r, csrfCookie)
	if !ok {
		value = ids.Token("", 32)
		http.SetCookie(w, k.cookie(csrfCookie, value, 0))
	}
	return k.csrfToken("anon:" + value)
}

// SessionCSRF returns the token of a form shown to the signed-in se.
func (k *Kit) SessionCSRF(se Session) string {
	return k.csrfToken("session:" + se.token)
}

func (k *Kit) csrfToken(binding string) string {
	return k.keys.Hash("csrf", binding)
}

// CheckAnonForm parses the form of r (at most 64 KiB, into r.PostForm) and
// checks its token against the anonymous cookie: a missing or wrong one is
// errs.Forbidden "csrf", which a page shows as a 403 saying the form has
// expired.
func (k *Kit) CheckAnonForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	value, ok := k.readCookie(r, csrfCookie)
	if !ok {
		return errCSRF
	}
	return k.checkToken(r, "anon:"+value)
}

// CheckSessionForm is CheckAnonForm for a form of the signed-in se.
func (k *Kit) CheckSessionForm(w http.ResponseWriter, r *http.Request, se Session) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	return k.checkToken(r, "session:"+se.token)
}

func (k *Kit) checkToken(r *http.Request, binding string) error {
	got := r.PostForm.Get(csrfField)
	if got == "" || !secrets.Equal(got, k.csrfToken(binding)) {
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
