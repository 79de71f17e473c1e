package connect

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/ttlcache"
)

const (
	apiKeyPrefix = "lbk_"
	// maxAPIKey bounds what is hashed: real keys are 47 characters.
	maxAPIKey = 128
	// keyCacheTTL is how long a key is trusted without asking the store. It
	// is the most a key of an app deleted on another instance keeps working;
	// a deletion on this instance, and a rotated key's expiry, apply at once.
	keyCacheTTL = 5 * time.Second
	// keyCacheSize bounds the cache; past it, expired entries are swept, and
	// if that is not enough arbitrary ones, down to three quarters of it.
	keyCacheSize = 10_000
)

// newAPIKey returns a fresh API key (32 random bytes) and the keyed hash the
// store keeps in its place.
func (s *Service) newAPIKey() (key, hash string) {
	key = ids.Token(apiKeyPrefix, 32)
	return key, s.keyHash(key)
}

func (s *Service) keyHash(key string) string {
	return s.keys.Hash("api-key", key)
}

// authenticate returns the app holding key, or errInvalidAPIKey for a key
// that is missing, unknown, of a deleted app or expired.
func (s *Service) authenticate(ctx context.Context, key string) (App, error) {
	if key == "" || len(key) > maxAPIKey {
		return App{}, errInvalidAPIKey
	}
	hash, now := s.keyHash(key), s.now()
	if app, ok := s.cache.Get(hash, now); ok {
		return app, nil
	}
	gen := s.cache.evictions.Load()
	app, expires, err := appByKey(ctx, s.db, hash)
	if errors.Is(err, db.ErrNotFound) {
		return App{}, errInvalidAPIKey
	}
	if err != nil {
		return App{}, fmt.Errorf("connect: find API key: %w", err)
	}
	until := now.Add(s.cache.ttl)
	if !expires.IsZero() {
		if !now.Before(expires) {
			return App{}, errInvalidAPIKey
		}
		if expires.Before(until) {
			until = expires
		}
	}
	s.cache.put(hash, app, until, now, gen)
	return app, nil
}

// keyCache maps key hashes to their apps for ttl at most, sparing the store
// one query per request on the hot path. An entry never outlives its key's
// own expiry.
type keyCache struct {
	ttl time.Duration
	// evictions counts evictApp calls, so that a lookup that read the store
	// before an app's deletion does not cache the deleted app after it.
	evictions atomic.Uint64
	*ttlcache.Cache[string, App]
}

func newKeyCache(ttl time.Duration, size int) *keyCache {
	return &keyCache{ttl: ttl, Cache: ttlcache.New[string, App](size)}
}

// evictApp forgets every key of the app, so that its deletion applies at
// once on this instance.
func (c *keyCache) evictApp(id string) {
	c.evictions.Add(1)
	c.DeleteFunc(func(_ string, app App) bool { return app.ID == id })
}

// put caches app under hash, read from the store when evictions was gen.
// If an eviction came since, the read may predate a deletion: the entry is
// dropped again. (An eviction after this check deletes it itself, since it
// counts before it deletes.)
func (c *keyCache) put(hash string, app App, until, now time.Time, gen uint64) {
	c.Put(hash, app, until, now)
	if c.evictions.Load() != gen {
		c.Delete(hash)
	}
}
