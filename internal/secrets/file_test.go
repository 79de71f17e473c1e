package secrets

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const fileSecret = "0123456789abcdef0123456789abcdef-file"

// writeSecret writes content to a file of mode in a new directory.
func writeSecret(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "linkbox.secret")
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return path
}

func TestReadFile(t *testing.T) {
	for _, content := range []string{fileSecret, fileSecret + "\n", fileSecret + "\r\n"} {
		got, err := ReadFile(writeSecret(t, content, 0o600))
		if err != nil || got != fileSecret {
			t.Errorf("ReadFile(%q) = %q, %v; want %q", content, got, err, fileSecret)
		}
	}
}

func TestReadFileRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"readable by all", fileSecret, 0o644, "chmod 600"},
		{"readable by the group", fileSecret, 0o640, "chmod 600"},
		{"writable by the group", fileSecret, 0o620, "chmod 600"},
		{"too short", "short\n", 0o600, "at least 32"},
	} {
		if _, err := ReadFile(writeSecret(t, tt.content, tt.mode)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one saying %q", tt.name, err, tt.want)
		}
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err %v, want fs.ErrNotExist", err)
	}
}

// TestCreateFileRace: processes starting together on a fresh store end
// with one secret, the first one written, in a file of mode 0600, and no
// temporary file left.
func TestCreateFileRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "linkbox.secret")
	got := make([]string, 8)
	errs := make([]error, len(got))
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i], errs[i] = CreateFile(path, NewMaster()) })
	}
	wg.Wait()
	want, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if errs[i] != nil || got[i] != want {
			t.Errorf("CreateFile %d = %q, %v; want the file's %q", i, got[i], errs[i], want)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("mode %#o, want 0600", m)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the directory, want the secret alone: %v", len(ents), ents)
	}
}
