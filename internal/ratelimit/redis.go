package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// takeScript is GCRA in one atomic step. It reads the clock with TIME so that
// every instance judges by the same clock, and works in microseconds because
// Lua numbers are doubles: Unix microseconds stay exact, nanoseconds do not.
// The allow rule matches decide (n > events never passes: next-burst > tat >=
// now); the script returns the server time and the TAT before this Take so Go
// builds the Result with decide. A written key expires (SET ... PX, atomic
// with the write) when its bucket is full again: from then on it means nothing.
//
// KEYS[1] the key; ARGV[1] interval in µs; ARGV[2] events; ARGV[3] n.
var takeScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = interval * tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if n >= 1 then
  local next = tat + n * interval
  if next - burst <= now then
    local ttl = math.max(1, math.ceil((next - now) / 1000))
    redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', string.format('%.0f', ttl))
  end
end
return {now, tat}
`)

// Redis is a Limiter whose state lives in Redis, so instances sharing the
// server and prefix share limits (LINKBOX_REDIS_URL).
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedis returns a Redis limiter storing each key's TAT under prefix+key.
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	return &Redis{c: c, prefix: prefix}
}

// Take consumes n events for key under l; see Limiter.
func (r *Redis) Take(ctx context.Context, key string, l Limit, n int) (Result, error) {
	if err := check(l, n); err != nil {
		return Result{}, err
	}
	iv := l.interval(time.Microsecond)
	got, err := takeScript.Run(ctx, r.c, []string{r.prefix + key}, iv.Microseconds(), l.Events, n).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis take: %w", err)
	}
	if len(got) != 2 {
		return Result{}, fmt.Errorf("ratelimit: redis take: script returned %d values, want 2", len(got))
	}
	now, tat := got[0]*int64(time.Microsecond), got[1]*int64(time.Microsecond)
	res, _, _ := decide(tat, now, iv, l, n)
	return res, nil
}
