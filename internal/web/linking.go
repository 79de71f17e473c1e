package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/errs"
)

var errBadAction = errs.E(errs.Invalid, "invalid_action", "Choose Approve or Deny.")

// consentView is the consent page's: the app asking, and the form's
// target.
type consentView struct {
	Base
	Link   connect.LinkRequest
	Action string
}

// consentPage shows what an app asks for: to someone signed in, the consent
// form; to others, the login form that leads back here. An unknown token is
// a 404 page, a used or expired one a 410 page, signed in or not.
func (s *Service) consentPage(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	lr, err := s.links.PendingLink(r.Context(), token)
	if err != nil {
		return err
	}
	here := "/linking/" + url.PathEscape(token)
	se, err := s.Session(r)
	if errors.Is(err, ErrNoSession) {
		return s.Render(w, r, http.StatusOK, "login", &loginView{Base: Base{CSRF: s.AnonCSRF(w, r)}, Next: here, Link: lr})
	}
	if err != nil {
		return err
	}
	// The approve and deny answers redirect to the app: Chromium applies
	// form-action to that redirect, so the app's origin must be allowed.
	w.Header().Set("Content-Security-Policy", FormActionCSP(lr.ReturnURL))
	return s.Render(w, r, http.StatusOK, "consent", &consentView{Base: s.sessionBase(se), Link: lr, Action: here})
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
		return err
	}
	SeeOther(w, returnURL)
	return nil
}
