package devicelinks

import (
	"fmt"
	"net/http"
	"time"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
)

// The errors of the Device links API, answered as
// {"success":false,"error":{"code","message"}}:
//
//	status  code                    when
//	401     invalid_api_key         x-api-key missing, unknown, of another kind, of a deleted client, or rotated past its 24 h
//	400     invalid_body            not one JSON object (also: empty body, a field of the wrong type)
//	400     unsupported_media_type  a Content-Type other than JSON
//	400     missing_field           redirect_uri absent or ""
//	400     invalid_field           supplier_user_id or language malformed or too long
//	404     user_not_found          GET /users/{id}, DELETE …/devices/{device_id}: no mapping for the supplier_user_id
//	404     device_not_found        DELETE …/devices/{device_id}: the mapping has no such device
//	400     invalid_field           GET /events: since or limit malformed
//	400     invalid_body            PUT …/settings: not one JSON object
//	412     precondition_failed     PUT …/settings: If-Match names no current ETag
//	413     body_too_large          body over 1 MiB; settings over 8 KiB
//	422     unregistered_redirect_uri  redirect_uri is not exactly one of the supplier's
//	428     precondition_required   PUT …/settings without If-Match
//	400     missing_field           POST /device-sessions: device_id or redirect_uri absent; POST /post-login-redirect: state or supplier_user_id absent
//	400     invalid_field           POST /device-sessions: device_id malformed, redirect_uri not https (http on localhost only)
//	404     state_not_found         POST /post-login-redirect: no state, or another supplier's
//	409     state_used              POST /post-login-redirect: the state was confirmed already
//	410     state_expired           POST /post-login-redirect: the state's 15 minutes are over
//	429     rate_limited            over 100 requests/s (burst 200) per supplier, or 30 wrong keys per minute from one IP
//	500     internal_error          a fault of ours, logged with the request id
//
// Every 4xx leaves the store as it was. The hosted pages' errors
// (link_session_not_found, link_session_expired, device_session_not_found,
// device_session_expired, invalid_state, login_not_confirmed) are the web
// kit's error pages, with their kind's status.
var (
	errInvalidAPIKey         = errs.E(errs.Unauthorized, "invalid_api_key", "Invalid API key")
	errMissingRedirect       = errs.E(errs.Invalid, "missing_field", "redirect_uri is required")
	errUnregistered          = errs.E(errs.Invalid, "unregistered_redirect_uri", "redirect_uri is not one of the supplier's registered redirect URIs")
	errInvalidUserID         = errs.E(errs.Invalid, "invalid_field", "supplier_user_id must have 1 to 255 printable characters")
	errInvalidLanguage       = errs.E(errs.Invalid, "invalid_field", "language must be a BCP 47 language tag")
	errMissingDevice         = errs.E(errs.Invalid, "missing_field", "device_id is required")
	errInvalidDevice         = errs.E(errs.Invalid, "invalid_field", "device_id must have 1 to 255 printable characters")
	errInvalidReturn         = errs.E(errs.Invalid, "invalid_field", "redirect_uri must be an absolute https URL (http only on localhost or 127.0.0.1), without user info or fragment")
	errMissingState          = errs.E(errs.Invalid, "missing_field", "state is required")
	errMissingSupplierID     = errs.E(errs.Invalid, "missing_field", "supplier_user_id is required")
	errSelectNotFound        = errs.E(errs.NotFound, "state_not_found", "No supplier login is waiting with this state")
	errSelectUsed            = errs.E(errs.Conflict, "state_used", "This state has been used already")
	errSelectExpired         = errs.E(errs.Gone, "state_expired", "This state has expired: its 15 minutes are over")
	errInvalidSince          = errs.E(errs.Invalid, "invalid_field", "since must be an event's seq, a whole number ≥ 0")
	errInvalidLimit          = errs.E(errs.Invalid, "invalid_field", fmt.Sprintf("limit must be a whole number from 1 to %d", maxEventsPage))
	errSessionNotFound       = errs.E(errs.NotFound, "link_session_not_found", "This link does not exist")
	errSessionExpired        = errs.E(errs.Gone, "link_session_expired", "This link has expired; go back to your supplier and try again")
	errStateUnknown          = errs.E(errs.Invalid, "invalid_state", "This sign-in answer is not one we asked for")
	errDeviceSessionNotFound = errs.E(errs.NotFound, "device_session_not_found", "This link does not exist")
	errDeviceSessionExpired  = errs.E(errs.Gone, "device_session_expired", "This link has expired; go back to the app you came from and try again")
	errNotConfirmed          = errs.E(errs.Conflict, "login_not_confirmed", "Your supplier has not confirmed your login yet; reload this page in a moment")
	errSettingsNotObject     = errs.E(errs.Invalid, "invalid_body", "The settings must be one JSON object")
	errSettingsTooLarge      = errs.E(errs.TooLarge, "body_too_large", fmt.Sprintf("The settings must not exceed %d bytes", maxSettings))
	errNoIfMatch             = errs.E(errs.Conflict, "precondition_required", "Send If-Match with the settings' ETag (from GET) to change them")
	errETagMismatch          = errs.E(errs.Conflict, "precondition_failed", "The settings have changed since this ETag: GET them again")
	errNotJSON               = errs.E(errs.Invalid, "unsupported_media_type", "Content-Type must be application/json")
	errSupplierNotFound      = errs.E(errs.NotFound, "supplier_not_found", "No supplier has this id")
	errUserNotFound          = errs.E(errs.NotFound, "user_not_found", "No mapping for this supplier_user_id")
	errDeviceNotFound        = errs.E(errs.NotFound, "device_not_found", "The user has no device with this id")
	errNoToken               = errs.E(errs.Conflict, "no_manufacturer_token", "The mapping has no manufacturer token") // section 2: the manufacturer vouched for the device itself
)

// rateLimited is the 429 of a request rate limit.
func rateLimited(retry time.Duration) error {
	e := errs.E(errs.TooMany, "rate_limited", "Rate limit exceeded")
	e.RetryAfter = max(retry, time.Second)
	return e
}

type errorBody struct {
	Success bool        `json:"success"`
	Error   errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusOf are the statuses no errs.Kind names: an unregistered
// redirect_uri is well-formed input the supplier's registration refuses
// (422); a settings PUT without If-Match, or with a stale one, fails its
// precondition (428, 412).
var statusOf = map[*errs.Error]int{
	errUnregistered: http.StatusUnprocessableEntity,
	errNoIfMatch:    http.StatusPreconditionRequired,
	errETagMismatch: http.StatusPreconditionFailed,
}

// RenderError writes e in the Device links API's shape; httpx.Adapter has
// chosen the status of its kind (or statusOf overrides it) and logged the
// cause.
func RenderError(w http.ResponseWriter, _ *http.Request, status int, e *errs.Error) {
	if st, ok := statusOf[e]; ok {
		status = st
	}
	code := e.Code
	if code == "invalid_json" {
		code = "invalid_body"
	}
	httpx.WriteJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: e.Message}})
}
