package inbox_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/inbox"
)

// TestMigrationSources: migration 0013, which gives messages a source of a
// kind and an open set of types (rebuilding the table on SQLite), keeps the
// messages of a store made before it under their numbers, so under their
// ids, and shows them byte for byte as before; new messages are numbered
// after them, of any type.
func TestMigrationSources(t *testing.T) {
	const before = 12 // the last migration before 0013
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		otpNum, noteNum := fillStoreAt(t, url, before)
		e := newEnv(t, url, options{}) // migrates
		want := `{"object":"list","data":[` +
			`{"id":"` + e.svc.IDOf(noteNum) + `","type":"notification","app":{"id":"app_old","name":"Old"},"message":"Hello",` +
			`"created_at":"2025-03-14T09:26:53Z","read_at":"2025-03-14T09:26:54Z"},` +
			`{"id":"` + e.svc.IDOf(otpNum) + `","type":"otp","app":{"id":"app_old","name":"Old"},"message":"Your code",` +
			`"code":"123456","reference":"login","created_at":"2025-03-14T09:26:53Z","expires_at":"2025-03-14T09:31:53Z","read_at":null}` +
			`],"has_more":false}` + "\n"
		if status, body := e.do(t, "GET", "/v1/inbox/messages", "user_a"); status != http.StatusOK || string(body) != want {
			t.Fatalf("user_a's inbox after the migration: %d\n got %s\nwant %s", status, body, want)
		}
		sms := e.add(t, inbox.NewMessage{UserID: "user_a", Source: inbox.Source{Kind: "rental", ID: "rent_1", Name: "+44 7700 900123"},
			Type: "sms", Message: "Your code is 654321"})
		if n := e.svc.NumOf(sms); n <= noteNum {
			t.Errorf("a new message is number %d, want one after the old ones (up to %d)", n, noteNum)
		}
		msgs, err := e.svc.List(ctx, "user_a", 0, "")
		if err != nil || len(msgs) != 3 || msgs[0].ID != sms || msgs[0].Source.Kind != "rental" || msgs[1].Source.Kind != inbox.SourceApp {
			t.Fatalf("user_a's inbox after an SMS: %+v, %v; want the SMS, then the old messages from an app", msgs, err)
		}
	})
}

// fillStoreAt migrates the store at url up to version and writes, in that
// version's schema, an OTP and a read notification to user_a, and between
// them two notifications to user_b, the second deleted; it returns the
// numbers of user_a's.
func fillStoreAt(t *testing.T, url string, version int) (otpNum, noteNum int64) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.MigrateTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"user_a", "user_b"} {
		mustExec(t, d, `INSERT INTO users (id, phone, password_hash, first_name, last_name, email, role, status, created_at, updated_at)
			VALUES (?, ?, 'x', 'Old', 'User', ?, 'user', 'active', 0, 0)`, u, "+4479000000"+u[5:], u+"@example.org")
	}
	now, expires := start.UnixMilli(), start.Add(5*time.Minute).UnixMilli()
	insert := func(user, typ, message string, code, reference, expiresAt, readAt any) (num int64) {
		err := d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
			return tx.QueryRow(ctx, `INSERT INTO inbox_messages
				(user_id, app_id, app_name, type, message, code_sealed, reference, created_at, expires_at, read_at)
				VALUES (?, 'app_old', 'Old', ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				user, typ, message, code, reference, now, expiresAt, readAt).Scan(&num)
		})
		if err != nil {
			t.Fatal(err)
		}
		return num
	}
	otpNum = insert("user_a", "otp", "Your code", testKeys(t).Seal("inbox-code", []byte("123456")), "login", expires, nil)
	insert("user_b", "notification", "Not yours", nil, nil, nil, nil)
	gone := insert("user_b", "notification", "Gone", nil, nil, nil, nil)
	noteNum = insert("user_a", "notification", "Hello", nil, nil, nil, now+1000)
	// A gap in the numbers, which a renumbering would close.
	mustExec(t, d, `DELETE FROM inbox_messages WHERE id = ?`, gone)
	return otpNum, noteNum
}

func mustExec(t *testing.T, d *db.DB, query string, args ...any) {
	t.Helper()
	if _, err := d.Exec(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
