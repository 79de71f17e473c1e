package db_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestSQLiteFilesPrivate: a new store's database file and the -wal and -shm
// files SQLite makes beside it are readable by their owner only.
func TestSQLiteFilesPrivate(t *testing.T) {
	d := dbtest.Open(t, dbtest.SQLite(t))
	if _, err := d.Exec(context.Background(), `INSERT INTO settings (key, value) VALUES (?, ?)`, "k", "v"); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(d.File() + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %#o, want 0600", filepath.Base(d.File()+suffix), m)
		}
	}
}

// TestSQLiteOpenWarnsOfOpenFile: a store file created by an older version,
// readable by all, keeps its mode and is reported.
func TestSQLiteOpenWarnsOfOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	var logged bytes.Buffer
	d, err := db.OpenWith(context.Background(), "sqlite:"+path, db.Options{Log: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !strings.Contains(logged.String(), "open to other users") || !strings.Contains(logged.String(), "0644") {
		t.Errorf("no warning about the file's mode; logged:\n%s", logged.String())
	}
}

// TestEraseSetting: an erased setting is gone from the store and, on
// SQLite, from the bytes of its file (a plain DELETE leaves them there).
func TestEraseSetting(t *testing.T) {
	const secret = "erase-me-0123456789abcdefghijklmnopqrstuvwxyz"
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)`, "old_secret", secret); err != nil {
			t.Fatal(err)
		}
		if err := d.EraseSetting(ctx, "old_secret"); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := d.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, "old_secret").Scan(&v); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("after EraseSetting: value %q, err %v; want ErrNotFound", v, err)
		}
		defer d.Close()
		if d.Dialect != db.SQLite {
			return
		}
		// A copy taken now, while the store is open, as an attacker would.
		for _, suffix := range []string{"", "-wal"} {
			b, err := os.ReadFile(d.File() + suffix)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s still holds the erased value", filepath.Base(d.File()+suffix))
			}
		}
	})
}
