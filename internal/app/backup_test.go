package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// runCmd runs one linkbox command with vars, returning its standard output
// and error, and its standard error in the error's place when it fails.
func runCmd(vars map[string]string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	err := app.Run(context.Background(), args, env(vars), &stdout, &stderr)
	if err != nil {
		err = fmt.Errorf("%w (stderr: %s)", err, stderr.String())
	}
	return stdout.String(), err
}

// signups signs accounts up through the Accounts API from four clients
// until stop, keeping the phones whose sign-up was answered 201: the
// acknowledged writes.
type signups struct {
	mu    sync.Mutex
	acked []string
	more  chan struct{} // receives after each acknowledged write
	done  chan struct{} // closed once every writer has returned
	stop  func()
}

func startSignups(t *testing.T, st *apptest.Stack) *signups {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &signups{more: make(chan struct{}, 1), done: make(chan struct{})}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				phone := fmt.Sprintf("+25761%d%05d", g, i)
				if err := signUp(ctx, st.URL, phone); err != nil {
					if ctx.Err() == nil {
						t.Errorf("sign-up %s: %v", phone, err)
					}
					return
				}
				s.mu.Lock()
				s.acked = append(s.acked, phone)
				s.mu.Unlock()
				select {
				case s.more <- struct{}{}:
				default:
				}
			}
		})
	}
	go func() { wg.Wait(); close(s.done) }()
	s.stop = func() { cancel(); <-s.done }
	t.Cleanup(s.stop)
	return s
}

func signUp(ctx context.Context, base, phone string) error {
	body, _ := json.Marshal(map[string]string{"phone": phone, "password": apptest.Password, "first_name": "Load",
		"last_name": "Test", "email": "load@example.com"})
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/v1/auth/signup", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	return nil
}

func (s *signups) snapshot() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.acked)
}

// waitFor waits until at least n sign-ups are acknowledged, failing t if
// the clients stopped first.
func (s *signups) waitFor(t *testing.T, n int) {
	t.Helper()
	for len(s.snapshot()) < n {
		select {
		case <-s.more:
		case <-s.done:
			t.Fatalf("the clients stopped after %d sign-ups", len(s.snapshot()))
		}
	}
}

// phones are the phones of the accounts in the SQLite store at url.
func phones(t *testing.T, url string) map[string]bool {
	t.Helper()
	d, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	list, err := db.QueryAll(context.Background(), d, func(r *sql.Rows) (string, error) {
		var p string
		return p, r.Scan(&p)
	}, `SELECT phone FROM users`)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, p := range list {
		m[p] = true
	}
	return m
}

// TestBackupUnderLoad: on SQLite, "linkbox backup" taken while accounts
// sign up through the running server, restored by "linkbox restore" into
// a new store, holds every sign-up acknowledged before the backup began;
// a restore over the store the server has open is refused, and so is a
// restore of a file that is no Linkbox store, which leaves the store's
// file as it was. On PostgreSQL both commands fail, naming the pg_dump and
// pg_restore commands to run.
func TestBackupUnderLoad(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		path := filepath.Join(t.TempDir(), "it's.db") // a quote for the shell
		vars := map[string]string{"LINKBOX_DATABASE_URL": url}
		if !strings.HasPrefix(url, "sqlite:") {
			_, err := runCmd(vars, "backup", path)
			if want := `pg_dump --format=custom --file='` + strings.ReplaceAll(path, "'", `'\''`) + `' "$LINKBOX_DATABASE_URL"`; err == nil || errors.Is(err, app.ErrUsage) || !strings.Contains(err.Error(), want) {
				t.Errorf("backup on PostgreSQL: %v, want a failure naming %s", err, want)
			}
			_, err = runCmd(vars, "restore", path)
			if want := `pg_restore --clean --if-exists --no-owner --dbname="$LINKBOX_DATABASE_URL" '`; err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("restore on PostgreSQL: %v, want a failure naming %s", err, want)
			}
			return
		}
		st := apptest.Start(t, url, map[string]string{"LINKBOX_RATE_LIMITS": "off"}, app.Options{})
		load := startSignups(t, st)
		load.waitFor(t, 100)
		before := load.snapshot()
		out, err := runCmd(vars, "backup", path, "--json")
		if err != nil {
			t.Fatal(err)
		}
		during := len(load.snapshot()) - len(before)
		load.waitFor(t, len(before)+during+20)
		load.stop()
		var made struct {
			Path    string
			Version int `json:"schema_version"`
		}
		if err := json.Unmarshal([]byte(out), &made); err != nil || made.Path != path || made.Version == 0 {
			t.Errorf("backup --json = %q, %v; want its path and schema version", out, err)
		}

		if _, err := runCmd(vars, "restore", path); err == nil || !strings.Contains(err.Error(), "another process has the store open") {
			t.Errorf("restore over the store being served: %v, want a refusal", err)
		}
		if r := st.Call(t, "GET", "/readyz", "", nil); r.Status != http.StatusOK {
			t.Errorf("/readyz after a refused restore: %d", r.Status)
		}

		restored := maps.Clone(vars)
		restored["LINKBOX_DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "linkbox.db")
		if _, err := runCmd(restored, "restore", path); err != nil {
			t.Fatal(err)
		}
		got := phones(t, restored["LINKBOX_DATABASE_URL"])
		for _, p := range before {
			if !got[p] {
				t.Fatalf("the restored store lacks %s, acknowledged before the backup began (%d then, %d during it)", p, len(before), during)
			}
		}
		t.Logf("%d sign-ups acknowledged before the backup, %d while it ran; %d accounts restored", len(before), during, len(got))

		file := strings.TrimPrefix(restored["LINKBOX_DATABASE_URL"], "sqlite:")
		was, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		bad := filepath.Join(t.TempDir(), "bad.db")
		noise := make([]byte, 32<<10)
		rand.Read(noise)
		if err := os.WriteFile(bad, noise, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := runCmd(restored, "restore", bad); err == nil || !strings.Contains(err.Error(), "not an intact Linkbox store") {
			t.Errorf("restore of random bytes: %v, want a refusal", err)
		}
		if now, _ := os.ReadFile(file); !bytes.Equal(now, was) {
			t.Error("a refused restore changed the store")
		}
	})
}
