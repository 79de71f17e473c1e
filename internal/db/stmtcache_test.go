package db

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestStmtCache: a query with arguments is prepared once and served from
// the cache after; one without is never cached; the cache stops at maxStmts
// while still serving what it holds; a miss inside a transaction is
// prepared in the background, not waited for.
func TestStmtCache(t *testing.T) {
	pool, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	ctx := context.Background()
	c := &stmtCache{}
	t.Cleanup(c.close)
	args := []any{1}

	first := c.get(ctx, pool, "SELECT ?", args)
	if first == nil || c.get(ctx, pool, "SELECT ?", args) != first {
		t.Fatalf("a query with arguments: %p then another; want one statement, prepared once", first)
	}
	if c.get(ctx, pool, "SELECT 1", nil) != nil {
		t.Error("a query without arguments was cached")
	}
	for i := int(c.n.Load()); i < maxStmts; i++ {
		if c.get(ctx, pool, fmt.Sprintf("SELECT ? + %d", i), args) == nil {
			t.Fatalf("statement %d of %d not cached", i+1, maxStmts)
		}
	}
	if c.get(ctx, pool, "SELECT ? + 'over'", args) != nil || c.n.Load() != maxStmts {
		t.Errorf("the cache grew past %d: %d", maxStmts, c.n.Load())
	}
	if c.get(ctx, pool, "SELECT ?", args) != first {
		t.Error("a full cache stopped serving what it holds")
	}

	bg := &stmtCache{}
	t.Cleanup(bg.close)
	if bg.cached(pool, "SELECT ? * 2", args) != nil {
		t.Fatal("cached prepared on the caller's goroutine")
	}
	deadline := time.Now().Add(5 * time.Second)
	for bg.load(pool, "SELECT ? * 2") == nil {
		if time.Now().After(deadline) {
			t.Fatal("the background prepare never landed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
