package httpx

import "net/netip"

// IPKey names a client in per-IP rate limits: its IPv4 address, or the /64
// of its IPv6 address. One subscriber usually holds a whole /64, so keying
// on the full address would give one client 2^64 buckets.
func IPKey(ip netip.Addr) string {
	if ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
