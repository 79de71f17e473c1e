// Package secrets derives every key Linkbox uses from one master secret:
// HMAC keys for storing tokens and codes as keyed hashes, and AES-256-GCM
// keys for sealing what must be read back (signing keys, third-party tokens).
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
)

// Keyring derives purpose-bound keys from the master secret, so a key leaked
// from one use opens nothing else.
type Keyring struct {
	master []byte
	keys   sync.Map // purpose -> []byte
}

// New returns a Keyring for master, which must be at least 32 bytes.
func New(master []byte) (*Keyring, error) {
	if len(master) < minLength {
		return nil, errors.New("secrets: master secret shorter than 32 bytes")
	}
	return &Keyring{master: master}, nil
}

// NewMaster returns a fresh random master secret, printable.
func NewMaster() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Key returns the 32-byte key for purpose.
func (k *Keyring) Key(purpose string) []byte {
	if v, ok := k.keys.Load(purpose); ok {
		return v.([]byte)
	}
	key, err := hkdf.Key(sha256.New, k.master, nil, "linkbox:"+purpose, 32)
	if err != nil {
		panic(fmt.Sprintf("secrets: hkdf: %v", err)) // only for lengths out of range, fixed here
	}
	k.keys.Store(purpose, key)
	return key
}

// Hash returns the hex HMAC-SHA256 of value under purpose's key: how tokens
// and codes are stored, and looked up, without keeping them.
func (k *Keyring) Hash(purpose, value string) string {
	m := hmac.New(sha256.New, k.Key(purpose))
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// Equal compares two hashes in constant time.
func Equal(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

// Seal encrypts plaintext with purpose's key (AES-256-GCM, random nonce) and
// returns it base64-encoded.
func (k *Keyring) Seal(purpose string, plaintext []byte) string {
	aead := k.aead(purpose)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, plaintext, []byte(purpose)))
}

// Open decrypts what Seal returned for the same purpose.
func (k *Keyring) Open(purpose, sealed string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, fmt.Errorf("secrets: open: %w", err)
	}
	aead := k.aead(purpose)
	if len(raw) < aead.NonceSize() {
		return nil, errors.New("secrets: open: sealed value too short")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(purpose))
	if err != nil {
		return nil, fmt.Errorf("secrets: open: %w (was LINKBOX_SECRET changed?)", err)
	}
	return plain, nil
}

func (k *Keyring) aead(purpose string) cipher.AEAD {
	block, err := aes.NewCipher(k.Key("seal:" + purpose))
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}
