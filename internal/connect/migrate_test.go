package connect_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
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
		if len(msgs) != 2 || msgs[0].ID != "msg_note" || msgs[0].ReadAt.IsZero() ||
			msgs[1].ID != "msg_code" || msgs[1].Code != code || msgs[1].Reference != "login" || msgs[1].Seq != 1 {
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

// fillOldStore makes at url a store migrated up to 0005: an account linked
// as user "100" of app_old, which sent it an OTP of code (its inbox message
// showing the code) and a notification it read, and an OTP of a pair not
// linked.
func fillOldStore(t *testing.T, url, code string) {
	t.Helper()
	d, err := db.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	migrateBefore(t, d, 6)
	keys, err := secrets.New([]byte(strings.Repeat("k", 32))) // as newEnv's
	if err != nil {
		t.Fatal(err)
	}
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

// migrateBefore applies to d, as Migrate would, the migrations numbered
// below version, read from internal/db's source.
func migrateBefore(t *testing.T, d *db.DB, version int) {
	t.Helper()
	dir := filepath.Join("..", "db", "migrations", string(d.Dialect))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = d.InTx(t.Context(), func(tx *db.Tx) error {
		if _, err := tx.Exec(t.Context(), `CREATE TABLE schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		for _, entry := range entries { // sorted by name
			num, name, _ := strings.Cut(strings.TrimSuffix(entry.Name(), ".sql"), "_")
			v, err := strconv.Atoi(num)
			if err != nil || v >= version {
				continue
			}
			body, err := os.ReadFile(filepath.Join(dir, entry.Name()))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(t.Context(), string(body)); err != nil {
				return err
			}
			if _, err := tx.Exec(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)`, v, name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("migrations before %04d: %v", version, err)
	}
}
