// Package ids makes identifiers, tokens and codes from crypto/rand.
package ids

import (
	"crypto/rand"
	"encoding/base64"
	"math/big"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// New returns prefix followed by 12 uniformly random base62 characters
// (71 bits), e.g. New("user_") = "user_2fR3gH5jK8lM".
func New(prefix string) string {
	return prefix + randomString(12, base62)
}

// Digits returns n uniformly random decimal digits, e.g. a 6-digit SMS code.
func Digits(n int) string {
	return randomString(n, "0123456789")
}

// Token returns prefix followed by n random bytes in unpadded base64url: a
// bearer secret to hand out once and store only as a keyed hash.
func Token(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: crypto/rand.Read panics instead of erring since Go 1.24
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func randomString(n int, alphabet string) string {
	out := make([]byte, n)
	limit := big.NewInt(int64(len(alphabet)))
	for i := range out {
		v, _ := rand.Int(rand.Reader, limit) // crypto/rand.Reader never fails
		out[i] = alphabet[v.Int64()]
	}
	return string(out)
}
