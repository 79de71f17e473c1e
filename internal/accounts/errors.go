package accounts

import (
	"fmt"
	"time"

	"github.com/linkbox/linkbox/internal/errs"
)

// The error codes of the Accounts API, answered as
// {"error":{"code":"…","message":"…"}}:
//
//	status  code                    when
//	400     invalid_json            the body is not one JSON object (also: empty body)
//	400     invalid_field           a field has the wrong JSON type
//	400     unsupported_media_type  Content-Type is not application/json
//	413     body_too_large          the body exceeds 1 MiB
//	400     missing_field           a required field is absent or empty
//	400     invalid_phone           not a valid phone number in E.164 form (+ and country code)
//	400     invalid_password        fewer than 8 or more than 128 characters
//	400     invalid_email           not a bare address (user@example.com), or over 254 bytes
//	400     invalid_name            first_name/last_name empty after trimming, over 100 characters, or with control characters
//	400     invalid_username        not 3–32 of a–z, 0–9, "_", "." and "-"
//	400     invalid_role            a role other than user, agent or admin
//	403     role_not_allowed        sign-up asked for agent or admin
//	400     invalid_status          (admin) a status other than active, blocked or suspended
//	409     phone_taken             an account holds this phone (a pending one whose code expired is replaced instead)
//	409     username_taken          an account holds this username
//	400     invalid_code            wrong, malformed or no pending code; an unknown phone; verify of an account already verified
//	410     code_expired            the code is older than 10 minutes: request a new one
//	429     too_many_attempts       5 wrong tries killed the code: request a new one
//	404     user_not_found          (admin) no account has this phone
//	400     sms_country_not_allowed sign-up for a phone of a country LINKBOX_SMS_COUNTRIES leaves out
//	429     sms_budget_exhausted    the hourly SMS budget (all, or the phone's country) is spent; Retry-After
//	401     invalid_credentials     unknown phone or wrong password (one answer for both)
//	403     account_pending         login before verification
//	403     account_blocked         the account is blocked
//	403     account_suspended       the account is suspended
//	401     missing_token           no "Authorization: Bearer …" header
//	401     invalid_token           a token that is malformed, tampered, revoked or of an unknown key
//	401     token_expired           an access or refresh token past its expiry
//	401     refresh_token_reused    a rotated refresh token presented again: its whole family is revoked
//	429     rate_limited            a per-IP or per-phone limit; Retry-After says when to retry
//
// Resend and password/forgot answer 202 whatever the phone (unknown,
// verified, quota or budget spent): they cannot tell who has an account.
//
//	503     unavailable             the request gave up waiting for a password hashing slot
//	500     internal_error          a fault of ours, logged with the request id
var (
	errInvalidCredentials = errs.E(errs.Unauthorized, "invalid_credentials", "Invalid phone number or password")
	errAccountPending     = errs.E(errs.Forbidden, "account_pending", "This account is not verified yet; enter the code sent by SMS")
	errAccountBlocked     = errs.E(errs.Forbidden, "account_blocked", "This account is blocked")
	errAccountSuspended   = errs.E(errs.Forbidden, "account_suspended", "This account is suspended")
	errRoleNotAllowed     = errs.E(errs.Forbidden, "role_not_allowed", "Sign-up may only create accounts with role \"user\"")
	errPhoneTaken         = errs.E(errs.Conflict, "phone_taken", "An account with this phone number already exists")
	errUsernameTaken      = errs.E(errs.Conflict, "username_taken", "This username is already taken")
	errInvalidCode        = errs.E(errs.Invalid, "invalid_code", "Invalid verification code")
	errCodeExpired        = errs.E(errs.Gone, "code_expired", "The verification code has expired; request a new one")
	errTooManyAttempts    = errs.E(errs.TooMany, "too_many_attempts", "Too many wrong codes; request a new one")
	errUserNotFound       = errs.E(errs.NotFound, "user_not_found", "No account has this phone number")
	errMissingToken       = errs.E(errs.Unauthorized, "missing_token", "Send the access token as \"Authorization: Bearer <token>\"")
	errInvalidToken       = errs.E(errs.Unauthorized, "invalid_token", "The token is invalid")
	errTokenExpired       = errs.E(errs.Unauthorized, "token_expired", "The token has expired")
	errRefreshReused      = errs.E(errs.Unauthorized, "refresh_token_reused", "This refresh token was already used; every session it belongs to has been revoked")
)

// smsCountryRefused is the code of the SMS outbox's refusal of a
// destination country, which resend and forgot keep to themselves.
const smsCountryRefused = "sms_country_not_allowed"

func missingField(name string) error {
	return errs.E(errs.Invalid, "missing_field", fmt.Sprintf("Field %q is required", name))
}

func invalid(code, message string) error {
	return errs.E(errs.Invalid, code, message)
}

// rateLimited is the 429 of a limit, telling when to try again.
func rateLimited(retry time.Duration) *errs.Error {
	e := errs.E(errs.TooMany, "rate_limited", "Too many requests; try again later")
	e.RetryAfter = max(retry, time.Second)
	return e
}
