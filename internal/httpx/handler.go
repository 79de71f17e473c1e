package httpx

import (
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/linkbox/linkbox/internal/errs"
)

// HandlerFunc is an HTTP handler that returns its error instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Render writes an error in one surface's shape, with the status given, in
// answer to r (an HTML surface speaks the request's language).
type Render func(w http.ResponseWriter, r *http.Request, status int, e *errs.Error)

// Adapter turns HandlerFuncs into http.Handlers, writing their errors in one
// surface's shape: each surface has one Adapter.
type Adapter struct {
	Log    *slog.Logger
	Render Render
}

// H adapts h.
func (a Adapter) H(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.Error(w, r, err)
		}
	})
}

// Error writes err: internal errors are logged with everything and answered
// with little; client errors are logged at debug level.
func (a Adapter) Error(w http.ResponseWriter, r *http.Request, err error) {
	e := errs.From(err)
	status := Status(e.Kind)
	if status >= 500 {
		a.Log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", LogPath(r), "status", status, "err", err)
	} else {
		a.Log.DebugContext(r.Context(), "request rejected", "status", status, "code", e.Code, "err", err)
	}
	SetRetryAfter(w, e)
	a.Render(w, r, status, e)
}

// SetRetryAfter sets Retry-After, in whole seconds rounded up, when e is a
// TooMany error that says how long to wait.
func SetRetryAfter(w http.ResponseWriter, e *errs.Error) {
	if e.Kind == errs.TooMany && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
}

// nestedError is the error shape of the account-facing APIs (Accounts, the
// inbox): {"error":{"code":"…","message":"…"}}.
type nestedError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// RenderNested writes e as {"error":{"code","message"}}. A 401 names the
// Bearer scheme (RFC 6750 §3): these APIs take bearer tokens.
func RenderNested(w http.ResponseWriter, _ *http.Request, status int, e *errs.Error) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="linkbox"`)
	}
	var body nestedError
	body.Error.Code, body.Error.Message = e.Code, e.Message
	WriteJSON(w, status, body)
}
