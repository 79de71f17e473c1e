package accounts_test

import (
	"context"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestSweep: quotas go once their window and cooldown have passed, refresh
// tokens once expired; what is still current stays.
func TestSweep(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ctx := context.Background()
		old, recent := "+25761234501", "+25761234502"
		e.active(old)
		e.login(old)
		e.clock.Advance(30*24*time.Hour + time.Minute) // past the refresh TTL and the SMS window
		e.active(recent)
		_, kept := e.login(recent)
		before := e.counts()
		if before["sms_quota"] != 2 || before["refresh_tokens"] != 2 {
			t.Fatalf("before the sweep: %v, want 2 quotas and 2 refresh tokens", before)
		}
		if err := e.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		after := e.counts()
		if after["sms_quota"] != 1 || after["refresh_tokens"] != 1 {
			t.Fatalf("after the sweep: %v, want the recent quota and refresh token only", after)
		}
		var phone string
		if err := e.d.QueryRow(ctx, `SELECT phone FROM sms_quota`).Scan(&phone); err != nil || phone != recent {
			t.Errorf("quota left: %q, %v; want %s's", phone, err, recent)
		}
		// The recent account's token was kept: it still refreshes.
		e.refresh(kept).want(t, 200, "")
	})
}
