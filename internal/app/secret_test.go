package app_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/secrets"
)

// startWith builds the server over databaseURL with vars (LINKBOX_SECRET
// unset unless vars set it) and closes it at once: what it did at start is
// what these tests look at.
func startWith(t *testing.T, databaseURL string, vars map[string]string, log io.Writer) error {
	t.Helper()
	all := map[string]string{"LINKBOX_DATABASE_URL": databaseURL, "LINKBOX_SECRET": ""}
	for k, v := range vars {
		all[k] = v
	}
	cfg, err := config.FromEnv(env(all)).Parse()
	if err != nil {
		return err
	}
	srv, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(log, nil)), app.Options{Hash: &apptest.CheapHash})
	if err != nil {
		return err
	}
	return srv.Close()
}

// secretDir is where a generated secret goes for databaseURL: beside the
// SQLite store, or the working directory, made a temporary one, on
// PostgreSQL.
func secretDir(t *testing.T, databaseURL string) string {
	t.Helper()
	if path, ok := strings.CutPrefix(databaseURL, "sqlite:"); ok {
		return filepath.Dir(path)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

// storedSecret returns the master secret older versions kept in the
// store's settings, "" if none.
func storedSecret(t *testing.T, databaseURL string) string {
	t.Helper()
	d := openStore(t, databaseURL)
	defer d.Close()
	var v string
	err := d.QueryRow(context.Background(), `SELECT value FROM settings WHERE key = 'master_secret'`).Scan(&v)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		t.Fatal(err)
	}
	return v
}

// storeSecret puts secret in the store's settings, as older versions did.
func storeSecret(t *testing.T, databaseURL, secret string) {
	t.Helper()
	d := openStore(t, databaseURL)
	defer d.Close()
	if _, err := d.Exec(context.Background(), `INSERT INTO settings (key, value) VALUES ('master_secret', ?)`, secret); err != nil {
		t.Fatal(err)
	}
}

func openStore(t *testing.T, databaseURL string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// readSecret returns the secret file's content, failing t unless the file
// is private.
func readSecret(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("secret file: %v", err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("%s: mode %#o, want 0600", path, m)
	}
	s, err := secrets.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertNotInFiles fails t if the SQLite store's files hold secret: a copy
// of them is then not a copy of the secret.
func assertNotInFiles(t *testing.T, databaseURL, secret string) {
	t.Helper()
	path, ok := strings.CutPrefix(databaseURL, "sqlite:")
	if !ok {
		return
	}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the master secret", filepath.Base(path+suffix))
		}
	}
}

// TestSecretGeneratedOutsideTheStore: with no secret configured, the first
// start writes one to linkbox.secret (0600), never to the store, and the
// next start uses it.
func TestSecretGeneratedOutsideTheStore(t *testing.T) {
	dbtest.EachInTurn(t, func(t *testing.T, url string) {
		file := filepath.Join(secretDir(t, url), "linkbox.secret")
		if err := startWith(t, url, nil, io.Discard); err != nil {
			t.Fatal(err)
		}
		secret := readSecret(t, file)
		if err := startWith(t, url, nil, io.Discard); err != nil {
			t.Fatalf("second start: %v", err)
		}
		if again := readSecret(t, file); again != secret {
			t.Error("the second start changed the secret file")
		}
		if stored := storedSecret(t, url); stored != "" {
			t.Error("the store's settings hold the master secret")
		}
		assertNotInFiles(t, url, secret)
	})
}

// TestStoredSecretMovedOut: a store that an older version gave a secret
// (its signing keys sealed under it) starts with that secret, now in its
// own file, and no longer holds it, neither in its settings nor, on
// SQLite, in the bytes of its files — from which the review minted a
// valid access token.
func TestStoredSecretMovedOut(t *testing.T) {
	dbtest.EachInTurn(t, func(t *testing.T, url string) {
		old := secrets.NewMaster()
		if err := startWith(t, url, map[string]string{"LINKBOX_SECRET": old}, io.Discard); err != nil {
			t.Fatal(err)
		}
		storeSecret(t, url, old)
		vars := map[string]string{}
		file := filepath.Join(secretDir(t, url), "linkbox.secret")
		if !strings.HasPrefix(url, "sqlite:") { // a named file, created to receive it
			file = filepath.Join(t.TempDir(), "secret")
			vars["LINKBOX_SECRET_FILE"] = file
		}
		if err := startWith(t, url, vars, io.Discard); err != nil {
			t.Fatalf("start after the move: %v", err)
		}
		if got := readSecret(t, file); got != old {
			t.Errorf("secret file holds %q, want the stored secret %q", got, old)
		}
		if stored := storedSecret(t, url); stored != "" {
			t.Error("the stored secret is still in the settings")
		}
		assertNotInFiles(t, url, old)
	})
}

// TestConfiguredSecretWinsOverStored: LINKBOX_SECRET differing from a
// secret kept in the store is kept; the stored one is deleted, with a
// warning, and no secret file is written.
func TestConfiguredSecretWinsOverStored(t *testing.T) {
	dbtest.EachInTurn(t, func(t *testing.T, url string) {
		dir := secretDir(t, url)
		configured := secrets.NewMaster()
		storeSecret(t, url, secrets.NewMaster())
		var log syncBuffer
		if err := startWith(t, url, map[string]string{"LINKBOX_SECRET": configured}, &log); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), "differs from the configured one") {
			t.Errorf("no warning of the differing stored secret; logged:\n%s", log.String())
		}
		if stored := storedSecret(t, url); stored != "" {
			t.Error("the stored secret is still in the settings")
		}
		if _, err := os.Stat(filepath.Join(dir, "linkbox.secret")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a secret file was written beside LINKBOX_SECRET (stat: %v)", err)
		}
	})
}

// TestSecretFileRefused: a secret file others can read, a named file that
// is missing and two sources at once stop the start with a clear error.
func TestSecretFileRefused(t *testing.T) {
	open := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(open, []byte(secrets.NewMaster()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"readable by others", map[string]string{"LINKBOX_SECRET_FILE": open}, "chmod 600"},
		{"missing", map[string]string{"LINKBOX_SECRET_FILE": filepath.Join(t.TempDir(), "none")}, "no such file"},
		{"both", map[string]string{"LINKBOX_SECRET_FILE": open, "LINKBOX_SECRET": secrets.NewMaster()}, "both set"},
		{"unknown sync", map[string]string{"LINKBOX_SQLITE_SYNC": "off"}, "want full or normal"},
	} {
		err := startWith(t, dbtest.SQLite(t), tt.vars, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one saying %q", tt.name, err, tt.want)
		}
	}
}
