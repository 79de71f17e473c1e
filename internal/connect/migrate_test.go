package connect_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/secrets"
)

// TestMigrationOTPWrites: migration 0006, which gives otps its link as
// foreign key (rebuilding the table on SQLite), keeps the OTPs of a store
// made before it, drops an OTP whose pair is not linked (the new foreign key
// allows none), and the kept OTP then works and dies with its account.
func TestMigrationOTPWrites(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		const code = "123456"
		fillOldStore(t, url, code)
		ctx := t.Context()
		e := newEnv(t, url, nil) // migrates
		a := account{id: "user_old"}
		if n := e.count(`SELECT COUNT(*) FROM otps`); n != 1 {
			t.Errorf("otps after the migration = %d, want 1: the linked pair's", n)
		}
		msgs := e.messages(a)
		if len(msgs) != 2 || msgs[0].Message != "Hello" || msgs[0].ReadAt.IsZero() ||
			msgs[1].Message != "Your code" || msgs[1].Code != code || msgs[1].Reference != "login" {
			t.Fatalf("inbox after the migration = %+v; want the two messages as they were", msgs)
		}
		key, err := e.svc.RotateAppKey(ctx, "app_old")
		if err != nil {
			t.Fatal(err)
		}
		wantBody(t, "migrated OTP", e.verify(key, "100", "login", code), http.StatusOK, success)
		if got := e.messages(a)[1].Code; got != "" {
			t.Errorf("the used OTP's code %q is still shown", got)
		}
		e.sendOTP(key, "100", "again", a)
		if _, err := e.db.Exec(ctx, `DELETE FROM users WHERE id = ?`, a.id); err != nil {
			t.Fatal(err)
		}
		if n := e.count(`SELECT COUNT(*) FROM otps`); n != 0 {
			t.Errorf("otps after the account's deletion = %d, want 0: they go with its links", n)
		}
	})
}

// TestMigrationInboxIDs: migration 0007, which numbers inbox messages by
// row instead of random ids and per-user sequences, keeps each user's
// messages in their order, and their OTPs still point at their messages:
// the code leaves the inbox when the OTP is used, and the next message comes
// after the old ones.
func TestMigrationInboxIDs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := openAt(t, url, 6)
		keys := testKeys(t)
		now := start.UnixMilli()
		expires := start.Add(5 * time.Minute).UnixMilli()
		mustExec(t, d, `INSERT INTO clients (id, kind, name, return_urls, otp_ttl_ms, created_at)
			VALUES ('app_old', 'app', 'Old', '["https://your-app.com/nofbox-return/"]', 300000, ?)`, now)
		users := []string{"user_a", "user_b"}
		for i, u := range users {
			mustExec(t, d, `INSERT INTO users (id, phone, password_hash, first_name, last_name, email, role, status, created_at, updated_at, inbox_seq)
				VALUES (?, ?, 'x', 'Old', 'User', ?, 'user', 'active', ?, ?, 3)`, u, fmt.Sprint("+44790000000", i), u+"@example.org", now, now)
			mustExec(t, d, `INSERT INTO links (app_id, external_user_id, user_id, created_at) VALUES ('app_old', ?, ?, ?)`, u, u, now)
		}
		// The two accounts' messages were written in turns, and their random
		// ids sort against their order.
		for seq := 1; seq <= 3; seq++ {
			for _, u := range users {
				code := fmt.Sprintf("%s%05d", u[5:], seq) // a00001: six characters
				mustExec(t, d, `INSERT INTO inbox_messages (id, user_id, seq, app_id, app_name, type, message, code_sealed, reference, created_at, expires_at)
					VALUES (?, ?, ?, 'app_old', 'Old', 'otp', ?, ?, ?, ?, ?)`,
					fmt.Sprintf("msg_%s%d", u[5:], 9-seq), u, seq, fmt.Sprint(seq), keys.Seal("inbox-code", []byte(code)),
					fmt.Sprint("ref", seq), now, expires)
			}
		}
		mustExec(t, d, `INSERT INTO otps (app_id, external_user_id, reference, user_id, code_hash, message_id, attempts, created_at, expires_at)
			VALUES ('app_old', 'user_a', 'ref2', 'user_a', ?, 'msg_a7', 0, ?, ?)`,
			keys.Hash("otp", "app_old\x00user_a\x00ref2\x00a00002"), now, expires)
		d.Close()

		e := newEnv(t, url, nil) // migrates
		for _, u := range users {
			var texts []string
			for _, m := range e.messages(account{id: u}) {
				texts = append(texts, m.Message)
			}
			if !slices.Equal(texts, []string{"3", "2", "1"}) {
				t.Errorf("%s's inbox after the migration, newest first: %v, want 3 2 1", u, texts)
			}
		}
		a := account{id: "user_a"}
		if got := e.messages(a)[1].Code; got != "a00002" {
			t.Fatalf("migrated OTP's code %q, want a00002", got)
		}
		key, err := e.svc.RotateAppKey(t.Context(), "app_old")
		if err != nil {
			t.Fatal(err)
		}
		wantBody(t, "migrated OTP", e.verify(key, "user_a", "ref2", "a00002"), http.StatusOK, success)
		if got := e.messages(a)[1].Code; got != "" {
			t.Errorf("the used OTP's code %q is still shown", got)
		}
		e.sendOTP(key, "user_a", "new", a)
		if got := e.messages(a); len(got) != 4 || got[0].Message != "Your code" || got[0].Code == "" {
			t.Errorf("inbox after a send: %+v, want the new OTP first", got)
		}
	})
}

