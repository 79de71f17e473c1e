package main

import (
	"os"
	"strings"
	"sync"
	"time"
)

// walEvery is how often the WAL's size is sampled.
const walEvery = 100 * time.Millisecond

// walWatch samples the size of a SQLite store's write-ahead log and keeps
// its peaks: over the run, and since the last scenario began. A log that
// grows without bound shows there first, before the stalls it brings.
type walWatch struct {
	path string // the -wal file
	mu   sync.Mutex
	run  int64 // largest size seen in the run
	turn int64 // largest size seen since the last take
	quit chan struct{}
	done chan struct{}
}

// watchWAL starts sampling the WAL of the store at databaseURL; nil (which
// watches nothing) when it is not a SQLite store.
func watchWAL(databaseURL string) *walWatch {
	path, ok := strings.CutPrefix(databaseURL, "sqlite:")
	if !ok {
		return nil
	}
	w := &walWatch{path: path + "-wal", quit: make(chan struct{}), done: make(chan struct{})}
	go w.sample()
	return w
}

func (w *walWatch) sample() {
	defer close(w.done)
	t := time.NewTicker(walEvery)
	defer t.Stop()
	for {
		w.measure()
		select {
		case <-w.quit:
			return
		case <-t.C:
		}
	}
}

// measure records the WAL's size now; a missing file (no write yet, or the
// log folded away at a close) counts as empty.
func (w *walWatch) measure() {
	fi, err := os.Stat(w.path)
	if err != nil {
		return
	}
	w.mu.Lock()
	w.run, w.turn = max(w.run, fi.Size()), max(w.turn, fi.Size())
	w.mu.Unlock()
}

// take returns the largest size since the last take, in MiB, and starts
// afresh; 0 for a nil watch.
func (w *walWatch) take() float64 {
	if w == nil {
		return 0
	}
	w.measure()
	w.mu.Lock()
	defer w.mu.Unlock()
	peak := w.turn
	w.turn = 0
	return float64(peak) / mib
}

// stop ends the sampling and returns the largest size of the run, in MiB.
func (w *walWatch) stop() float64 {
	if w == nil {
		return 0
	}
	close(w.quit)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return float64(w.run) / mib
}
