package httpx_test

import (
	"net/netip"
	"testing"

	"github.com/linkbox/linkbox/internal/httpx"
)

func TestIPKey(t *testing.T) {
	for _, tt := range []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"::ffff:192.0.2.7", "::ffff:192.0.2.7"},
	} {
		if got := httpx.IPKey(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("IPKey(%s) = %s, want %s", tt.ip, got, tt.want)
		}
	}
}
