package accounts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ids"
)

// HashParams are the argon2id costs of password hashes. Each hash in
// progress holds Memory KiB.
type HashParams struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32 // bytes
	KeyLen      uint32 // bytes
}

// DefaultHashParams returns OWASP's argon2id recommendation: 19 MiB, two
// passes, one lane, a 16-byte salt and a 32-byte key.
func DefaultHashParams() HashParams {
	return HashParams{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

func (p HashParams) validate() error {
	if p.Iterations < 1 || p.Parallelism < 1 || p.Memory < 8*uint32(p.Parallelism) || p.SaltLen < 8 || p.KeyLen < 16 {
		return fmt.Errorf("accounts: unusable argon2id parameters %+v", p)
	}
	return nil
}

// maxHashMemory bounds the memory a stored hash may ask for (1 GiB), so a
// corrupt row cannot make one verification exhaust the machine.
const maxHashMemory = 1 << 20

// hasher computes argon2id hashes, at most cap(sem) at a time: each holds
// Memory KiB, so the cap bounds the memory a flood of logins can take. Others
// queue until a slot frees or their request ends.
type hasher struct {
	params HashParams
	sem    chan struct{}
}

func newHasher(p HashParams, concurrency int) *hasher {
	return &hasher{params: p, sem: make(chan struct{}, concurrency)}
}

// hash returns password's hash in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$key), which records its own parameters
// so they can change without invalidating stored hashes.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	p := h.params
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism, b64(salt), b64(key)), nil
}

// verify reports whether password matches the encoded hash.
func (h *hasher) verify(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func (h *hasher) derive(ctx context.Context, password string, salt []byte, p HashParams) ([]byte, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, &errs.Error{Kind: errs.Unavailable, Code: "unavailable",
			Message: "The server is busy; try again", Err: ctx.Err()}
	}
	defer func() { <-h.sem }()
	return argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen), nil
}

var errBadHash = errors.New("accounts: malformed password hash")

func decodeHash(encoded string) (HashParams, []byte, []byte, error) {
	var p HashParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Iterations, &p.Parallelism); err != nil {
		return p, nil, nil, fmt.Errorf("%w: %w", errBadHash, err)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 || p.Memory > maxHashMemory {
		return p, nil, nil, errBadHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.validate(); err != nil {
		return p, nil, nil, fmt.Errorf("%w: %w", errBadHash, err)
	}
	return p, salt, key, nil
}

// randomPassword is a password nobody knows, for the dummy hash.
func randomPassword() string { return ids.Token("", 32) }
