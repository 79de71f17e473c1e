package outbox

import (
	"errors"
	"math/rand/v2"
	"time"
)

// Retry gives, after the n-th failed attempt of a message (n ≥ 1), the wait
// before the next attempt, or false to give the message up.
type Retry func(n int) (wait time.Duration, again bool)

// Exponential doubles the wait from base up to limit, with ±20% jitter so
// that the retries of many messages failed together do not arrive
// together, and gives up after attempts attempts in all.
func Exponential(base, limit time.Duration, attempts int) Retry {
	return func(n int) (time.Duration, bool) {
		d := limit
		if n < 32 && base<<(n-1) < limit {
			d = base << (n - 1)
		}
		return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64())), n < attempts
	}
}

// Schedule waits waits[n-1] after the n-th failed attempt, and gives up
// after the last: len(waits)+1 attempts in all.
func Schedule(waits ...time.Duration) Retry {
	return func(n int) (time.Duration, bool) {
		if n < 1 || n > len(waits) {
			return 0, false
		}
		return waits[n-1], true
	}
}

// ErrPermanent is matched (errors.Is) by the errors Permanent makes.
var ErrPermanent = errors.New("outbox: permanent failure")

// Permanent marks err as one that retrying cannot cure: the message is
// given up at once. Its text is err's.
func Permanent(err error) error { return permanentError{err} }

type permanentError struct{ err error }

func (e permanentError) Error() string        { return e.err.Error() }
func (e permanentError) Unwrap() error        { return e.err }
func (e permanentError) Is(target error) bool { return target == ErrPermanent }

// maxRetryAfter caps the wait a receiver may ask for.
const maxRetryAfter = 24 * time.Hour

// RetryAfter marks err as transient, with the next attempt no sooner than
// after (a receiver's Retry-After; at most a day): the kind's Retry still
// counts the attempt, and its wait applies when longer. Its text is err's.
func RetryAfter(err error, after time.Duration) error { return &retryAfterError{err, after} }

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }
