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

// redisTimeout bounds each step of a call to Redis: dialing, writing,
// reading, waiting for a pooled connection. A limit is checked in front of
// most requests, and a Redis that is down must not stall them: with
// go-redis's defaults (5 s dial, 5 dial attempts, 3 retries, 5 s reads) one
// Take took 1.7 s against a closed port and 5 s against a server that
// accepts and never answers. A healthy Redis answers the script in well
// under a millisecond; one that needs more than this is treated as down,
// and Resilient answers from memory.
const redisTimeout = 50 * time.Millisecond

// ClientOptions parses a redis:// URL (LINKBOX_REDIS_URL) into options for a
// limiter's client: dial, read, write and pool timeouts of 50 ms, and a
// single attempt per call, where the URL does not set its own. Retrying is
// Resilient's job, later, not the request's, now.
func ClientOptions(rawURL string) (*redis.Options, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	for _, d := range []*time.Duration{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout} {
		if *d == 0 {
			*d = redisTimeout
		}
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = -1 // 0 means go-redis's default, 3 retries
	}
	o.DialerRetries = 1 // a count of attempts: one dial, no backoff between
	return o, nil
}

// Redis is a Limiter whose state lives in Redis, so instances sharing the
// server and prefix share limits (LINKBOX_REDIS_URL). It returns Redis's
// errors; Resilient puts it behind a circuit breaker with a memory fallback.
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

// Ping asks Redis whether it answers.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis ping: %w", err)
	}
	return nil
}
