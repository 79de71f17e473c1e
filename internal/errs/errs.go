// Package errs defines the application error: a kind (what went wrong, in
// terms a transport can map to a status), a stable code, a public message and
// a private cause. Domains return these; each HTTP surface renders them in its
// own error shape.
package errs

import (
	"errors"
	"time"
)

// Kind classifies an error for the transport. The zero value is Internal.
type Kind int

// The kinds of error, each mapped to one HTTP status by package httpx.
const (
	Internal     Kind = iota // a fault of ours: logged, never detailed to the client
	Invalid                  // malformed or invalid input
	Unauthorized             // missing or wrong credentials
	Forbidden                // authenticated, but not allowed
	NotFound                 // no such resource
	Conflict                 // the state forbids it (duplicate, already done)
	Gone                     // it existed but has expired or been used
	TooLarge                 // request body over the cap
	TooMany                  // rate or attempt limit reached
	Unavailable              // a dependency is down; try again later
)

// Error is an error with a public face. Message is safe to show to clients;
// Err, the cause, is only logged.
type Error struct {
	Kind       Kind
	Code       string
	Message    string
	Err        error
	RetryAfter time.Duration // for TooMany: when to try again, if known
}

// E returns an Error of the given kind, code and public message.
func E(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Wrap returns an Internal error with the given cause.
func Wrap(err error) *Error {
	return &Error{Kind: Internal, Code: "internal_error", Message: "Internal server error", Err: err}
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// From returns err as an *Error, turning any other error into an Internal one.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Wrap(err)
}

// Is reports whether err is an *Error of kind k with code code.
func Is(err error, k Kind, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k && e.Code == code
}
