package connect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
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
	// if that is not enough the cache starts over.
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
	if app, ok := s.cache.get(hash, now); ok {
		return app, nil
	}
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
	s.cache.put(hash, app, now, until)
	return app, nil
}

// keyCache maps key hashes to their apps for a few seconds, sparing the store
// one query per request on the hot path.
type keyCache struct {
	ttl     time.Duration
	size    int
	mu      sync.RWMutex
	entries map[string]cachedKey
}

type cachedKey struct {
	app   App
	until time.Time // never past the key's own expiry
}

func newKeyCache(ttl time.Duration, size int) *keyCache {
	return &keyCache{ttl: ttl, size: size, entries: make(map[string]cachedKey)}
}

func (c *keyCache) get(hash string, now time.Time) (App, bool) {
	c.mu.RLock()
	e, ok := c.entries[hash]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return App{}, false
	}
	return e.app, true
}

func (c *keyCache) put(hash string, app App, now, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.size {
		for h, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, h)
			}
		}
		if len(c.entries) >= c.size {
			clear(c.entries)
		}
	}
	c.entries[hash] = cachedKey{app: app, until: until}
}

// evictApp forgets every key of the app.
func (c *keyCache) evictApp(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.entries {
		if e.app.ID == id {
			delete(c.entries, h)
		}
	}
}
