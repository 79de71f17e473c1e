package ratelimit

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchLimit never runs dry during a benchmark, so every Take writes.
var benchLimit = Limit{Events: 1 << 30, Per: time.Hour}

func BenchmarkMemoryTakeParallelManyKeys(b *testing.B) {
	m := NewMemory(nil)
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = "ip:" + strconv.Itoa(i)
	}
	var worker atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(worker.Add(1)) * 7919
		for pb.Next() {
			m.Take(context.Background(), keys[i%len(keys)], benchLimit, 1)
			i++
		}
	})
}

func BenchmarkMemoryTakeParallelHotKey(b *testing.B) {
	m := NewMemory(nil)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Take(context.Background(), "hot", benchLimit, 1)
		}
	})
}

func BenchmarkRedisTake(b *testing.B) {
	c := testRedisClient(b)
	r := NewRedis(c, testPrefix(b, c))
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.Take(ctx, "k", benchLimit, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedisTakeParallel(b *testing.B) {
	c := testRedisClient(b)
	r := NewRedis(c, testPrefix(b, c))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Take(context.Background(), "k", benchLimit, 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
