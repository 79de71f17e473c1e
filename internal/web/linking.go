package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/linkbox/linkbox/internal/errs"
)

var errBadAction = errs.E(errs.Invalid, "invalid_action", "Choose Approve or Deny.")

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
	se, err := s.session(r)
	if errors.Is(err, errNoSession) {
		return s.render(w, r, http.StatusOK, "login", view{CSRF: s.anonCSRF(w, r), Next: here, Link: lr})
	}
	if err != nil {
		return err
	}
	// The approve and deny answers redirect to the app: Chromium applies
	// form-action to that redirect, so the app's origin must be allowed.
	w.Header().Set("Content-Security-Policy", consentCSP(lr.ReturnURL))
	return s.render(w, r, http.StatusOK, "consent", view{CSRF: s.sessionCSRF(se), Link: lr, Action: here})
}

// consentCSP is the pages' policy with the origin of returnURL added to
// form-action; without form-action when that origin cannot be written
// safely into the header (return URLs are checked at registration, so this
// is a guard, not a path taken).
func consentCSP(returnURL string) string {
	u, err := url.Parse(returnURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.ContainsFunc(u.Host, func(c rune) bool { return !isHostChar(c) }) {
		return strings.TrimSuffix(csp, "; form-action 'self'")
	}
	return csp + " " + u.Scheme + "://" + u.Host
}

func isHostChar(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.ContainsRune(".-:[]", c)
}

// consent approves or denies the link and sends the browser back to the
// app's return URL, as the app gave it.
func (s *Service) consent(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.requireSession(w, r)
	if !ok {
		return err
	}
	if err := s.checkSessionForm(w, r, se); err != nil {
		return err
	}
	token := r.PathValue("token")
	var returnURL string
	switch r.PostForm.Get("action") {
	case "approve":
		returnURL, err = s.links.ApproveLink(r.Context(), token, se.userID)
	case "deny":
		returnURL, err = s.links.DenyLink(r.Context(), token)
	default:
		err = errBadAction
	}
	if err != nil {
		return err
	}
	seeOther(w, returnURL)
	return nil
}