// TestMigrationClients: migration 0014, which moves an app's return URLs and
// OTP lifetime out of clients into connect_apps, keeps every live app
// working as before with its keys, the rotated one included, drops what a
// deleted app had, and leaves clients without the two columns.
func TestMigrationClients(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := openAt(t, url, 13)
		keys := testKeys(t)
		now := start.UnixMilli()
		mustExec(t, d, `INSERT INTO users (id, phone, password_hash, first_name, last_name, email, role, status, created_at, updated_at)
			VALUES ('user_old', '+447900000001', 'x', 'Old', 'User', 'old@example.org', 'user', 'active', ?, ?)`, now, now)
		mustExec(t, d, `INSERT INTO clients (id, kind, name, return_urls, otp_ttl_ms, created_at, deleted_at) VALUES
			('app_live', 'app', 'Live', '["https://shop.example/back/","https://shop.example/cb"]', 60000, ?, NULL),
			('app_gone', 'app', 'Gone', '["https://gone.example/"]', 300000, ?, ?)`, now, now, now)
		mustExec(t, d, `INSERT INTO client_keys (key_hash, client_id, created_at, expires_at) VALUES (?, 'app_live', ?, NULL), (?, 'app_live', ?, ?)`,
			keys.Hash("api-key", "lbk_current"), now, keys.Hash("api-key", "lbk_rotated"), now, start.Add(time.Hour).UnixMilli())
		mustExec(t, d, `INSERT INTO links (app_id, external_user_id, user_id, created_at) VALUES ('app_live', '100', 'user_old', ?)`, now)
		d.Close()

		e := newEnv(t, url, nil) // migrates
		if _, err := e.db.Exec(t.Context(), `SELECT return_urls, otp_ttl_ms FROM clients`); err == nil {
			t.Error("clients still has return_urls and otp_ttl_ms")
		}
		if n := e.count(`SELECT COUNT(*) FROM connect_apps`); n != 1 {
			t.Errorf("connect_apps after the migration: %d rows, want the live app's only", n)
		}
		apps, err := e.svc.ListApps(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 1 || apps[0].ID != "app_live" || apps[0].Name != "Live" || apps[0].OTPTTL != time.Minute ||
			!slices.Equal(apps[0].ReturnURLs, []string{"https://shop.example/back/", "https://shop.example/cb"}) || !apps[0].CreatedAt.Equal(start) {
			t.Fatalf("ListApps after the migration = %+v, want app_live as it was", apps)
		}
		for _, key := range []string{"lbk_current", "lbk_rotated"} {
			e.linkURL(key, "200", "https://shop.example/back/200") // the key and the return URL prefix still work
		}
		a := account{id: "user_old"}
		e.sendOTP("lbk_current", "100", "login", a)
		if got, want := e.newest(a).ExpiresAt, e.clock.Now().Add(time.Minute); !got.Equal(want) {
			t.Errorf("OTP expires at %v, want %v: the app's OTP lifetime", got, want)
		}
		if _, err := e.svc.RotateAppKey(t.Context(), "app_gone"); !errs.Is(err, errs.NotFound, "app_not_found") {
			t.Errorf("RotateAppKey of the deleted app: %v, want NotFound app_not_found", err)
		}
	})
}

