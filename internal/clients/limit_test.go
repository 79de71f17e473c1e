package clients_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/clients"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

// wantLimited fails unless key is refused from ip as over the wrong-key
// limit, with a wait of a second at least.
func (e *env) wantLimited(what string, c *clients.Clients[record], from netip.Addr, key string) {
	e.t.Helper()
	_, err := c.Authenticate(e.t.Context(), from, key)
	if ee := errs.From(err); ee.Kind != errs.TooMany || ee.RetryAfter < time.Second {
		e.t.Fatalf("%s: %v, want TooMany with a RetryAfter of 1 s or more", what, err)
	}
}

// TestWrongKeyLimit: 30 wrong API keys per minute per client IP, of any
// kind; then even a right key from that IP waits, other IPs do not, and one
// key's worth refills in 2 s. Right keys do not count.
func TestWrongKeyLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		sup, mfr := e.clients(supplier), e.clients(manufacturer)
		cl, key := e.create(sup, "Acme")
		for range 100 {
			e.wantClient("a right key", sup, ip, key, cl)
		}
		for i := range 30 {
			e.wantRefused(fmt.Sprintf("wrong key %d", i+1), sup, ip, "lbk_wrong")
		}
		e.wantLimited("31st wrong key", sup, ip, "lbk_wrong")
		e.wantLimited("a right key from the same IP", sup, ip, key)
		e.wantLimited("a key of another kind from the same IP", mfr, ip, "lbk_wrong")
		other := netip.MustParseAddr("192.0.2.2")
		e.wantClient("a right key from another IP", sup, other, key, cl)
		e.wantRefused("a wrong key from another IP", sup, other, "lbk_wrong")
		e.clock.Advance(2 * time.Second)
		e.wantClient("after 2 s", sup, ip, key, cl)
		e.wantRefused("one wrong key after 2 s", sup, ip, "lbk_wrong")
		e.wantLimited("a second one", sup, ip, "lbk_wrong")
	})
}

// TestWrongKeyLimitPerIPv6Prefix: the addresses of one IPv6 /64, which one
// subscriber holds whole, share one wrong-key bucket; another /64 has its
// own.
func TestWrongKeyLimitPerIPv6Prefix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		sup := e.clients(supplier)
		for i := range 30 {
			e.wantRefused(fmt.Sprintf("wrong key %d", i+1), sup, netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2::%x", i+1)), "lbk_wrong")
		}
		e.wantLimited("31st wrong key, from a new address of the same /64", sup,
			netip.MustParseAddr("2001:db8:1:2:ffff:ffff:ffff:ffff"), "lbk_wrong")
		e.wantRefused("a wrong key from another /64", sup, netip.MustParseAddr("2001:db8:1:3::1"), "lbk_wrong")
	})
}

// down is a Limiter whose store is down.
type down struct{}

func (down) Take(context.Context, string, ratelimit.Limit, int) (ratelimit.Result, error) {
	return ratelimit.Result{}, errors.New("redis: connection refused")
}

// TestLimiterDownFailsOpen: a broken limiter degrades the limit, not
// authentication.
func TestLimiterDownFailsOpen(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.limiter = down{}
		sup := e.clients(supplier)
		cl, key := e.create(sup, "Acme")
		for range 40 {
			e.wantRefused("a wrong key", sup, ip, "lbk_wrong")
		}
		e.wantClient("a right key", sup, ip, key, cl)
	})
}
