package inbox

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/linkbox/linkbox/internal/httpx"
)

// Credential is what a request was authenticated with. A stream lives only
// as long as its credential: it closes at Expires, when Check fails, and
// when its Session is revoked (RevokeSessions).
type Credential struct {
	UserID string
	// Session is the session that issued the credential ("fam_…" for an
	// access token's refresh family, "web:…" for a page session); "" is
	// unknown, and such a stream closes at every revocation of its user.
	Session string
	// Expires is the credential's own expiry (an access token's exp);
	// zero: none.
	Expires time.Time
	// Check re-checks a credential that can end without notice (a page
	// session cookie) before each delivery; nil: nothing to re-check.
	Check func(ctx context.Context) error
}

// Authenticator finds who a request acts for. Its errors are *errs.Error
// (Unauthorized for a missing or bad credential), rendered as they are.
type Authenticator interface {
	Authenticate(r *http.Request) (Credential, error)
}

// Routes registers the inbox API on mux. Errors have the Accounts API's
// shape, {"error":{"code":"…","message":"…"}}: the inbox belongs to the
// account and takes the same tokens.
//
//	status  code               when
//	400     invalid_limit      limit is not an integer from 1 to 100
//	400     invalid_cursor     before is not the id of one of the user's messages
//	400     invalid_last_event_id  Last-Event-ID (or last_event_id) is neither a message id nor 0
//	401     (Authenticator's)  no or bad credentials
//	403     (Authenticator's)  the account is blocked or suspended
//	404     message_not_found  no message of the user has this id
//	404     user_not_found     the account was deleted while its token lives
//	429     too_many_streams   a new stream beyond StreamsPerIP from one address (Retry-After)
//	500     internal_error     a fault of ours, logged with the request id
//	503     shutting_down      a new stream while the instance shuts down
func (s *Service) Routes(mux *http.ServeMux, auth Authenticator) {
	a := httpx.Adapter{Log: s.log, Render: httpx.RenderNested}
	h := handlers{s: s, auth: auth}
	mux.Handle("GET /v1/inbox/messages", a.H(h.list))
	mux.Handle("POST /v1/inbox/messages/{id}/read", a.H(h.read))
	mux.Handle("GET /v1/inbox/stream", a.H(h.stream))
}

type handlers struct {
	s    *Service
	auth Authenticator
}

func (h handlers) list(w http.ResponseWriter, r *http.Request) error {
	cred, err := h.auth.Authenticate(r)
	if err != nil {
		return err
	}
	limit, err := parseLimit(r.URL.Query().Get("limit"))
	if err != nil {
		return err
	}
	msgs, more, err := h.s.page(r.Context(), cred.UserID, limit, r.URL.Query().Get("before"))
	if err != nil {
		return err
	}
	if msgs == nil {
		msgs = []Message{} // "data":[] rather than null
	}
	httpx.WriteJSON(w, http.StatusOK, listJSON{Object: "list", Data: msgs, HasMore: more})
	return nil
}

// parseLimit reads the limit parameter; "" is 0, which List takes as the
// default.
func parseLimit(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, errBadLimit
	}
	return n, nil
}

func (h handlers) read(w http.ResponseWriter, r *http.Request) error {
	cred, err := h.auth.Authenticate(r)
	if err != nil {
		return err
	}
	m, err := h.s.MarkRead(r.Context(), cred.UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, m)
	return nil
}
