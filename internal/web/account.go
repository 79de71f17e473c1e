package web

import (
	"net/http"

	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/inbox"
)

// accountView is the account page's: the linked apps.
type accountView struct {
	Base
	Apps []connect.LinkedApp
}

// inboxView is the inbox page's: the newest messages, and where the stream
// starts.
type inboxView struct {
	Base
	Messages    []inbox.Message
	LastEventID string
}

// sessionBase is the Base of a page of the signed-in se.
func (s *Service) sessionBase(se Session) Base {
	return Base{CSRF: s.SessionCSRF(se), UserID: se.UserID}
}

// accountPage lists the apps linked to the account.
func (s *Service) accountPage(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.RequireSession(w, r)
	if !ok {
		return err
	}
	apps, err := s.links.LinkedApps(r.Context(), se.UserID)
	if err != nil {
		return err
	}
	return s.Render(w, r, http.StatusOK, "account", &accountView{Base: s.sessionBase(se), Apps: apps})
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

// inboxPage shows the newest messages; inbox.js then follows the stream
// from the newest one shown, so nothing falls between page and stream.
func (s *Service) inboxPage(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.RequireSession(w, r)
	if !ok {
		return err
	}
	msgs, err := s.inbox.List(r.Context(), se.UserID, inboxPageSize, "")
	if err != nil {
		return err
	}
	// The stream's position before the first message is "0".
	v := &inboxView{Base: s.sessionBase(se), Messages: msgs, LastEventID: "0"}
	if len(msgs) > 0 {
		v.LastEventID = msgs[0].ID
	}
	return s.Render(w, r, http.StatusOK, "inbox", v)
}
