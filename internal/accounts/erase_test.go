package accounts_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
)

// streamRevoker stands for the inbox: it records a revocation in the
// revoking transaction, as the inbox does, or fails when told to.
type streamRevoker struct{ fail bool }

func (r streamRevoker) RevokeSessions(ctx context.Context, tx *db.Tx, userID, session string) error {
	if r.fail {
		return errors.New("revoker down")
	}
	_, err := tx.Exec(ctx, `INSERT INTO stream_revocations (user_id, session, created_at) VALUES (?, ?, 0)`, userID, session)
	return err
}

// eraser stands for a surface's Eraser: it records the accounts it is
// asked to erase, checking that each is still there, or fails when told to.
type eraser struct {
	d    *db.DB
	fail bool
	saw  []string
}

func (e *eraser) EraseUser(ctx context.Context, tx *db.Tx, userID string) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE id = ?`, userID).Scan(&n); err != nil || n != 1 {
		return fmt.Errorf("the account is not there for the eraser: %d, %v", n, err)
	}
	e.saw = append(e.saw, userID)
	if e.fail {
		return errors.New("eraser down")
	}
	return nil
}

// fill gives the account id a row in every table that holds an account's
// data, directly: the surfaces that write them are not this package's.
func fill(t *testing.T, d *db.DB, id string) {
	t.Helper()
	const far = int64(1) << 50
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO clients (id, kind, name, created_at) VALUES (?, 'app', 'Shop', 0)`, []any{"app-" + id}},
		{`INSERT INTO links (app_id, external_user_id, user_id, created_at) VALUES (?, 'ext', ?, 0)`, []any{"app-" + id, id}},
		{`INSERT INTO otps (app_id, external_user_id, reference, user_id, code_hash, message_id, created_at, expires_at)
			VALUES (?, 'ext', 'ref', ?, 'h', 1, 0, ?)`, []any{"app-" + id, id, far}},
		{`INSERT INTO inbox_messages (user_id, source_kind, source_id, source_name, type, message, created_at)
			VALUES (?, 'app', 'app', 'Shop', 'notification', 'hello', 0)`, []any{id}},
		{`INSERT INTO web_sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, 0, ?)`, []any{"ws-" + id, id, far}},
		{`INSERT INTO verification_codes (user_id, purpose, code_hash, sent_at, expires_at) VALUES (?, 'reset', 'h', 0, ?)`, []any{id, far}},
		{`INSERT INTO numbers_accounts (user_id, approved, credits, free_credits_used, updated_at) VALUES (?, 1, 10, 0, 0)`, []any{id}},
		{`INSERT INTO numbers_ledger (id, user_id, seq, type, credits, balance_after, reason, created_at)
			VALUES (?, ?, 1, 'grant', 10, 10, 'test', 0)`, []any{"led-" + id, id}},
		{`INSERT INTO numbers_pool (id, number, country, operator, services, rental_id, created_at)
			VALUES (?, ?, 'bi', 'any', ',tg,', ?, 0)`, []any{"num-" + id, "+1" + id, "ren-" + id}},
		{`INSERT INTO numbers_rentals (id, user_id, number_id, number, service, country, operator, cost_credits, status,
			refunded, created_at, cancelable_at, expires_at) VALUES (?, ?, ?, ?, 'tg', 'bi', 'any', 1, 'waiting', 0, 0, 0, ?)`,
			[]any{"ren-" + id, id, "num-" + id, "+1" + id, far}},
		{`INSERT INTO numbers_sms (id, rental_id, sender, text, code, received_at) VALUES (?, ?, 'x', 'code 123456', '123456', 0)`,
			[]any{"sms-" + id, "ren-" + id}},
		{`INSERT INTO idempotency_keys (scope, idem_key, body_hash, status, response, created_at) VALUES (?, 'k', 'h', 200, '{}', 0)`, []any{id}},
	} {
		if _, err := d.Exec(context.Background(), q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
}

// holdings counts the rows of the account id in each table with a user_id,
// and its rentals' SMS, which the cascade reaches through the rentals. What
// no cascade reaches is the erasers' (internal/app tests them wired).
func holdings(t *testing.T, d *db.DB, id string) map[string]int {
	t.Helper()
	queries := map[string]string{
		"numbers_sms": `SELECT COUNT(*) FROM numbers_sms WHERE rental_id = 'ren-' || ?`,
	}
	tables := dbtest.TablesWithColumn(t, d, "user_id")
	if len(tables) < 5 {
		t.Fatalf("tables with user_id: %v", tables)
	}
	for _, table := range tables {
		queries[table] = `SELECT COUNT(*) FROM ` + table + ` WHERE user_id = ?`
	}
	n := map[string]int{}
	for name, q := range queries {
		var c int
		if err := d.QueryRow(context.Background(), q, id).Scan(&c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n[name] = c
	}
	return n
}

func TestDeleteUserErasesEverything(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ctx := context.Background()
		var logs bytes.Buffer
		svc, err := accounts.NewService(ctx, e.d, e.keys, e.outbx, e.cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		svc.AddRevoker(streamRevoker{})
		erased := &eraser{d: e.d}
		svc.AddEraser(erased)
		gone, kept := e.active(phone(1)), e.active(phone(2))
		access, refresh := e.login(phone(1))
		e.login(phone(2))
		fill(t, e.d, gone)
		fill(t, e.d, kept)
		before := holdings(t, e.d, gone)
		for name, c := range before {
			if c == 0 && name != "stream_revocations" {
				t.Fatalf("the fixture gives the account no row in %s: fill it, and erase it in DeleteUser if the cascade misses it", name)
			}
		}
		keptBefore := holdings(t, e.d, kept)

		if err := svc.DeleteUser(ctx, gone); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		for name, c := range holdings(t, e.d, gone) {
			want := 0
			if name == "stream_revocations" {
				want = 1 // the account's event streams are told to close
			}
			if c != want {
				t.Errorf("%s: %d rows of the deleted account, want %d", name, c, want)
			}
		}
		for name, c := range holdings(t, e.d, kept) {
			if c != keptBefore[name] {
				t.Errorf("%s: the other account has %d rows, had %d", name, c, keptBefore[name])
			}
		}
		if len(erased.saw) != 1 || erased.saw[0] != gone {
			t.Errorf("the eraser saw %v, want %s, its row still there", erased.saw, gone)
		}
		e.me(access).want(t, http.StatusUnauthorized, "invalid_token")
		e.refresh(refresh).want(t, http.StatusUnauthorized, "invalid_token")
		e.post("/v1/auth/login", loginBody(phone(1), password)).want(t, http.StatusUnauthorized, "invalid_credentials")
		if !strings.Contains(logs.String(), "user_id="+gone) || strings.Contains(logs.String(), strings.TrimPrefix(phone(1), "+")) {
			t.Errorf("log %q: want the deletion with the user id and without the phone", logs.String())
		}
		// The phone is free for a new account, once the SMS cooldown that
		// the deletion leaves in place has passed.
		e.post("/v1/auth/signup", signupBody(phone(1))).want(t, http.StatusTooManyRequests, "rate_limited")
		e.clock.Advance(time.Minute)
		e.signup(phone(1))
	})
}

func TestDeleteUserIsOneTransaction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		svc := e.service()
		revoker := streamRevoker{fail: true}
		svc.AddRevoker(&revoker)
		failing := &eraser{d: e.d, fail: true}
		svc.AddEraser(failing)
		id := e.active(phone(1))
		fill(t, e.d, id)
		before := holdings(t, e.d, id)
		for _, what := range []string{"revoker", "eraser"} {
			if err := svc.DeleteUser(context.Background(), id); err == nil {
				t.Fatalf("DeleteUser with a failing %s: nil error", what)
			}
			for name, c := range holdings(t, e.d, id) {
				if c != before[name] {
					t.Errorf("failing %s: %s: %d rows after a failed deletion, want %d", what, name, c, before[name])
				}
			}
			revoker.fail = false
		}
		if len(failing.saw) != 1 {
			t.Errorf("the eraser ran %d times, want once: the revoker's failure comes first", len(failing.saw))
		}
	})
}

func TestDeleteUserUnknown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		for _, id := range []string{"user_nobody", ""} {
			if err := e.svc.DeleteUser(context.Background(), id); !errs.Is(err, errs.NotFound, "user_not_found") {
				t.Errorf("DeleteUser(%q): %v, want user_not_found", id, err)
			}
		}
	})
}

func TestUserByPhone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		ctx := context.Background()
		id := e.active(phone(1))
		if u, err := e.svc.UserByPhone(ctx, "+257 612 00001"); err != nil || u.ID != id {
			t.Errorf("UserByPhone spaced: %+v, %v; want %s", u, err, id)
		}
		if _, err := e.svc.UserByPhone(ctx, phone(2)); !errs.Is(err, errs.NotFound, "user_not_found") {
			t.Errorf("UserByPhone unknown: %v, want user_not_found", err)
		}
		if _, err := e.svc.UserByPhone(ctx, "12"); !errs.Is(err, errs.Invalid, "invalid_phone") {
			t.Errorf("UserByPhone malformed: %v, want invalid_phone", err)
		}
	})
}
