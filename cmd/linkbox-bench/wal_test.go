package main

import (
	"os"
	"path/filepath"
	"testing"
)

func writeWAL(t *testing.T, path string, n int64) {
	t.Helper()
	if err := os.WriteFile(path, make([]byte, n), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestWALWatchRun: the watch samples from its start, so even a run shorter
// than a sampling interval reports the log's size.
func TestWALWatchRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.db")
	writeWAL(t, path+"-wal", 2*mib)
	if got := watchWAL("sqlite:" + path).stop(); got != 2 {
		t.Errorf("stop = %v MiB, want 2", got)
	}
	if w := watchWAL("postgres://localhost/x"); w != nil || w.take() != 0 || w.stop() != 0 {
		t.Error("a PostgreSQL store is watched")
	}
}

// TestWALWatchTake: each take reports the peak since the one before, while
// the run's peak stays.
func TestWALWatchTake(t *testing.T) {
	w := &walWatch{path: filepath.Join(t.TempDir(), "bench.db-wal")} // not sampling: the test measures
	if got := w.take(); got != 0 {
		t.Errorf("take with no log = %v MiB, want 0", got)
	}
	writeWAL(t, w.path, 3*mib)
	if got := w.take(); got != 3 {
		t.Errorf("first take = %v MiB, want 3", got)
	}
	writeWAL(t, w.path, mib)
	if got := w.take(); got != 1 {
		t.Errorf("take after the log shrank = %v MiB, want 1", got)
	}
	if got := float64(w.run) / mib; got != 3 {
		t.Errorf("run peak = %v MiB, want 3", got)
	}
}
