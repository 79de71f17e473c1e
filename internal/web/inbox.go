package web

import (
	"net/http"

	"github.com/linkbox/linkbox/internal/inbox"
)

// inboxView is the inbox page's: a page of messages, newest first, where
// the stream starts, and the cursor of the next, older page.
type inboxView struct {
	Base
	Messages []inboxItem
	// LastEventID is where the stream starts: the newest message shown, "0"
	// before the first. Only the first page follows the stream.
	LastEventID string
	Before      string // the cursor of this page, "" for the newest
	Older       string // the cursor of the next page, "" when none is left
	Unread      int    // the account's unread messages, all pages together
}

// inboxItem is a message as the page shows it. In a template its text is
// .Message.Message: the embedded field's own name wins over the field it
// would promote.
type inboxItem struct {
	inbox.Message
	// CodeState is that of a one-time code: "live" while it shows,
	// "expired" past its expiry, "used" once its code was erased (used,
	// replaced or killed by wrong tries); "" for a message without one.
	CodeState string
}

// inboxPage shows a page of messages; on the first, inbox.js then follows
// the stream from the newest one shown, so nothing falls between page and
// stream. ?before= is the next page's cursor, as the "Older messages" link
// gives it.
func (s *Service) inboxPage(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.RequireSession(w, r)
	if !ok {
		return err
	}
	before := r.URL.Query().Get("before")
	// One more than shown says whether an older page remains.
	msgs, err := s.inbox.List(r.Context(), se.UserID, inboxPageSize+1, before)
	if err != nil {
		return err
	}
	v := &inboxView{Base: s.sessionBase(se), Before: before}
	v.Base.Here = withNext("/inbox", "before", before)
	if len(msgs) > inboxPageSize {
		msgs = msgs[:inboxPageSize]
		v.Older = msgs[len(msgs)-1].ID
	}
	if before == "" {
		v.LastEventID = "0"
		if len(msgs) > 0 {
			v.LastEventID = msgs[0].ID
		}
	}
	for _, m := range msgs {
		v.Messages = append(v.Messages, s.itemOf(m))
	}
	if v.Unread, err = s.inbox.Unread(r.Context(), se.UserID); err != nil {
		return err
	}
	return s.Render(w, r, http.StatusOK, "inbox", v)
}

// itemOf is m as the page shows it, its code's state judged by the kit's
// clock, as the inbox judges whether a code still shows.
func (s *Service) itemOf(m inbox.Message) inboxItem {
	it := inboxItem{Message: m}
	switch {
	case m.Code != "":
		it.CodeState = "live"
	case m.Type != inbox.TypeOTP:
	case !m.ExpiresAt.IsZero() && !m.ExpiresAt.After(s.now()):
		it.CodeState = "expired"
	default:
		it.CodeState = "used"
	}
	return it
}

// markRead marks a message read and goes back to the page it was on.
func (s *Service) markRead(w http.ResponseWriter, r *http.Request) error {
	se, ok, err := s.RequireSession(w, r)
	if !ok {
		return err
	}
	if err := s.CheckSessionForm(w, r, se); err != nil {
		return err
	}
	if _, err := s.inbox.MarkRead(r.Context(), se.UserID, r.PathValue("id")); err != nil {
		return err
	}
	SeeOther(w, withNext("/inbox", "before", r.PostForm.Get("before")))
	return nil
}