// openAt opens the store at url migrated up to version; the caller closes
// it before the service under test opens the store.
func openAt(t *testing.T, url string, version int) *db.DB {
	t.Helper()
	d, err := db.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.MigrateTo(t.Context(), version); err != nil {
		t.Fatal(err)
	}
	return d
}

// testKeys returns a keyring with newEnv's master secret.
func testKeys(t *testing.T) *secrets.Keyring {
	t.Helper()
	keys, err := secrets.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func mustExec(t *testing.T, d *db.DB, query string, args ...any) {
	t.Helper()
	if _, err := d.Exec(t.Context(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// fillOldStore makes at url a store migrated up to 0005: an account linked
// as user "100" of app_old, which sent it an OTP of code (its inbox message
// showing the code) and a notification it read, and an OTP of a pair not
// linked.
func fillOldStore(t *testing.T, url, code string) {
	t.Helper()
	d := openAt(t, url, 5)
	defer d.Close()
	keys := testKeys(t)
	now := start.UnixMilli()
	expires := start.Add(5 * time.Minute).UnixMilli()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO users (id, phone, password_hash, first_name, last_name, email, role, status, created_at, updated_at, inbox_seq)
			VALUES ('user_old', '+447900000001', 'x', 'Old', 'User', 'old@example.org', 'user', 'active', ?, ?, 2)`, []any{now, now}},
		{`INSERT INTO clients (id, kind, name, return_urls, otp_ttl_ms, created_at)
			VALUES ('app_old', 'app', 'Old', '["https://your-app.com/nofbox-return/"]', 300000, ?)`, []any{now}},
		{`INSERT INTO links (app_id, external_user_id, user_id, created_at) VALUES ('app_old', '100', 'user_old', ?)`, []any{now}},
		{`INSERT INTO inbox_messages (id, user_id, seq, app_id, app_name, type, message, code_sealed, reference, created_at, expires_at)
			VALUES ('msg_code', 'user_old', 1, 'app_old', 'Old', 'otp', 'Your code', ?, 'login', ?, ?)`,
			[]any{keys.Seal("inbox-code", []byte(code)), now, expires}},
		{`INSERT INTO inbox_messages (id, user_id, seq, app_id, app_name, type, message, created_at, read_at)
			VALUES ('msg_note', 'user_old', 2, 'app_old', 'Old', 'notification', 'Hello', ?, ?)`, []any{now, now}},
		{`INSERT INTO otps (app_id, external_user_id, reference, user_id, code_hash, message_id, attempts, created_at, expires_at)
			VALUES ('app_old', '100', 'login', 'user_old', ?, 'msg_code', 1, ?, ?)`,
			[]any{keys.Hash("otp", "app_old\x00100\x00login\x00"+code), now, expires}},
		{`INSERT INTO otps (app_id, external_user_id, reference, user_id, code_hash, message_id, attempts, created_at, expires_at)
			VALUES ('app_old', '999', 'login', 'user_old', 'hash', 'msg_note', 0, ?, ?)`, []any{now, expires}},
	} {
		if _, err := d.Exec(t.Context(), q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
}
