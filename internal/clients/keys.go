package clients

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/ttlcache"
)

const (
	keyPrefix = "lbk_"
	// maxKey bounds what is hashed: real keys are 47 characters.
	maxKey = 128
	// rotatedKeyTTL is how long a replaced key keeps working, so that the
	// client can roll the new one out.
	rotatedKeyTTL = 24 * time.Hour
	// keyCacheTTL is how long a key is trusted without asking the store. It
	// is the most a key of a client deleted on another instance keeps
	// working; a deletion on this instance, and a rotated key's expiry, apply
	// at once.
	keyCacheTTL = 5 * time.Second
	// keyCacheSize bounds the cache; past it, expired entries are swept, and
	// if that is not enough arbitrary ones, down to three quarters of it.
	keyCacheSize = 10_000
)

// wrongKeyLimit caps wrong API keys per client IP (IPv6: per /64), of any
// kind: beyond it the IP's requests are refused before any key is looked
// up. Each wrong key costs a store lookup and is a guess.
var wrongKeyLimit = ratelimit.Limit{Events: 30, Per: time.Minute}

// ErrInvalidKey refuses a key that is missing, unknown, of another kind, of
// a deleted client or expired: one answer for all, which tells a caller
// nothing of the key. Each surface answers it in its own words.
var ErrInvalidKey = errs.E(errs.Unauthorized, "invalid_api_key", "Invalid API key")

// tooManyWrongKeys refuses an IP over wrongKeyLimit; a surface answers it
// (errs.TooMany, with RetryAfter) as its own 429.
func tooManyWrongKeys(retry time.Duration) error {
	e := errs.E(errs.TooMany, "too_many_wrong_keys", "Too many wrong API keys")
	e.RetryAfter = max(retry, time.Second)
	return e
}

// newKey returns a fresh API key (32 random bytes) and the keyed hash the
// store keeps in its place.
func (c *Clients[R]) newKey() (key, hash string) {
	key = ids.Token(keyPrefix, 32)
	return key, c.keyHash(key)
}

func (c *Clients[R]) keyHash(key string) string {
	return c.keys.Hash("api-key", key)
}

// Authenticate returns the record of the live client of this kind holding
// key, sent from ip: ErrInvalidKey for a key that is not one, counted
// against ip's wrong-key limit, and a TooMany error while ip is over it. A
// failing limiter lets the request through: a Redis outage degrades the
// limit, not the service.
func (c *Clients[R]) Authenticate(ctx context.Context, ip netip.Addr, key string) (R, error) {
	bucket := "clients:badkey:ip:" + httpx.IPKey(ip)
	if res, err := c.limiter.Take(ctx, bucket, wrongKeyLimit, 0); err == nil && !res.Allowed {
		var zero R
		return zero, tooManyWrongKeys(res.RetryAfter)
	}
	r, err := c.lookup(ctx, key)
	if errors.Is(err, ErrInvalidKey) {
		c.limiter.Take(ctx, bucket, wrongKeyLimit, 1)
	}
	return r, err
}

// lookup finds key in the cache, or else in the store, and caches it there
// until the earlier of keyCacheTTL and the key's expiry.
func (c *Clients[R]) lookup(ctx context.Context, key string) (R, error) {
	var zero R
	if key == "" || len(key) > maxKey {
		return zero, ErrInvalidKey
	}
	hash, now := c.keyHash(key), c.now()
	if r, ok := c.cache.get(hash, now); ok {
		return r, nil
	}
	gen := c.cache.evictions.Load()
	var expires sql.NullInt64
	cl, r, err := c.scan(c.db.QueryRow(ctx, c.byKey, hash, c.kind.Name), &expires)
	if errors.Is(err, db.ErrNotFound) {
		return zero, ErrInvalidKey
	}
	if err != nil {
		return zero, fmt.Errorf("clients: find API key: %w", err)
	}
	until := now.Add(c.cache.ttl)
	if expires.Valid {
		if expires.Int64 <= now.UnixMilli() {
			return zero, ErrInvalidKey
		}
		if e := time.UnixMilli(expires.Int64); e.Before(until) {
			until = e
		}
	}
	c.cache.put(hash, cached[R]{id: cl.ID, r: r}, until, now, gen)
	return r, nil
}

// keyCache maps key hashes to their clients for ttl at most, sparing the
// store one query per request on the hot path. An entry never outlives its
// key's own expiry.
type keyCache[R any] struct {
	ttl time.Duration
	// evictions counts evict calls, so that a lookup that read the store
	// before a client's deletion does not cache the deleted client after it.
	evictions atomic.Uint64
	*ttlcache.Cache[string, cached[R]]
}

// cached is a key's client: its id, by which it is evicted, and record.
type cached[R any] struct {
	id string
	r  R
}

func newKeyCache[R any](ttl time.Duration, size int) *keyCache[R] {
	return &keyCache[R]{ttl: ttl, Cache: ttlcache.New[string, cached[R]](size)}
}

func (k *keyCache[R]) get(hash string, now time.Time) (R, bool) {
	e, ok := k.Get(hash, now)
	return e.r, ok
}

// evict forgets every key of the client id, so that its deletion applies at
// once on this instance.
func (k *keyCache[R]) evict(id string) {
	k.evictions.Add(1)
	k.DeleteFunc(func(_ string, e cached[R]) bool { return e.id == id })
}

// put caches e under hash, read from the store when evictions was gen. If
// an eviction came since, the read may predate a deletion: the entry is
// dropped again. (An eviction after this check deletes it itself, since it
// counts before it deletes.)
func (k *keyCache[R]) put(hash string, e cached[R], until, now time.Time, gen uint64) {
	k.Put(hash, e, until, now)
	if k.evictions.Load() != gen {
		k.Delete(hash)
	}
}
