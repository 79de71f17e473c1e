package web

import (
	"errors"
	"net/http"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
)

// caller is who a page asks accounts to act for: the pages count against
// the API's per-IP limits, and show a refusal as the form's error.
func caller(r *http.Request) accounts.Caller {
	return accounts.Caller{IP: httpx.ClientIP(r)}
}

// formError returns the error a form should tell about, with the status of
// its kind, or ok false for a fault of ours, which the caller returns.
func formError(w http.ResponseWriter, err error) (e *errs.Error, status int, ok bool) {
	e = errs.From(err)
	status = httpx.Status(e.Kind)
	if status >= 500 {
		return nil, 0, false
	}
	httpx.SetRetryAfter(w, e)
	return e, status, true
}

// loginPage shows the login form, or moves on when already signed in.
func (s *Service) loginPage(w http.ResponseWriter, r *http.Request) error {
	next := localPath(r.URL.Query().Get("next"))
	if _, err := s.session(r); err == nil {
		seeOther(w, nextOrDefault(next))
		return nil
	}
	return s.render(w, r, http.StatusOK, "login", view{CSRF: s.anonCSRF(w, r), Next: next})
}

// login checks the phone and password, and signs in.
func (s *Service) login(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkAnonForm(w, r); err != nil {
		return err
	}
	next := localPath(r.PostForm.Get("next"))
	phone := r.PostForm.Get("phone")
	u, err := s.acc.CheckPassword(r.Context(), phone, r.PostForm.Get("password"), caller(r))
	if err != nil {
		e, status, ok := formError(w, err)
		if !ok {
			return err
		}
		return s.render(w, r, status, "login", view{CSRF: s.anonCSRF(w, r), Next: next,
			Phone: phone, Error: e, Pending: errs.Is(err, errs.Forbidden, "account_pending")})
	}
	if err := s.signIn(r.Context(), w, u.ID); err != nil {
		return err
	}
	seeOther(w, nextOrDefault(next))
	return nil
}

// signupForm is what the sign-up form keeps when it is shown again.
type signupForm struct {
	FirstName, LastName, Email, Username string
}

func (s *Service) signupPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "signup", view{CSRF: s.anonCSRF(w, r),
		Next: localPath(r.URL.Query().Get("next"))})
}

// signup creates a pending account, whose code goes out by SMS, and asks
// for that code.
func (s *Service) signup(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkAnonForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	next := localPath(f.Get("next"))
	form := signupForm{FirstName: f.Get("first_name"), LastName: f.Get("last_name"),
		Email: f.Get("email"), Username: f.Get("username")}
	u, err := s.acc.Signup(r.Context(), accounts.NewUser{Phone: f.Get("phone"), Password: f.Get("password"),
		FirstName: form.FirstName, LastName: form.LastName, Email: form.Email, Username: form.Username,
		Role: accounts.RoleUser}, caller(r))
	if err != nil {
		e, status, ok := formError(w, err)
		if !ok {
			return err
		}
		return s.render(w, r, status, "signup", view{CSRF: s.anonCSRF(w, r), Next: next,
			Phone: f.Get("phone"), Form: form, Error: e})
	}
	seeOther(w, withNext("/signup/verify", "phone", u.Phone, "next", next))
	return nil
}

func (s *Service) verifyPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return s.render(w, r, http.StatusOK, "verify", view{CSRF: s.anonCSRF(w, r),
		Phone: q.Get("phone"), Next: localPath(q.Get("next"))})
}

// verify checks the SMS code, which activates the account, and signs in:
// the code proves the phone, as the password would.
func (s *Service) verify(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkAnonForm(w, r); err != nil {
		return err
	}
	next := localPath(r.PostForm.Get("next"))
	phone := r.PostForm.Get("phone")
	u, err := s.acc.Verify(r.Context(), phone, r.PostForm.Get("code"), caller(r))
	if err == nil && u.Status != accounts.StatusActive {
		err = errs.E(errs.Forbidden, "account_"+u.Status, "This account is "+u.Status)
	}
	if err != nil {
		e, status, ok := formError(w, err)
		if !ok {
			return err
		}
		return s.render(w, r, status, "verify", view{CSRF: s.anonCSRF(w, r),
			Phone: phone, Next: next, Error: e})
	}
	if err := s.signIn(r.Context(), w, u.ID); err != nil {
		return err
	}
	seeOther(w, nextOrDefault(next))
	return nil
}

// resend sends a new code and shows the code form again.
func (s *Service) resend(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkAnonForm(w, r); err != nil {
		return err
	}
	v := view{CSRF: s.anonCSRF(w, r), Phone: r.PostForm.Get("phone"), Next: localPath(r.PostForm.Get("next"))}
	if err := s.acc.Resend(r.Context(), v.Phone, caller(r)); err != nil {
		e, status, ok := formError(w, err)
		if !ok {
			return err
		}
		v.Error = e
		return s.render(w, r, status, "verify", v)
	}
	v.Resent = true
	return s.render(w, r, http.StatusOK, "verify", v)
}

// logout ends the session and shows the login page.
func (s *Service) logout(w http.ResponseWriter, r *http.Request) error {
	se, err := s.session(r)
	if errors.Is(err, errNoSession) {
		seeOther(w, "/login")
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.checkSessionForm(w, r, se); err != nil {
		return err
	}
	if err := s.signOut(r.Context(), w, se); err != nil {
		return err
	}
	seeOther(w, "/login")
	return nil
}
