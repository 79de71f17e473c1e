package accounts_test

import (
	"context"
	"database/sql"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/db"
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
		var key string
		if err := e.d.QueryRow(ctx, `SELECT quota_key FROM sms_quota`).Scan(&key); err != nil || key != "verify:"+recent {
			t.Errorf("quota left: %q, %v; want verify:%s", key, err, recent)
		}
		// The recent account's token was kept: it still refreshes.
		e.refresh(kept).want(t, 200, "")
	})
}

// TestSweepPendingAccounts: a sign-up never verified goes a day after its
// code expired; one sent a new code, fresh ones and a verified one stay.
func TestSweepPendingAccounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ctx := context.Background()
		lapsed, resent := e.signup(phone(1)), e.signup(phone(2))
		e.code(phone(2))
		verified := e.active(phone(3))
		// Not a state the API makes: the sweep must go by verified_at too.
		if _, err := e.d.Exec(ctx, `UPDATE users SET status = 'pending' WHERE id = ?`, verified); err != nil {
			t.Fatal(err)
		}
		sweep := func(want ...string) {
			t.Helper()
			if err := e.svc.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			wantUsers(t, e, want...)
		}
		e.clock.Advance(10*time.Minute + 24*time.Hour - time.Millisecond) // the code's TTL and the grace
		sweep(lapsed, resent, verified)
		e.clock.Advance(time.Millisecond)
		e.post("/v1/auth/resend", map[string]string{"phone": phone(2)}).want(t, http.StatusAccepted, "")
		fresh, codeless := e.signup(phone(4)), e.signup(phone(5))
		// Nor is an account without a code: its day counts from its creation.
		if _, err := e.d.Exec(ctx, `DELETE FROM verification_codes WHERE user_id = ?`, codeless); err != nil {
			t.Fatal(err)
		}
		sweep(resent, verified, fresh, codeless)
		if n := e.counts()["verification_codes"]; n != 2 {
			t.Errorf("%d verification codes, want the resent and the fresh account's only", n)
		}
		e.post("/v1/auth/verify", map[string]string{"phone": phone(2), "verification_code": e.code(phone(2))}).
			want(t, http.StatusOK, "")
	})
}

// TestSweepPendingRechecks: the delete checks again what the read found, so
// an account verified or sent a new code in between stays, and only those
// still lapsed go.
func TestSweepPendingRechecks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ctx := context.Background()
		verified, resent, lapsed := e.active(phone(1)), e.signup(phone(2)), e.signup(phone(3))
		e.clock.Advance(10*time.Minute + 24*time.Hour)
		e.post("/v1/auth/resend", map[string]string{"phone": phone(2)}).want(t, http.StatusAccepted, "")
		cutoff := e.clock.Now().Add(-24 * time.Hour).UnixMilli()
		if err := accounts.DropLapsedPending(e.svc, ctx, []string{verified, resent, lapsed}, cutoff); err != nil {
			t.Fatal(err)
		}
		wantUsers(t, e, verified, resent)
	})
}

// wantUsers fails t unless the store holds exactly the accounts ids.
func wantUsers(t *testing.T, e *env, ids ...string) {
	t.Helper()
	got, err := db.QueryAll(context.Background(), e.d, func(rows *sql.Rows) (id string, err error) {
		return id, rows.Scan(&id)
	}, `SELECT id FROM users ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("accounts %v, want %v", got, ids)
	}
}
