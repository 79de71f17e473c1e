package connect_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
)

// TestSweepDeadRows: the sweep deletes the OTPs and link tokens dead for
// over a day, and erases the swept OTPs' codes; younger dead rows stay, so
// that verify still answers OTP expired.
func TestSweepDeadRows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App") // OTPs live 5 minutes
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		oldCode := e.sendOTP(key, "100", "old", a)
		oldToken := tokenOf(t, e.linkURL(key, "200", returnTo))
		e.clock.Advance(20 * time.Minute)
		recentCode := e.sendOTP(key, "100", "recent", a)
		recentToken := tokenOf(t, e.linkURL(key, "300", returnTo))
		// The old link token (15 minutes) is now dead for a day and 1 ms,
		// the old OTP for 10 minutes more; the recent ones for less.
		e.clock.Advance(24*time.Hour - 5*time.Minute + time.Millisecond)
		wantError(t, "old OTP before the sweep", e.verify(key, "100", "old", oldCode), http.StatusGone, "OTP expired")

		if err := e.svc.Sweep(t.Context()); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM otps WHERE reference = 'old'`); n != 0 {
			t.Errorf("the OTP dead for over a day is still stored")
		}
		if n := e.count(`SELECT COUNT(*) FROM inbox_messages WHERE reference = 'old' AND code_sealed IS NULL`); n != 1 {
			t.Errorf("the swept OTP's code is still in the inbox")
		}
		if n := e.count(`SELECT COUNT(*) FROM inbox_messages WHERE reference = 'recent' AND code_sealed IS NOT NULL`); n != 1 {
			t.Errorf("the code of an OTP dead for less than a day was erased")
		}
		wantError(t, "swept OTP", e.verify(key, "100", "old", oldCode), http.StatusBadRequest, "Invalid OTP code")
		wantError(t, "kept dead OTP", e.verify(key, "100", "recent", recentCode), http.StatusGone, "OTP expired")
		if _, err := e.svc.PendingLink(t.Context(), oldToken); !errs.Is(err, errs.NotFound, "link_not_found") {
			t.Errorf("PendingLink of the swept token: %v, want NotFound link_not_found", err)
		}
		if _, err := e.svc.PendingLink(t.Context(), recentToken); !errs.Is(err, errs.Gone, "link_expired") {
			t.Errorf("PendingLink of the kept dead token: %v, want Gone link_expired", err)
		}
	})
}

// TestSweepBatches: a sweep with more dead rows than several of its batches
// goes on until none is left, and leaves the live rows.
func TestSweepBatches(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		app, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		live := e.sendOTP(key, "100", "live", a)
		e.linkURL(key, "200", returnTo)
		const dead = 2*500 + 1 // the sweep deletes 500 rows per transaction
		died := e.clock.Now().Add(-24*time.Hour - time.Millisecond).UnixMilli()
		err := e.db.InTx(t.Context(), func(ctx context.Context, tx *db.Tx) error {
			for i := range dead {
				ref := fmt.Sprintf("ref-%d", i)
				var msgNum int64
				if err := tx.QueryRow(t.Context(), `INSERT INTO inbox_messages
					(user_id, source_kind, source_id, source_name, type, message, code_sealed, reference, created_at, expires_at)
					VALUES (?, 'app', ?, 'App', 'otp', 'Your code', 'sealed', ?, ?, ?) RETURNING id`,
					a.id, app.ID, ref, died, died).Scan(&msgNum); err != nil {
					return err
				}
				if _, err := tx.Exec(t.Context(), `INSERT INTO otps
					(app_id, external_user_id, reference, user_id, code_hash, message_id, attempts, created_at, expires_at)
					VALUES (?, '100', ?, ?, 'hash', ?, 0, ?, ?)`, app.ID, ref, a.id, msgNum, died, died); err != nil {
					return err
				}
				if _, err := tx.Exec(t.Context(), `INSERT INTO link_tokens
					(token_hash, token_sealed, app_id, external_user_id, return_url, created_at, expires_at)
					VALUES (?, 'sealed', ?, '300', ?, ?, ?)`, fmt.Sprintf("hash%07d", i), app.ID, returnTo, died, died); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		if err := e.svc.Sweep(t.Context()); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM otps`); n != 1 {
			t.Errorf("otps after the sweep = %d, want 1 (the live one)", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM inbox_messages WHERE code_sealed IS NOT NULL`); n != 1 {
			t.Errorf("codes left in the inbox = %d, want 1 (the live OTP's)", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM link_tokens`); n != 2 {
			t.Errorf("link tokens after the sweep = %d, want 2 (the one just used by the link, and the pending one)", n)
		}
		wantBody(t, "live OTP", e.verify(key, "100", "live", live), http.StatusOK, success)
	})
}
