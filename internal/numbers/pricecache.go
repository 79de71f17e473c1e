package numbers

import (
	"sync/atomic"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ttlcache"
)

// The public prices are read far more often than the pool changes, and
// each answer counts the free numbers of every price: an instance keeps
// its answers for priceCacheTTL, and drops them all when a transaction of
// its own that changes the catalog, the pool or a rental's hold commits.
// Another instance's change shows within priceCacheTTL.
const (
	priceCacheTTL     = time.Second
	priceCacheEntries = 1024 // filters are client-chosen: bounded
)

type priceKey struct {
	service, country, operator string
	rent                       bool
}

type cachedPrices struct {
	gen  uint64
	body []byte
}

// priceCache holds rendered price answers, each valid while gen is the
// generation it was read in.
type priceCache struct {
	gen atomic.Uint64
	c   *ttlcache.Cache[priceKey, cachedPrices]
}

func newPriceCache() *priceCache {
	return &priceCache{c: ttlcache.New[priceKey, cachedPrices](priceCacheEntries)}
}

// get returns k's answer, if it is cached and current, and the generation
// to put a fresh one under: read before the store is, so that a change
// committing meanwhile makes the answer stale at once.
func (p *priceCache) get(k priceKey) ([]byte, bool, uint64) {
	gen := p.gen.Load()
	e, ok := p.c.Get(k, time.Now())
	return e.body, ok && e.gen == gen, gen
}

func (p *priceCache) put(k priceKey, body []byte, gen uint64) {
	now := time.Now()
	p.c.Put(k, cachedPrices{gen: gen, body: body}, now.Add(priceCacheTTL), now)
}

// changed drops the cached answers once tx commits: call it in every
// transaction that changes what a price answer shows.
func (s *Service) changed(tx *db.Tx) {
	tx.Value(s.prices, func() any {
		tx.AfterCommit(func() { s.prices.gen.Add(1) })
		return nil
	})
}
