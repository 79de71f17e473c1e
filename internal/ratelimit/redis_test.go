package ratelimit

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testRedisClient connects to LINKBOX_TEST_REDIS_URL, failing when it is set
// but unreachable; when unset it tries the local default and skips without it.
func testRedisClient(tb testing.TB) *redis.Client {
	tb.Helper()
	url, required := os.Getenv("LINKBOX_TEST_REDIS_URL"), true
	if url == "" {
		url, required = "redis://127.0.0.1:6379/0", false
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("LINKBOX_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opts)
	tb.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if required {
			tb.Fatalf("Redis at LINKBOX_TEST_REDIS_URL unreachable: %v", err)
		}
		tb.Skipf("no Redis at %s (set LINKBOX_TEST_REDIS_URL to require it): %v", url, err)
	}
	return c
}

// testPrefix returns a key prefix no other test uses, and deletes its keys
// when the test ends.
func testPrefix(tb testing.TB, c *redis.Client) string {
	tb.Helper()
	prefix := "linkbox-test:ratelimit:" + rand.Text() + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

func TestRedisBehaviour(t *testing.T) {
	runBehaviour(t, func(t *testing.T) harness {
		c := testRedisClient(t)
		return harness{lim: NewRedis(c, testPrefix(t, c)), now: time.Now, slack: time.Second}
	})
}

func TestRedisRefillsInRealTime(t *testing.T) {
	c := testRedisClient(t)
	r := NewRedis(c, testPrefix(t, c))
	lim := Limit{Events: 2, Per: 200 * time.Millisecond}
	take(t, r, "k", lim, 2)
	res := take(t, r, "k", lim, 1)
	if res.Allowed || res.RetryAfter <= 0 || res.RetryAfter > 100*time.Millisecond {
		t.Fatalf("after burst: got %+v, want denied with RetryAfter in (0, 100ms]", res)
	}
	// Redis's clock cannot be injected, so waiting for it is the test.
	time.Sleep(res.RetryAfter + 5*time.Millisecond)
	if res := take(t, r, "k", lim, 1); !res.Allowed {
		t.Fatalf("after waiting RetryAfter: got %+v, want allowed", res)
	}
}

func TestRedisSharedAcrossInstances(t *testing.T) {
	c1, c2 := testRedisClient(t), testRedisClient(t)
	prefix := testPrefix(t, c1)
	a, b := NewRedis(c1, prefix), NewRedis(c2, prefix)
	take(t, a, "k", hour, hour.Events-1)
	if res := take(t, b, "k", hour, 1); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("second instance takes the last event: got %+v, want allowed with 0 remaining", res)
	}
	if res := take(t, a, "k", hour, 1); res.Allowed {
		t.Fatalf("first instance after the second emptied the bucket: got %+v, want denied", res)
	}
}

func TestRedisKeysExpireWhenFull(t *testing.T) {
	c := testRedisClient(t)
	prefix := testPrefix(t, c)
	r := NewRedis(c, prefix)
	ctx := context.Background()
	take(t, r, "peek", hour, 0)
	take(t, r, "too-many", hour, hour.Events+1)
	if n, err := c.Exists(ctx, prefix+"peek", prefix+"too-many").Result(); err != nil || n != 0 {
		t.Fatalf("peek and refused take: %d keys exist (err %v), want 0", n, err)
	}
	take(t, r, "k", hour, 2)
	ttl, err := c.PTTL(ctx, prefix+"k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * hourInterval; ttl > want || ttl < want-time.Second {
		t.Errorf("PTTL after taking 2 = %s, want about %s (until the bucket is full)", ttl, want)
	}
}

func TestRedisError(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	if _, err := NewRedis(c, "x:").Take(context.Background(), "k", hour, 1); err == nil {
		t.Fatal("Take against a closed port: got nil error, want one")
	}
}
