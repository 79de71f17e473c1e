package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// errExhausted ends a worker whose supply of prepared work ran out.
var errExhausted = errors.New("prepared work exhausted")

// sample is what one timed phase against one server measured.
type sample struct {
	lat      []time.Duration // of the successful operations
	failed   int
	firstErr error
	elapsed  time.Duration
	cpu      cpuUse // the server's CPU time meanwhile; 0 if unknown
}

func (s *sample) add(o sample) {
	s.lat = append(s.lat, o.lat...)
	s.failed += o.failed
	s.elapsed += o.elapsed
	s.cpu.proc += o.cpu.proc
	s.cpu.store += o.cpu.store
	if s.firstErr == nil {
		s.firstErr = o.firstErr
	}
}

// recorder collects latencies from many goroutines.
type recorder struct {
	mu sync.Mutex
	s  sample
}

func (r *recorder) ok(d time.Duration) {
	r.mu.Lock()
	r.s.lat = append(r.s.lat, d)
	r.mu.Unlock()
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	r.s.failed++
	if r.s.firstErr == nil {
		r.s.firstErr = err
	}
	r.mu.Unlock()
}

// closedLoop runs op on workers goroutines, each starting a new operation as
// soon as its last one ends, until d has passed, ctx ends or op reports
// errExhausted. Operations under way at the deadline finish and count. The
// CPU time that server t uses meanwhile is recorded.
func closedLoop(ctx context.Context, t *target, workers int, d time.Duration, op func(ctx context.Context, worker int) error) sample {
	var rec recorder
	var wg sync.WaitGroup
	cpu := t.cpuMeter(ctx)
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t := time.Now()
				err := op(ctx, w)
				switch {
				case errors.Is(err, errExhausted):
					return
				case err != nil && ctx.Err() == nil:
					rec.fail(err)
				case err == nil:
					rec.ok(time.Since(t))
				}
			}
		})
	}
	wg.Wait()
	rec.s.elapsed = time.Since(start)
	rec.s.cpu = cpu()
	return rec.s
}

// cpuUse is the CPU time, user and system, that a server used.
type cpuUse struct {
	proc  time.Duration // its processes'
	store time.Duration // the PostgreSQL backends serving them; 0 if none or unknown
}

// cpuMeter starts measuring the CPU time of t's processes and of their
// PostgreSQL backends; the function it returns gives the time used since.
// Either figure is 0 when it cannot be read (missing, not wrong).
func (t *target) cpuMeter(ctx context.Context) func() cpuUse {
	proc, store := procMeter(t.pids), backendMeter(ctx, t.backends)
	return func() cpuUse { return cpuUse{proc: proc(), store: store()} }
}

// procMeter measures the CPU time pids use together; 0 when there are none
// or one is unreadable.
func procMeter(pids []int) func() time.Duration {
	read := func() (time.Duration, error) {
		var sum time.Duration
		for _, pid := range pids {
			d, err := readCPU(pid)
			if err != nil {
				return 0, err
			}
			sum += d
		}
		return sum, nil
	}
	before, err := read()
	return func() time.Duration {
		after, err2 := read()
		if err != nil || err2 != nil {
			return 0
		}
		return after - before
	}
}

// backendMeter measures the CPU time of the backends that list names,
// before and after: a backend that started meanwhile counts whole, one that
// ended meanwhile is lost (the store's pools keep theirs open).
func backendMeter(ctx context.Context, list func(context.Context) ([]int, error)) func() time.Duration {
	if list == nil {
		return func() time.Duration { return 0 }
	}
	read := func() (map[int]time.Duration, error) {
		pids, err := list(ctx)
		if err != nil {
			return nil, err
		}
		return backendCPU(pids)
	}
	before, err := read()
	return func() time.Duration {
		after, err2 := read()
		if err != nil || err2 != nil {
			return 0
		}
		var sum time.Duration
		for pid, d := range after {
			sum += d - before[pid]
		}
		return sum
	}
}

// stats summarise a server's samples in a scenario.
type stats struct {
	Ops       int     `json:"ops"`
	Failed    int     `json:"failed"`
	OpsPerSec float64 `json:"ops_per_sec"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	// MaxMs is the worst latency: a stall that every request in flight
	// waited out shows here when too few hit it to move the p99.
	MaxMs float64 `json:"max_ms"`
	// CPUPerOpUs is the server's CPU time per operation, in microseconds: a
	// figure that moves less than ops/s when other processes share the
	// machine (0 when the server's process is unknown).
	CPUPerOpUs float64 `json:"cpu_per_op_us,omitempty"`
	// StoreCPUPerOpUs is the CPU time per operation of the PostgreSQL
	// backends serving the server's connections (0 on SQLite, or when the
	// database's processes cannot be read).
	StoreCPUPerOpUs float64 `json:"store_cpu_per_op_us,omitempty"`
	FirstErr        string  `json:"first_error,omitempty"`
}

func summarize(s sample) stats {
	slices.Sort(s.lat)
	st := stats{
		Ops:    len(s.lat),
		Failed: s.failed,
		P50Ms:  ms(percentile(s.lat, 50)),
		P99Ms:  ms(percentile(s.lat, 99)),
		MaxMs:  ms(percentile(s.lat, 100)),
	}
	if s.elapsed > 0 {
		st.OpsPerSec = float64(len(s.lat)) / s.elapsed.Seconds()
	}
	if len(s.lat) > 0 {
		st.CPUPerOpUs = float64(s.cpu.proc/time.Microsecond) / float64(len(s.lat))
		st.StoreCPUPerOpUs = float64(s.cpu.store/time.Microsecond) / float64(len(s.lat))
	}
	if s.firstErr != nil {
		st.FirstErr = s.firstErr.Error()
	}
	return st
}

// percentile returns the nearest-rank p-th percentile of sorted, 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// target is one server under test: one process, or several on one store
// that take the requests in turn.
type target struct {
	name  string   // "linkbox", "linkbox A", "linkbox B" or "bare"
	bases []string // http://127.0.0.1:port of each process
	pids  []int    // their processes; none when unknown (--url without --pid)
	// backends lists the PostgreSQL backends of the run's store; nil on
	// SQLite, for bare and with --url.
	backends func(context.Context) ([]int, error)
	next     atomic.Uint64
	client   *http.Client
}

func newTarget(name string, bases []string, pids []int, conns int) *target {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true}
	return &target{name: name, bases: bases, pids: pids, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// base returns the base URL of the process whose turn it is.
func (t *target) base() string {
	return t.bases[(t.next.Add(1)-1)%uint64(len(t.bases))]
}

// do sends a request and returns the body of a 200 answer; any other status
// is an error quoting the body.
func (t *target) do(ctx context.Context, method, path string, body []byte, header http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, t.base()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = header.Clone() // shared by the workers; the client may add to it
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %.200s", method, path, resp.Status, b)
	}
	return b, nil
}

// expect is an op's check of a 200 answer.
func expect(b []byte, err error, want string) error {
	if err != nil {
		return err
	}
	if !bytes.Contains(b, []byte(want)) {
		return fmt.Errorf("answer %.200q lacks %q", b, want)
	}
	return nil
}
