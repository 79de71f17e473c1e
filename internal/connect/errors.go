package connect

import (
	"net/http"
	"time"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
)

// The errors of the Connect API, answered as {"message":"…"}. The first five
// messages are the seed document's, word for word; the document gives no
// status codes, so these are ours:
//
//	status  message                               when
//	401     Invalid API key                       X-Api-Key missing, unknown, of a deleted app, or a rotated key past its 24 h
//	404     User not linked                       no link for (app, user_id): otp, otp/verify, notification, unlink
//	400     Invalid OTP code                      wrong code (counts a try, the 5th wrong one included), unknown reference, code already used
//	410     OTP expired                           the OTP outlived the app's OTP TTL: send a new one
//	400     Missing required field                a required field is absent, null or ""
//	429     Too many attempts                     5 wrong codes killed the OTP: send a new one (no Retry-After: waiting does not help)
//	429     Rate limit exceeded                   over 100 requests/s (burst 200) per app, 10 OTP sends per minute per (app, user_id),
//	                                              or 30 wrong API keys per minute from one IP (IPv6: one /64); with Retry-After and X-RateLimit-*
//	400     Invalid return_url                    return_url not a string, or not registered for the app (exact, or under a registered prefix ending in "/"
//	                                              once its dot segments are resolved; backslashes, encoded slashes, empty segments refused)
//	400     Invalid user_id                       user_id neither a JSON string nor a JSON integer (an integer is used as its decimal text)
//	400     Invalid reference | message | code   that field is not a JSON string
//	                                              (all: control characters refused, except tabs and line breaks in message)
//	400     Field too long                        user_id > 255, reference > 64, message > 1000, code > 16, return_url > 2048 characters
//	400     Invalid request body                  not one JSON object (also: empty body)
//	400     Content-Type must be application/json another Content-Type was sent (none is read as JSON)
//	413     Request body too large                body over 1 MiB
//	500     Internal server error                 a fault of ours, logged with the request id
//
// /api/link-account/unlink answers 404 User not linked when there is no
// link, like every endpoint that needs one; an app retrying an unlink may
// take that answer as done. Every 4xx leaves the store as it was, except the
// wrong-code tries that Invalid OTP code counts.
var (
	errInvalidAPIKey   = errs.E(errs.Unauthorized, "invalid_api_key", "Invalid API key")
	errUserNotLinked   = errs.E(errs.NotFound, "user_not_linked", "User not linked")
	errInvalidOTP      = errs.E(errs.Invalid, "invalid_otp_code", "Invalid OTP code")
	errOTPExpired      = errs.E(errs.Gone, "otp_expired", "OTP expired")
	errMissingField    = errs.E(errs.Invalid, "missing_field", "Missing required field")
	errTooManyAttempts = errs.E(errs.TooMany, "too_many_attempts", "Too many attempts")
	errInvalidReturn   = errs.E(errs.Invalid, "invalid_return_url", "Invalid return_url")
	errFieldTooLong    = errs.E(errs.Invalid, "field_too_long", "Field too long")
	errInvalidBody     = errs.E(errs.Invalid, "invalid_body", "Invalid request body")
	errBodyTooLarge    = errs.E(errs.TooLarge, "body_too_large", "Request body too large")
)

// Errors of the Service methods behind the hosted pages and the admin
// commands; their messages are meant for people. The admin commands' other
// errors are package clients': NotFound "app_not_found" (No app has this
// id), Invalid "invalid_name".
var (
	errLinkNotFound = errs.E(errs.NotFound, "link_not_found", "This linking link does not exist")
	errLinkExpired  = errs.E(errs.Gone, "link_expired", "This linking link has expired; go back to the app and try again")
	errLinkUsed     = errs.E(errs.Gone, "link_used", "This linking link has already been used")
	errLinkTaken    = errs.E(errs.Conflict, "link_taken", "The app's account is linked to another Linkbox account: unlink it there first")
	errNotLinked    = errs.E(errs.NotFound, "not_linked", "This app is not linked to your account")
)

// invalidField is the 400 of a field of the wrong JSON type.
func invalidField(name string) error {
	return errs.E(errs.Invalid, "invalid_field", "Invalid "+name)
}

// rateLimited is the 429 of a request rate limit.
func rateLimited(retry time.Duration) error {
	e := errs.E(errs.TooMany, "rate_limited", "Rate limit exceeded")
	e.RetryAfter = max(retry, time.Second)
	return e
}

// errorBody is the seed's error shape.
type errorBody struct {
	Message string `json:"message"`
}

// RenderError writes e in the Connect API's shape; httpx.Adapter has chosen
// the status and logged the cause.
func RenderError(w http.ResponseWriter, _ *http.Request, status int, e *errs.Error) {
	httpx.WriteJSON(w, status, errorBody{Message: e.Message})
}
