package numbers

import (
	"net/http"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
)

// The errors of the Numbers API, answered as {"success":false,"error":"…"}:
//
//	status  code                  message
//	401     unauthorized          Missing or invalid token
//	402     insufficient_credits  Insufficient credits
//	403     not_approved          Your account is not approved for renting numbers
//	404     no_numbers            No number is available for this service and country
//	404     rental_not_found      Rental not found
//	409     too_early             A rental cannot be cancelled in its first 2 minutes
//	409     sms_received          The rental has received an SMS: finish it instead
//	409     rental_ended          The rental has ended
//	409     upstream_too_early    the upstream refused a cancel in its first minutes (EARLY_CANCEL_DENIED)
//	409     upstream_refused      the upstream refused a cancel (BAD_STATUS: a code came there)
//	400     missing_field         service and country are required / service is required
//	400     invalid_*             a parameter or the body is malformed (httpx.Decode's messages)
//	422     idempotency_mismatch  the Idempotency-Key was used with another body (package idempotency)
//	429     rate_limited          Rate limit exceeded (with Retry-After and X-RateLimit-*)
//	500     internal_error        Internal server error
//	502     upstream_error        the upstream failed (BAD_KEY, ERROR_SQL, BANNED, an unexpected answer, no answer)
//	503     upstream_no_balance   the upstream account's balance is short (NO_BALANCE); the upstream's
//	                              NO_NUMBERS, BAD_SERVICE, WRONG_SERVICE, BAD_COUNTRY are no_numbers (404)
var (
	errUnauthorized   = errs.E(errs.Unauthorized, "unauthorized", "Missing or invalid token")
	errNoCredits      = errs.E(errs.Forbidden, "insufficient_credits", "Insufficient credits")
	errNotApproved    = errs.E(errs.Forbidden, "not_approved", "Your account is not approved for renting numbers")
	errNoNumbers      = errs.E(errs.NotFound, "no_numbers", "No number is available for this service and country")
	errRentalNotFound = errs.E(errs.NotFound, "rental_not_found", "Rental not found")
	errTooEarly       = errs.E(errs.Conflict, "too_early", "A rental cannot be cancelled in its first 2 minutes")
	errSMSReceived    = errs.E(errs.Conflict, "sms_received", "The rental has received an SMS: finish it instead")
	errRentalEnded    = errs.E(errs.Conflict, "rental_ended", "The rental has ended")
	errRentFields     = errs.E(errs.Invalid, "missing_field", "service and country are required")
	errServiceMissing = errs.E(errs.Invalid, "missing_field", "service is required")
	errBadPaging      = errs.E(errs.Invalid, "invalid_paging", "page and limit must be positive integers")
	errBadStatus      = errs.E(errs.Invalid, "invalid_status", "status must be waiting, received, finished, cancelled or expired")
)

// Errors of the admin commands.
var (
	errUserNotFound  = errs.E(errs.NotFound, "user_not_found", "No account has this phone number")
	errBelowZero     = errs.E(errs.Conflict, "below_zero", "The account has fewer credits than that")
	errNumberExists  = errs.E(errs.Conflict, "number_exists", "This number is already in the pool")
	errNumberUnknown = errs.E(errs.NotFound, "number_not_found", "No such number in the pool")
	errNumberBusy    = errs.E(errs.Conflict, "number_busy", "The number is rented: wait until its rental ends")
	errBadInput      = errs.E(errs.Invalid, "invalid_input", "Invalid value")
	errNoUpstream    = errs.E(errs.NotFound, "no_upstream", "No upstream provider is configured (LINKBOX_SMSACTIVATE_URL)")
)

// Errors of the gateway webhook; none stores anything.
var (
	errBadSignature  = errs.E(errs.Unauthorized, "bad_signature", "Invalid signature")
	errStaleStamp    = errs.E(errs.Unauthorized, "stale_timestamp", "X-Timestamp is missing or outside the 5-minute window")
	errNoGateway     = errs.E(errs.NotFound, "gateway_not_found", "Unknown gateway")
	errBadEvent      = errs.E(errs.Invalid, "invalid_event", "Invalid webhook body")
	errGatewayName   = errs.E(errs.Invalid, "invalid_name", "A gateway needs a name")
	errNoSuchGateway = errs.E(errs.NotFound, "gateway_not_found", "No gateway has this id")
)

// Errors of the upstream, in the Numbers API's shape (NO_NUMBERS and an
// unknown service or country are errNoNumbers).
var (
	errUpstreamBalance  = errs.E(errs.Unavailable, "upstream_no_balance", "No number can be bought right now: try again later")
	errUpstream         = errs.E(errs.Unavailable, "upstream_error", "The number provider is unavailable: try again later")
	errUpstreamTooEarly = errs.E(errs.Conflict, "upstream_too_early", "The number provider does not allow cancelling this number yet: try again in a few minutes")
	errUpstreamRefused  = errs.E(errs.Conflict, "upstream_refused", "The number provider refused to cancel this number: finish it instead")
)

// statusOf overrides the status of the kinds errs has no status for (402, 422).
var statusOf = map[string]int{
	"insufficient_credits": http.StatusPaymentRequired,
	"idempotency_mismatch": http.StatusUnprocessableEntity,
	"upstream_error":       http.StatusBadGateway,
}

// errorBody is the seed's error shape.
type errorBody struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
}

// RenderError writes e in the Numbers API's shape, at the status its code
// calls for when the kinds of errs name none (402, 422).
func RenderError(w http.ResponseWriter, _ *http.Request, status int, e *errs.Error) {
	if s, ok := statusOf[e.Code]; ok {
		status = s
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="linkbox"`)
	}
	httpx.WriteJSON(w, status, errorBody{Error: e.Message})
}

// RenderError writes err in the Numbers API's shape; package idempotency
// answers with it.
func (s *Service) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	s.api.Error(w, r, err)
}
