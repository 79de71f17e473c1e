package web

import (
	"net/http"

	"github.com/linkbox/linkbox/internal/errs"
)

// forgotView is the form asking for the phone of a forgotten password.
type forgotView struct {
	Base
	Next, Phone string
	Error       *errs.Error
}

// resetView is the form taking the code sent by SMS and a new password.
// Its notice says a code went out if the account exists, as the accounts
// service answers whoever asks.
type resetView struct {
	Base
	Next, Phone string
	Error       *errs.Error
	// Cooldown is the seconds before another code may be asked for, when
	// the page follows a send.
	Cooldown int
}

func (s *Service) forgotPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	next := localPath(q.Get("next"))
	return s.Render(w, r, http.StatusOK, "forgot", &forgotView{Base: s.anonBase(w, r, formHere("/password/forgot", next)),
		Next: next, Phone: q.Get("phone")})
}

// forgot sends a reset code, if the phone has an active account, and asks
// for it. Only a malformed phone or the per-IP limit is an error: the
// answer is the same whether or not the account exists.
func (s *Service) forgot(w http.ResponseWriter, r *http.Request) error {
	if err := s.CheckAnonForm(w, r); err != nil {
		return err
	}
	next, phone := localPath(r.PostForm.Get("next")), r.PostForm.Get("phone")
	if err := s.acc.Forgot(r.Context(), phone, caller(r)); err != nil {
		e, status, ok := FormError(w, err)
		if !ok {
			return err
		}
		return s.Render(w, r, status, "forgot", &forgotView{Base: s.anonBase(w, r, formHere("/password/forgot", next)),
			Next: next, Phone: phone, Error: e})
	}
	SeeOther(w, withNext("/password/reset", "phone", phone, "next", next, "sent", "1"))
	return nil
}

// resetForm is the reset form of phone and next.
func (s *Service) resetForm(w http.ResponseWriter, r *http.Request, phone, next string) *resetView {
	return &resetView{Base: s.anonBase(w, r, formHere("/password/reset", next, "phone", phone)), Phone: phone, Next: next}
}

func (s *Service) resetPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	v := s.resetForm(w, r, q.Get("phone"), localPath(q.Get("next")))
	if q.Get("sent") == "1" {
		v.Cooldown = resendCooldown
	}
	return s.Render(w, r, http.StatusOK, "reset", v)
}

// reset sets the new password, which ends every session of the account,
// and leads to the login page, which says so.
func (s *Service) reset(w http.ResponseWriter, r *http.Request) error {
	if err := s.CheckAnonForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	v := s.resetForm(w, r, f.Get("phone"), localPath(f.Get("next")))
	if err := s.acc.Reset(r.Context(), v.Phone, f.Get("code"), f.Get("new_password"), caller(r)); err != nil {
		e, status, ok := FormError(w, err)
		if !ok {
			return err
		}
		v.Error = e
		return s.Render(w, r, status, "reset", v)
	}
	SeeOther(w, withNext("/login", "next", v.Next, "done", "reset"))
	return nil
}
