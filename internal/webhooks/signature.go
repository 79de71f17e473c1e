// Package webhooks signs and verifies HTTP deliveries per the Standard
// Webhooks specification (https://www.standardwebhooks.com): a shared
// "whsec_…" secret, and the headers webhook-id, webhook-timestamp and
// webhook-signature carrying "v1,<base64 HMAC-SHA256 of id.timestamp.body>".
// It also delivers them durably: kind "webhook" of the outbox (Queue,
// Deliverer).
package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The header names defined by the specification.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every secret; the rest is the base64 of the key.
const SecretPrefix = "whsec_"

// Tolerance is how far a delivery's timestamp may lie from the receiver's
// clock, either way, before Verify refuses it; it bounds replays.
const Tolerance = 5 * time.Minute

// The specification allows keys of 24 to 64 bytes; NewSecret makes 32.
const (
	minKeyLen = 24
	maxKeyLen = 64
	newKeyLen = 32
)

// Errors returned by Verify, wrapped with details.
var (
	ErrMissingHeaders = errors.New("webhooks: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrTimestamp      = errors.New("webhooks: bad webhook-timestamp")
	ErrSignature      = errors.New("webhooks: no valid signature")
)

// NewSecret returns a fresh secret: "whsec_" and the base64 of 32 random bytes.
func NewSecret() (string, error) {
	key := make([]byte, newKeyLen)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("webhooks: generate secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// Signer signs and verifies deliveries with one secret. It is safe for
// concurrent use.
type Signer struct {
	key []byte
}

// NewSigner parses secret ("whsec_" + base64 of 24 to 64 bytes).
func NewSigner(secret string) (*Signer, error) {
	encoded, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("webhooks: secret must start with %q", SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("webhooks: secret is not valid base64 after %q: %w", SecretPrefix, err)
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return nil, fmt.Errorf("webhooks: secret key is %d bytes, want %d to %d", len(key), minKeyLen, maxKeyLen)
	}
	return &Signer{key: key}, nil
}

// Sign returns the webhook-signature value ("v1,…") for a delivery.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	mac := s.mac(id, strconv.FormatInt(ts.Unix(), 10), body)
	return "v1," + base64.StdEncoding.EncodeToString(mac)
}

// SetHeaders sets the three Standard Webhooks headers of a delivery on h.
func (s *Signer) SetHeaders(h http.Header, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, s.Sign(id, ts, body))
}

// Verify checks a received delivery: its timestamp must lie within
// Tolerance of now, and one of the space-separated "v1,…" signatures must
// match. Entries of other versions are ignored, so a sender may add them.
func (s *Signer) Verify(h http.Header, body []byte, now time.Time) error {
	id, rawTS, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || rawTS == "" || sigs == "" {
		return ErrMissingHeaders
	}
	if err := checkTimestamp(rawTS, now); err != nil {
		return err
	}
	// The signed content uses the header text as received, not a re-formatted
	// number, so that the receiver checks exactly what the sender signed.
	want := s.mac(id, rawTS, body)
	for _, entry := range strings.Fields(sigs) {
		version, encoded, _ := strings.Cut(entry, ",")
		if version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(encoded)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}

func checkTimestamp(raw string, now time.Time) error {
	sec, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not Unix seconds", ErrTimestamp, raw)
	}
	skew := now.Sub(time.Unix(sec, 0))
	if skew > Tolerance || skew < -Tolerance {
		return fmt.Errorf("%w: %s off the current time, tolerance is %s", ErrTimestamp, skew.Round(time.Second), Tolerance)
	}
	return nil
}

func (s *Signer) mac(id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
