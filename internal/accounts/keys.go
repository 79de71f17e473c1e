package accounts

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/secrets"
)

const (
	// keyRefresh is how often the signing keys are reread, so that a key
	// rotated by "linkbox keys rotate" (another process) starts signing here.
	keyRefresh  = time.Minute
	sealPurpose = "signing-key"
)

// signingKey is one key of the store. For EdDSA sign is an
// ed25519.PrivateKey and verify its public half; for HS256 both are the
// secret.
type signingKey struct {
	kid     string
	sign    any
	verify  any
	public  ed25519.PublicKey // nil for HS256: nothing to publish
	retired bool
}

// keySet is an immutable snapshot of the usable keys.
type keySet struct {
	active *signingKey
	byKid  map[string]*signingKey
	all    []*signingKey // oldest first, for the JWKS
	loaded time.Time
}

// keyStore caches the keys of one algorithm; readers never lock.
type keyStore struct {
	db   *db.DB
	keys *secrets.Keyring
	alg  string
	now  func() time.Time
	// grace is how long a retired key keeps verifying: the access token
	// lifetime, plus keyRefresh, since its last tokens may have been signed
	// that long after it retired, by an instance that had not reread the
	// keys yet.
	grace time.Duration
	set   atomic.Pointer[keySet]
	mu    sync.Mutex // serializes reloads
}

// init loads the keys, creating the first one when there is none.
func (k *keyStore) init(ctx context.Context) error {
	if err := k.reload(ctx); err != nil {
		return err
	}
	if k.set.Load().active != nil {
		return nil
	}
	err := k.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := k.insert(ctx, tx)
		return err
	})
	// ErrConflict: another instance created it first; use theirs.
	if err != nil && !errors.Is(err, db.ErrConflict) {
		return err
	}
	return k.reload(ctx)
}

// rotate retires the signing key and creates its successor.
func (k *keyStore) rotate(ctx context.Context) (string, error) {
	var kid string
	err := k.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = ? WHERE alg = ? AND retired_at IS NULL`,
			k.now().UnixMilli(), k.alg)
		if err != nil {
			return err
		}
		kid, err = k.insert(ctx, tx)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("accounts: rotate key: %w", err)
	}
	return kid, k.reload(ctx)
}

// insert stores a new active key, its private half sealed.
func (k *keyStore) insert(ctx context.Context, tx *db.Tx) (string, error) {
	kid := ids.New("key_")
	secret, public := make([]byte, 32), ""
	rand.Read(secret)
	if k.alg == AlgEdDSA {
		public = base64.RawURLEncoding.EncodeToString(ed25519.NewKeyFromSeed(secret).Public().(ed25519.PublicKey))
	}
	_, err := tx.Exec(ctx, `INSERT INTO signing_keys (kid, alg, private_key, public_key, created_at) VALUES (?, ?, ?, ?, ?)`,
		kid, k.alg, k.keys.Seal(sealPurpose, secret), public, k.now().UnixMilli())
	return kid, err
}

// current returns the keys, rereading them when older than keyRefresh.
func (k *keyStore) current(ctx context.Context) (*keySet, error) {
	if set := k.set.Load(); k.now().Sub(set.loaded) < keyRefresh {
		return set, nil
	}
	if err := k.reloadIfStale(ctx); err != nil {
		return nil, err
	}
	return k.set.Load(), nil
}

// lookup finds the key named kid. An unknown kid may be a key created by
// another process since the last read, so the store is read again; misses
// that arrive while a read is under way wait for it and share it, so that
// a flood of made-up kids costs at most one query per token, like the user
// lookup that every authenticated request makes anyway.
func (k *keyStore) lookup(ctx context.Context, kid string) (*signingKey, error) {
	seen := k.set.Load()
	if key := seen.byKid[kid]; key != nil {
		return key, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.set.Load() == seen {
		if err := k.load(ctx); err != nil {
			return nil, err
		}
	}
	if key := k.set.Load().byKid[kid]; key != nil {
		return key, nil
	}
	return nil, errInvalidToken
}

// reloadIfStale rereads the keys unless another request just did.
func (k *keyStore) reloadIfStale(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.now().Sub(k.set.Load().loaded) < keyRefresh {
		return nil
	}
	return k.load(ctx)
}

func (k *keyStore) reload(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.load(ctx)
}

// load reads the active key and the retired ones still within grace;
// k.mu must be held.
func (k *keyStore) load(ctx context.Context) error {
	keys, err := db.QueryAll(ctx, k.db, k.scan, `SELECT kid, private_key, retired_at FROM signing_keys
		WHERE alg = ? AND (retired_at IS NULL OR retired_at > ?) ORDER BY created_at, kid`,
		k.alg, k.now().Add(-k.grace).UnixMilli())
	if err != nil {
		return fmt.Errorf("accounts: load signing keys: %w", err)
	}
	set := &keySet{byKid: map[string]*signingKey{}, loaded: k.now()}
	for _, key := range keys {
		set.all = append(set.all, key)
		set.byKid[key.kid] = key
		if !key.retired {
			set.active = key
		}
	}
	k.set.Store(set)
	return nil
}

func (k *keyStore) scan(rows *sql.Rows) (*signingKey, error) {
	var (
		key     signingKey
		sealed  string
		retired sql.NullInt64
	)
	if err := rows.Scan(&key.kid, &sealed, &retired); err != nil {
		return nil, fmt.Errorf("accounts: load signing keys: %w", err)
	}
	secret, err := k.keys.Open(sealPurpose, sealed)
	if err != nil {
		return nil, fmt.Errorf("accounts: signing key %s: %w", key.kid, err)
	}
	key.retired = retired.Valid
	key.sign, key.verify = secret, secret
	if k.alg == AlgEdDSA {
		priv := ed25519.NewKeyFromSeed(secret)
		key.public = priv.Public().(ed25519.PublicKey)
		key.sign, key.verify = priv, key.public
	}
	return &key, nil
}

// jwk is one public key of the JWKS (RFC 8037 for Ed25519).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// jwks lists the public keys that verify access tokens: none for HS256,
// whose secret must stay secret.
func (set *keySet) jwks() []jwk {
	keys := []jwk{}
	for _, key := range set.all {
		if key.public == nil {
			continue
		}
		keys = append(keys, jwk{Kty: "OKP", Crv: "Ed25519", Kid: key.kid, Alg: AlgEdDSA, Use: "sig",
			X: base64.RawURLEncoding.EncodeToString(key.public)})
	}
	return keys
}
