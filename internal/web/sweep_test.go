package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestSweep deletes expired page sessions and keeps the live ones.
func TestSweep(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ctx := context.Background()
		e.browser().login(e.user())
		e.clock.Advance(7*24*time.Hour + time.Minute) // past the session lifetime
		live := e.browser()
		live.login(e.user())
		if err := e.web.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := e.db.QueryRow(ctx, `SELECT COUNT(*) FROM web_sessions`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d sessions after the sweep (%v), want the live one", n, err)
		}
		if p := live.get("/account"); p.status != 200 {
			t.Errorf("live session: GET /account = %d, want 200", p.status)
		}
	})
}
