package sms

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxResponseBytes caps how much of a provider's answer is read: enough for
// any real answer, too little for a broken or hostile server to exhaust memory.
const maxResponseBytes = 64 << 10

// maxDetailBytes caps how much of an answer is quoted in an error.
const maxDetailBytes = 256

// do sends req and returns the status and the start of the answer's body.
// A failure to read the body is not reported: the status decides the
// outcome, and a 2xx means the provider took the message, so turning a read
// error into a retry would send it twice.
func do(client *http.Client, req *http.Request) (status int, body []byte, err error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	return resp.StatusCode, body, nil
}

// retryable reports whether another attempt may succeed after status: a
// timeout, a rate limit or a server error. Any other refusal (including an
// unfollowed redirect) repeats until someone changes the request or the setup.
func retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// statusError describes a non-2xx answer, wrapping ErrPermanent unless the
// status is retryable.
func statusError(provider string, status int, body []byte) error {
	detail := strings.TrimSpace(string(body[:min(len(body), maxDetailBytes)]))
	if retryable(status) {
		return fmt.Errorf("sms: %s answered %d %s: %q", provider, status, http.StatusText(status), detail)
	}
	return fmt.Errorf("%w: %s answered %d %s: %q", ErrPermanent, provider, status, http.StatusText(status), detail)
}
