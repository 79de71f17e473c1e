package secrets

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// minLength is the shortest master secret accepted, in bytes.
const minLength = 32

// maxFileSize bounds what ReadFile reads: a secret is a line.
const maxFileSize = 64 << 10

// ReadFile returns the master secret held in the file at path, without its
// trailing newline. Like ssh with a private key, it refuses a file that
// group or others may open: whoever reads the secret can mint access tokens
// and, with a copy of the store, recover pending codes. A missing file is
// an error that wraps fs.ErrNotExist.
func ReadFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("secrets: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("secrets: %w", err)
	}
	// Windows reports 0666 for every writable file: its access is in ACLs.
	if m := fi.Mode().Perm(); m&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("secrets: %s is open to other users (mode %#o): chmod 600 it", path, m)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize))
	if err != nil {
		return "", fmt.Errorf("secrets: read %s: %w", path, err)
	}
	secret := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if len(secret) < minLength {
		return "", fmt.Errorf("secrets: %s: want a secret of at least %d characters", path, minLength)
	}
	return secret, nil
}

// CreateFile writes secret, and a newline, to a new file at path, mode 0600,
// and returns it; if path exists — another process created it first — it
// returns the secret that file holds instead. The file appears whole or not
// at all: the secret is written and fsynced under a temporary name (created
// with O_EXCL, by os.CreateTemp), then linked to path, which fails if path
// exists, and the directory is fsynced. Creating path itself with O_EXCL
// would let a process starting at the same moment find it and read it
// empty.
func CreateFile(path, secret string) (string, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("secrets: create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(secret + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("secrets: write %s: %w", path, err)
	}
	switch err := os.Link(tmp.Name(), path); {
	case errors.Is(err, fs.ErrExist):
		return ReadFile(path)
	case err != nil:
		return "", fmt.Errorf("secrets: create %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return "", fmt.Errorf("secrets: create %s: %w", path, err)
	}
	return secret, nil
}

// syncDir makes the names created in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" { // directories cannot be opened for fsync
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
