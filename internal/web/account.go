package web

import (
	"net/http"

	"github.com/linkbox/linkbox/internal/errs"
)

// accountPage lists the apps linked to the account.
func (s *Service) accountPage(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.requireSession(w, r)
	if !ok {
		return err
	}
	apps, err := s.links.LinkedApps(r.Context(), se.userID)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "account", view{CSRF: s.sessionCSRF(se), Apps: apps})
}

// unlink removes every link of the app to the account. An app no longer
// linked, by a second click or the app's own unlink, is done all the same.
func (s *Service) unlink(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.requireSession(w, r)
	if !ok {
		return err
	}
	if err := s.checkSessionForm(w, r, se); err != nil {
		return err
	}
	err = s.links.UnlinkApp(r.Context(), se.userID, r.PathValue("id"))
	if err != nil && !errs.Is(err, errs.NotFound, "not_linked") {
		return err
	}
	seeOther(w, "/account")
	return nil
}

// inboxPage shows the newest messages; inbox.js then follows the stream
// from the newest one shown, so nothing falls between page and stream.
func (s *Service) inboxPage(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.requireSession(w, r)
	if !ok {
		return err
	}
	msgs, err := s.inbox.List(r.Context(), se.userID, inboxPageSize, "")
	if err != nil {
		return err
	}
	// The stream's position before the first message is "0".
	v := view{CSRF: s.sessionCSRF(se), Messages: msgs, LastEventID: "0"}
	if len(msgs) > 0 {
		v.LastEventID = msgs[0].ID
	}
	return s.render(w, r, http.StatusOK, "inbox", v)
}
