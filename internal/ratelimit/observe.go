package ratelimit

import (
	"context"
	"strings"
)

// Observed returns a Limiter that takes from l and tells refused the name
// of every limit that refused a take or a peek, for metrics. The name is
// the key's first two ":"-separated parts ("auth:login", "numbers:rent",
// "sms:country"): keys name their limit first and their subject after, so
// the names are few and never carry an address, a phone or an id.
func Observed(l Limiter, refused func(limit string)) Limiter {
	return observed{l, refused}
}

type observed struct {
	Limiter
	refused func(string)
}

func (o observed) Take(ctx context.Context, key string, l Limit, n int) (Result, error) {
	res, err := o.Limiter.Take(ctx, key, l, n)
	if err == nil && !res.Allowed {
		o.refused(Name(key))
	}
	return res, err
}

// Name is the limit a key belongs to: its first two ":"-separated parts.
func Name(key string) string {
	first, rest, _ := strings.Cut(key, ":")
	second, _, _ := strings.Cut(rest, ":")
	if second == "" {
		return first
	}
	return first + ":" + second
}
