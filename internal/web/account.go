package web

import (
	"net/http"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/errs"
)

// errWrongPassword is the delete page's answer to a wrong password: the
// account is known, so the password alone is wrong.
var errWrongPassword = errs.E(errs.Invalid, "wrong_password", "The password is wrong")

// accountView is the account page's: who is signed in, the linked apps,
// and the password form with its outcome.
type accountView struct {
	Base
	User          accounts.User
	Apps          []connect.LinkedApp
	PasswordError *errs.Error
	Changed       bool // the password was just changed
}

// deleteView is the page confirming an account's deletion.
type deleteView struct {
	Base
	Error *errs.Error
}

// sessionBase is the Base of a page of the signed-in se.
func (s *Service) sessionBase(se Session) Base {
	return Base{CSRF: s.SessionCSRF(se), UserID: se.UserID}
}

// readAccount reads what the account page shows of se's account.
func (s *Service) readAccount(r *http.Request, se Session) (*accountView, error) {
	u, err := s.acc.UserByID(r.Context(), se.UserID)
	if err != nil {
		return nil, err
	}
	apps, err := s.links.LinkedApps(r.Context(), se.UserID)
	if err != nil {
		return nil, err
	}
	return &accountView{Base: s.sessionBase(se), User: u, Apps: apps}, nil
}

// accountPage shows the account and the apps linked to it.
func (s *Service) accountPage(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.RequireSession(w, r)
	if !ok {
		return err
	}
	v, err := s.readAccount(r, se)
	if err != nil {
		return err
	}
	v.Changed = r.URL.Query().Get("done") == "password"
	return s.Render(w, r, http.StatusOK, "account", v)
}

// unlink removes every link of the app to the account. An app no longer
// linked, by a second click or the app's own unlink, is done all the same.
func (s *Service) unlink(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.RequireSession(w, r)
	if !ok {
		return err
	}
	if err := s.CheckSessionForm(w, r, se); err != nil {
		return err
	}
	err = s.links.UnlinkApp(r.Context(), se.UserID, r.PathValue("id"))
	if err != nil && !errs.Is(err, errs.NotFound, "not_linked") {
		return err
	}
	SeeOther(w, "/account")
	return nil
}

// changePassword sets a new password given the current one. The accounts
// service ends every session of the account, this one included; the
// browser that asked gets a new one and stays signed in.
func (s *Service) changePassword(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.RequireSession(w, r)
	if !ok {
		return err
	}
	if err := s.CheckSessionForm(w, r, se); err != nil {
		return err
	}
	f := r.PostForm
	err = s.acc.ChangePassword(r.Context(), se.UserID, f.Get("current_password"), f.Get("new_password"), caller(r))
	if err != nil {
		e, status, ok := FormError(w, err)
		if !ok {
			return err
		}
		v, err := s.readAccount(r, se)
		if err != nil {
			return err
		}
		v.PasswordError = e
		return s.Render(w, r, status, "account", v)
	}
	u, err := s.acc.UserByID(r.Context(), se.UserID)
	if err != nil {
		return err
	}
	if err := s.signIn(r.Context(), w, u); err != nil {
		return err
	}
	SeeOther(w, "/account?done=password")
	return nil
}

// deletePage asks to confirm the deletion with the password.
func (s *Service) deletePage(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.RequireSession(w, r)
	if !ok {
		return err
	}
	return s.Render(w, r, http.StatusOK, "delete", &deleteView{Base: s.sessionBase(se)})
}

// deleteAccount erases the account and everything in it once its password
// is given, and signs out: the accounts service ends every session and
// stream of the account, and the cookie goes.
func (s *Service) deleteAccount(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.RequireSession(w, r)
	if !ok {
		return err
	}
	if err := s.CheckSessionForm(w, r, se); err != nil {
		return err
	}
	u, err := s.acc.UserByID(r.Context(), se.UserID)
	if err != nil {
		return err
	}
	if _, err := s.acc.CheckPassword(r.Context(), u.Phone, r.PostForm.Get("password"), caller(r)); err != nil {
		if errs.Is(err, errs.Unauthorized, "invalid_credentials") {
			err = errWrongPassword
		}
		e, status, ok := FormError(w, err)
		if !ok {
			return err
		}
		return s.Render(w, r, status, "delete", &deleteView{Base: s.sessionBase(se), Error: e})
	}
	if err := s.acc.DeleteUser(r.Context(), u.ID); err != nil {
		return err
	}
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	SeeOther(w, "/login?done=deleted")
	return nil
}
