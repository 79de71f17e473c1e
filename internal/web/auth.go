package web

import (
	"errors"
	"net/http"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
)

// loginView is the login form's, also shown by a linking page to someone
// not signed in (Link names the app asking).
type loginView struct {
	Base
	Next    string // a local path to go to after signing in, "" for the default
	Phone   string
	Error   *errs.Error
	Pending bool // the error is account_pending: offer the way to the code
	Link    connect.LinkRequest
	// Done says what the page follows: "reset" (a new password) or
	// "deleted" (the account), told above the form; "" for nothing.
	Done string
}

// signupView is the sign-up form's; Form keeps what was typed.
type signupView struct {
	Base
	Next, Phone string
	Form        signupForm
	Error       *errs.Error
}

// signupForm is what the sign-up form keeps when it is shown again.
type signupForm struct {
	FirstName, LastName, Email, Username string
}

// verifyView is the SMS code form's.
type verifyView struct {
	Base
	Next, Phone string
	Error       *errs.Error
	Resent      bool // a new code was sent
	// Cooldown is the seconds before another code may be asked for, when
	// the page follows a send; the resend button counts them down.
	Cooldown int
}

// resendCooldown is the accounts service's minimum time between two codes
// to a phone, which a page just after a send shows.
const resendCooldown = 60

// doneNotices are the values of ?done= the login page tells about.
var doneNotices = map[string]bool{"reset": true, "deleted": true}

// caller is who a page asks accounts to act for: the pages count against
// the API's per-IP limits, and show a refusal as the form's error.
func caller(r *http.Request) accounts.Caller {
	return accounts.Caller{IP: httpx.ClientIP(r)}
}

// loginPage shows the login form, or moves on when already signed in.
func (s *Service) loginPage(w http.ResponseWriter, r *http.Request) error {
	next := localPath(r.URL.Query().Get("next"))
	if _, err := s.Session(r); err == nil {
		SeeOther(w, nextOrDefault(next))
		return nil
	}
	v := &loginView{Base: s.anonBase(w, r, formHere("/login", next)), Next: next}
	if done := r.URL.Query().Get("done"); doneNotices[done] {
		v.Done = done
	}
	return s.Render(w, r, http.StatusOK, "login", v)
}

// anonBase is the Base of a form shown to someone not signed in.
func (s *Service) anonBase(w http.ResponseWriter, r *http.Request, here string) Base {
	return Base{CSRF: s.AnonCSRF(w, r), Here: here}
}

// login checks the phone and password, and signs in.
func (s *Service) login(w http.ResponseWriter, r *http.Request) error {
	if err := s.CheckAnonForm(w, r); err != nil {
		return err
	}
	next := localPath(r.PostForm.Get("next"))
	phone := r.PostForm.Get("phone")
	u, err := s.acc.CheckPassword(r.Context(), phone, r.PostForm.Get("password"), caller(r))
	if err != nil {
		e, status, ok := FormError(w, err)
		if !ok {
			return err
		}
		return s.Render(w, r, status, "login", &loginView{Base: s.anonBase(w, r, formHere("/login", next)),
			Next: next, Phone: phone, Error: e, Pending: errs.Is(err, errs.Forbidden, "account_pending")})
	}
	if err := s.signIn(r.Context(), w, u); err != nil {
		return err
	}
	SeeOther(w, nextOrDefault(next))
	return nil
}

func (s *Service) signupPage(w http.ResponseWriter, r *http.Request) error {
	next := localPath(r.URL.Query().Get("next"))
	return s.Render(w, r, http.StatusOK, "signup", &signupView{Base: s.anonBase(w, r, formHere("/signup", next)), Next: next})
}

// signup creates a pending account, whose code goes out by SMS, and asks
// for that code.
func (s *Service) signup(w http.ResponseWriter, r *http.Request) error {
	if err := s.CheckAnonForm(w, r); err != nil {
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
		e, status, ok := FormError(w, err)
		if !ok {
			return err
		}
		return s.Render(w, r, status, "signup", &signupView{Base: s.anonBase(w, r, formHere("/signup", next)),
			Next: next, Phone: f.Get("phone"), Form: form, Error: e})
	}
	SeeOther(w, withNext("/signup/verify", "phone", u.Phone, "next", next, "sent", "1"))
	return nil
}

// verifyForm is the code form with phone and next, as the page or the form
// carried them.
func (s *Service) verifyForm(w http.ResponseWriter, r *http.Request, phone, next string) *verifyView {
	return &verifyView{Base: s.anonBase(w, r, formHere("/signup/verify", next, "phone", phone)), Phone: phone, Next: next}
}

func (s *Service) verifyPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	v := s.verifyForm(w, r, q.Get("phone"), localPath(q.Get("next")))
	if q.Get("sent") == "1" {
		v.Cooldown = resendCooldown
	}
	return s.Render(w, r, http.StatusOK, "verify", v)
}

// verify checks the SMS code, which activates the account, and signs in:
// the code proves the phone, as the password would.
func (s *Service) verify(w http.ResponseWriter, r *http.Request) error {
	if err := s.CheckAnonForm(w, r); err != nil {
		return err
	}
	next := localPath(r.PostForm.Get("next"))
	phone := r.PostForm.Get("phone")
	u, err := s.acc.Verify(r.Context(), phone, r.PostForm.Get("code"), caller(r))
	if err == nil && u.Status != accounts.StatusActive {
		err = errs.E(errs.Forbidden, "account_"+u.Status, "This account is "+u.Status)
	}
	if err != nil {
		e, status, ok := FormError(w, err)
		if !ok {
			return err
		}
		v := s.verifyForm(w, r, phone, next)
		v.Error = e
		return s.Render(w, r, status, "verify", v)
	}
	if err := s.signIn(r.Context(), w, u); err != nil {
		return err
	}
	SeeOther(w, nextOrDefault(next))
	return nil
}

// resend sends a new code and shows the code form again.
func (s *Service) resend(w http.ResponseWriter, r *http.Request) error {
	if err := s.CheckAnonForm(w, r); err != nil {
		return err
	}
	v := s.verifyForm(w, r, r.PostForm.Get("phone"), localPath(r.PostForm.Get("next")))
	if err := s.acc.Resend(r.Context(), v.Phone, caller(r)); err != nil {
		e, status, ok := FormError(w, err)
		if !ok {
			return err
		}
		v.Error = e
		return s.Render(w, r, status, "verify", v)
	}
	v.Resent, v.Cooldown = true, resendCooldown
	return s.Render(w, r, http.StatusOK, "verify", v)
}

// logout ends the session and shows the login page, or the local page of
// the form's next: "Not you?" on the consent page signs out and comes back
// to that page, which then asks to sign in.
func (s *Service) logout(w http.ResponseWriter, r *http.Request) error {
	se, err := s.Session(r)
	if errors.Is(err, ErrNoSession) {
		SeeOther(w, "/login")
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.CheckSessionForm(w, r, se); err != nil {
		return err
	}
	if err := s.signOut(r.Context(), w, se); err != nil {
		return err
	}
	next := localPath(r.PostForm.Get("next"))
	if next == "" {
		next = "/login"
	}
	SeeOther(w, next)
	return nil
}
