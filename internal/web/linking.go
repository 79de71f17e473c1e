package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/errs"
)

var errBadAction = errs.E(errs.Invalid, "invalid_action", "Choose Approve or Deny.")

// consentView is the consent page's: the app asking, the account signed
// in, what the app will see of it once linked, and the form's target.
type consentView struct {
	Base
	Link   connect.LinkRequest
	Action string
	User   accounts.User
	// Email and PhoneLast4 are what connect hands a linked app, beside
	// their fingerprints and the username: the masked address and the
	// phone's last four digits.
	Email, PhoneLast4 string
	ReturnHost        string // where the browser goes back to
}

// consentPage shows what an app asks for: to someone signed in, the consent
// form; to others, the login form that leads back here. An unknown token is
// a 404 page, a used or expired one a 410 page leading back to the app,
// signed in or not.
func (s *Service) consentPage(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	lr, err := s.links.PendingLink(r.Context(), token)
	if err != nil {
		return s.linkError(w, r, token, err)
	}
	here := "/linking/" + url.PathEscape(token)
	se, err := s.Session(r)
	if errors.Is(err, ErrNoSession) {
		return s.Render(w, r, http.StatusOK, "login", &loginView{Base: Base{CSRF: s.AnonCSRF(w, r)}, Next: here, Link: lr})
	}
	if err != nil {
		return err
	}
	u, err := s.acc.UserByID(r.Context(), se.UserID)
	if err != nil {
		return err
	}
	v := &consentView{Base: s.sessionBase(se), Link: lr, Action: here, User: u}
	v.Email, v.PhoneLast4 = connect.Shown(u.Email, u.Phone)
	if ru, err := url.Parse(lr.ReturnURL); err == nil {
		v.ReturnHost = ru.Host
	}
	// The approve and deny answers redirect to the app: Chromium applies
	// form-action to that redirect, so the app's origin must be allowed.
	w.Header().Set("Content-Security-Policy", FormActionCSP(lr.ReturnURL))
	return s.Render(w, r, http.StatusOK, "consent", v)
}

// consent approves or denies the link and sends the browser back to the
// app's return URL, as the app gave it.
func (s *Service) consent(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.RequireSession(w, r)
	if !ok {
		return err
	}
	if err := s.CheckSessionForm(w, r, se); err != nil {
		return err
	}
	token := r.PathValue("token")
	var returnURL string
	switch r.PostForm.Get("action") {
	case "approve":
		returnURL, err = s.links.ApproveLink(r.Context(), token, se.UserID)
	case "deny":
		returnURL, err = s.links.DenyLink(r.Context(), token)
	default:
		err = errBadAction
	}
	if err != nil {
		return s.linkError(w, r, token, err)
	}
	SeeOther(w, returnURL)
	return nil
}

// linkError writes the error page of a linking link, with a way back to
// the app when the token names one (used, expired, taken); a fault of ours
// is returned to the adapter.
func (s *Service) linkError(w http.ResponseWriter, r *http.Request, token string, err error) error {
	e, status, ok := FormError(w, err)
	if !ok {
		return err
	}
	v := &errorView{Error: e}
	lr, lerr := s.links.LinkApp(r.Context(), token)
	switch {
	case lerr == nil:
		v.Return = &returnLink{Name: lr.AppName, URL: lr.ReturnURL}
	case !errs.Is(lerr, errs.NotFound, "link_not_found"):
		return lerr
	}
	s.renderErrorPage(w, r, status, v)
	return nil
}
