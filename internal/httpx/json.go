// Package httpx holds what every HTTP surface shares: JSON in and out, the
// error adapter, and middleware (request id, access log, recovery, client IP).
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/linkbox/linkbox/internal/errs"
)

// MaxBody caps every request body.
const MaxBody = 1 << 20

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

// Decode reads r's JSON body into v, capped at MaxBody. Unknown fields are
// ignored. Errors are *errs.Error with codes invalid_json, body_too_large,
// invalid_field (wrong JSON type) or unsupported_media_type.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errs.E(errs.Invalid, "unsupported_media_type", "Content-Type must be application/json")
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.E(errs.Invalid, "invalid_json", "Request body must be a single JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var (
		tooBig   *http.MaxBytesError
		typeErr  *json.UnmarshalTypeError
		syntaxEr *json.SyntaxError
	)
	switch {
	case errors.As(err, &tooBig):
		return errs.E(errs.TooLarge, "body_too_large", fmt.Sprintf("Request body must not exceed %d bytes", MaxBody))
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return errs.E(errs.Invalid, "invalid_field", fmt.Sprintf("Field %q must be of type %s", typeErr.Field, jsonType(typeErr.Type.Kind().String())))
	case errors.As(err, &typeErr):
		return errs.E(errs.Invalid, "invalid_json", "Request body must be a JSON object")
	case errors.As(err, &syntaxEr), errors.Is(err, io.ErrUnexpectedEOF):
		return errs.E(errs.Invalid, "invalid_json", "Request body is not valid JSON")
	case errors.Is(err, io.EOF):
		return errs.E(errs.Invalid, "invalid_json", "Request body is empty")
	}
	return errs.E(errs.Invalid, "invalid_json", "Request body could not be read")
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	}
	return "number"
}

// Status maps an error kind to its HTTP status: the one table of the service.
func Status(k errs.Kind) int {
	switch k {
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.Unauthorized:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.Gone:
		return http.StatusGone
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.TooMany:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
