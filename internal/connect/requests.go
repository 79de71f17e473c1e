package connect

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
)

// Field limits, in characters.
const (
	maxUserID    = 255
	maxReference = 64
	maxMessage   = 1000
	maxCode      = 16
	maxReturnURL = 2048
)

// body holds every field an endpoint may read, raw, so that each is checked
// in order and answered with the Connect API's own messages rather than the
// JSON decoder's.
type body struct {
	UserID    json.RawMessage `json:"user_id"`
	ReturnURL json.RawMessage `json:"return_url"`
	Reference json.RawMessage `json:"reference"`
	Message   json.RawMessage `json:"message"`
	Code      json.RawMessage `json:"code"`
}

// decode reads the request body, capped at 1 MiB.
func decode(w http.ResponseWriter, r *http.Request) (body, error) {
	var b body
	err := httpx.Decode(w, r, &b)
	switch {
	case err == nil:
		return b, nil
	case errs.Is(err, errs.TooLarge, "body_too_large"):
		return b, errBodyTooLarge
	case errs.Is(err, errs.Invalid, "unsupported_media_type"):
		return b, err
	}
	return b, errInvalidBody
}

// reader reads fields one after another, keeping the first error, so that a
// request is answered about its first bad field.
type reader struct{ err error }

// text reads a required string field that names something (an id, a
// reference, a code, a URL): missing when absent, null or "", invalid when
// not a string or holding control characters.
func (rd *reader) text(raw json.RawMessage, name string, limit int) string {
	return rd.str(raw, name, limit, unicode.IsControl)
}

// message reads a required free text, where line breaks and tabs are fine
// but NUL is not: PostgreSQL cannot store it.
func (rd *reader) message(raw json.RawMessage) string {
	return rd.str(raw, "message", maxMessage, func(r rune) bool { return r == 0 })
}

func (rd *reader) str(raw json.RawMessage, name string, limit int, bad func(rune) bool) string {
	if rd.err != nil {
		return ""
	}
	if len(raw) == 0 || string(raw) == "null" {
		rd.err = errMissingField
		return ""
	}
	var v string
	if raw[0] != '"' || json.Unmarshal(raw, &v) != nil || strings.ContainsFunc(v, bad) {
		rd.err = invalidField(name)
		return ""
	}
	return rd.check(v, limit)
}

// userID reads user_id, a JSON string or a JSON integer taken as its decimal
// text: many clients send numeric ids as numbers.
func (rd *reader) userID(raw json.RawMessage) string {
	if rd.err == nil && isInteger(raw) {
		return rd.check(string(raw), maxUserID)
	}
	return rd.text(raw, "user_id", maxUserID)
}

func (rd *reader) check(v string, limit int) string {
	switch {
	case v == "":
		rd.err = errMissingField
	case utf8.RuneCountInString(v) > limit:
		rd.err = errFieldTooLong
	}
	return v
}

// isInteger reports whether raw is a JSON number without fraction or
// exponent.
func isInteger(raw []byte) bool {
	if len(raw) > 0 && raw[0] == '-' {
		raw = raw[1:]
	}
	if len(raw) == 0 {
		return false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// linkAccountRequest is the body of POST /api/link-account.
type linkAccountRequest struct{ UserID, ReturnURL string }

func (b body) linkAccount(app App) (linkAccountRequest, error) {
	var rd reader
	q := linkAccountRequest{
		UserID:    rd.userID(b.UserID),
		ReturnURL: rd.text(b.ReturnURL, "return_url", maxReturnURL),
	}
	if rd.err == nil && !app.allows(q.ReturnURL) {
		rd.err = errInvalidReturn
	}
	return q, rd.err
}

// unlink reads the body of POST /api/link-account/unlink: the user id.
func (b body) unlink() (string, error) {
	var rd reader
	id := rd.userID(b.UserID)
	return id, rd.err
}

// sendOTPRequest is the body of POST /api/otp.
type sendOTPRequest struct{ UserID, Reference, Message string }

func (b body) sendOTP() (sendOTPRequest, error) {
	var rd reader
	q := sendOTPRequest{
		UserID:    rd.userID(b.UserID),
		Reference: rd.text(b.Reference, "reference", maxReference),
		Message:   rd.message(b.Message),
	}
	return q, rd.err
}

// verifyOTPRequest is the body of POST /api/otp/verify.
type verifyOTPRequest struct{ UserID, Reference, Code string }

func (b body) verifyOTP() (verifyOTPRequest, error) {
	var rd reader
	q := verifyOTPRequest{
		UserID:    rd.userID(b.UserID),
		Reference: rd.text(b.Reference, "reference", maxReference),
		Code:      rd.text(b.Code, "code", maxCode),
	}
	return q, rd.err
}

// notificationRequest is the body of POST /api/notification.
type notificationRequest struct{ UserID, Message string }

func (b body) notification() (notificationRequest, error) {
	var rd reader
	q := notificationRequest{
		UserID:  rd.userID(b.UserID),
		Message: rd.message(b.Message),
	}
	return q, rd.err
}

// success is the answer of every endpoint but link-account.
type success struct {
	Success bool `json:"success"`
}

func writeSuccess(w http.ResponseWriter) {
	httpx.WriteJSON(w, http.StatusOK, success{Success: true})
}
