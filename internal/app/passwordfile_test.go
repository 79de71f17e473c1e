package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// withStdin runs fn with standard input reading text.
func withStdin(t *testing.T, text string, fn func()) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		w.WriteString(text)
		w.Close()
	}()
	saved := os.Stdin
	os.Stdin = r
	defer func() {
		os.Stdin = saved
		r.Close()
	}()
	fn()
}

// loginStatus logs in on s.
func loginStatus(t *testing.T, s *started, phone, password string) int {
	t.Helper()
	resp, err := http.Post("http://"+s.addr+"/v1/auth/login", "application/json",
		strings.NewReader(`{"phone":"`+phone+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestUsersCreatePasswordFile: users create reads the password from the
// first line of a file, or of standard input for "-", so that it stays out
// of ps; --password still works, and the two together are refused.
func TestUsersCreatePasswordFile(t *testing.T) {
	dbtest.EachInTurn(t, func(t *testing.T, url string) {
		user := func(phone string, extra ...string) []string {
			return append([]string{"users", "create", "--phone", phone, "--first-name", "Ann", "--last-name", "Agent",
				"--email", "ann@example.com"}, extra...)
		}
		file := filepath.Join(t.TempDir(), "password")
		if err := os.WriteFile(file, []byte("from a file 1\r\nsecond line\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := cli(t, url, nil, user("+25761234501", "--password-file", file)...); err != nil {
			t.Fatalf("--password-file %s: %v", file, err)
		}
		withStdin(t, "from standard input\n", func() {
			if err := cli(t, url, nil, user("+25761234502", "--password-file", "-")...); err != nil {
				t.Fatalf("--password-file -: %v", err)
			}
		})
		if err := cli(t, url, nil, user("+25761234503", "--password", "from the flag")...); err != nil {
			t.Fatalf("--password: %v", err)
		}
		empty := filepath.Join(t.TempDir(), "empty")
		if err := os.WriteFile(empty, []byte("\nsecond line\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			user("+25761234504", "--password", "from the flag", "--password-file", file),
			user("+25761234505", "--password-file", empty),
			user("+25761234506", "--password-file", filepath.Join(t.TempDir(), "missing")),
		} {
			if err := cli(t, url, nil, args...); err == nil {
				t.Errorf("%q: created, want an error", args[len(args)-2:])
			}
		}
		s := serve(t, map[string]string{"LINKBOX_DATABASE_URL": url, "LINKBOX_SECRET": strings.Repeat("s", 32)})
		for _, tt := range []struct{ phone, password string }{
			{"+25761234501", "from a file 1"},
			{"+25761234502", "from standard input"},
			{"+25761234503", "from the flag"},
		} {
			if got := loginStatus(t, s, tt.phone, tt.password); got != http.StatusOK {
				t.Errorf("login of %s with %q: %d, want 200", tt.phone, tt.password, got)
			}
		}
	})
}
