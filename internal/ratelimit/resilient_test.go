package ratelimit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
)

// flaky is a remote that fails while told to, counting the calls it gets.
// A call may be held (hold) until released, to see what others do meanwhile.
type flaky struct {
	mem   *Memory
	fail  atomic.Bool
	calls atomic.Int64
	hold  chan struct{} // when set, each call waits for a value on it
}

var errFlaky = errors.New("flaky: connection refused")

func (f *flaky) Take(ctx context.Context, key string, l Limit, n int) (Result, error) {
	if err := f.call(); err != nil {
		return Result{}, err
	}
	return f.mem.Take(ctx, key, l, n)
}

func (f *flaky) Ping(context.Context) error { return f.call() }

func (f *flaky) call() error {
	f.calls.Add(1)
	if f.hold != nil {
		<-f.hold
	}
	if f.fail.Load() {
		return errFlaky
	}
	return nil
}

// logLines is a JSON log kept for counting its lines by message.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

// count returns how many lines have a message starting with prefix, failing
// on any line that is not JSON.
func (l *logLines) count(t *testing.T, prefix string) int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m struct{ Msg string }
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if strings.HasPrefix(m.Msg, prefix) {
			n++
		}
	}
	return n
}

func newFlaky(t *testing.T) (*Resilient, *flaky, *fakeClock, *logLines) {
	t.Helper()
	clock, log := newFakeClock(), &logLines{}
	f := &flaky{mem: NewMemory(clock.Now)}
	return newResilient(f, NewMemory(clock.Now), log.logger(), clock.Now), f, clock, log
}

func TestResilientAnswersFromMemoryWhenRemoteFails(t *testing.T) {
	rl, f, _, _ := newFlaky(t)
	f.fail.Store(true)
	for i := range hour.Events {
		if res := take(t, rl, "k", hour, 1); !res.Allowed || res.Remaining != hour.Events-1-i {
			t.Fatalf("take %d with the remote failing: got %+v, want allowed with %d remaining", i+1, res, hour.Events-1-i)
		}
	}
	if res := take(t, rl, "k", hour, 1); res.Allowed || res.RetryAfter != hourInterval {
		t.Fatalf("take after the burst with the remote failing: got %+v, want denied for %s", res, hourInterval)
	}
	if got := rl.State(); got != StateDown {
		t.Errorf("State = %q, want %q", got, StateDown)
	}
	if _, err := rl.Take(context.Background(), "k", Limit{}, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid limit: got %v, want ErrInvalid", err)
	}
}

func TestResilientBreakerOpensAndRecovers(t *testing.T) {
	rl, f, clock, _ := newFlaky(t)
	take(t, rl, "k", hour, 1)
	if f.calls.Load() != 1 || rl.State() != StateUp {
		t.Fatalf("healthy remote: %d calls, state %q; want 1 call, %q", f.calls.Load(), rl.State(), StateUp)
	}
	f.fail.Store(true)
	for range 10 {
		take(t, rl, "k", hour, 0)
	}
	if got := f.calls.Load(); got != 1+breakerFailures {
		t.Fatalf("remote calls after %d failures and 7 more Takes: %d, want %d (the breaker is open)", breakerFailures, got, 1+breakerFailures)
	}
	clock.Advance(breakerOpen - time.Millisecond)
	take(t, rl, "k", hour, 0)
	if got := f.calls.Load(); got != 1+breakerFailures {
		t.Fatalf("before the wait is over: %d remote calls, want %d", got, 1+breakerFailures)
	}
	clock.Advance(time.Millisecond)
	take(t, rl, "k", hour, 0) // the probe, failing: open again
	take(t, rl, "k", hour, 0)
	if got := f.calls.Load(); got != 2+breakerFailures {
		t.Fatalf("after the wait: %d remote calls, want %d (one probe)", got, 2+breakerFailures)
	}

	f.fail.Store(false)
	clock.Advance(breakerOpen)
	take(t, rl, "k", hour, 0) // the probe, succeeding: closed
	for range 3 {
		take(t, rl, "k", hour, 0)
	}
	if got := f.calls.Load(); got != 6+breakerFailures {
		t.Fatalf("after a probe succeeded: %d remote calls, want %d (every Take)", got, 6+breakerFailures)
	}
	if got := rl.State(); got != StateUp {
		t.Errorf("State after recovery = %q, want %q", got, StateUp)
	}
}

func TestResilientProbesOneAtATime(t *testing.T) {
	rl, f, clock, _ := newFlaky(t)
	f.fail.Store(true)
	for range breakerFailures {
		take(t, rl, "k", hour, 1)
	}
	clock.Advance(breakerOpen)
	f.hold = make(chan struct{})
	probed := make(chan struct{})
	go func() {
		defer close(probed)
		rl.Take(context.Background(), "k", hour, 1)
	}()
	for f.calls.Load() != 1+breakerFailures {
		time.Sleep(time.Millisecond)
	}
	for range 5 {
		take(t, rl, "k", hour, 0) // while the probe hangs: memory, no call
	}
	if got := f.calls.Load(); got != 1+breakerFailures {
		t.Errorf("Takes during the probe made %d remote calls, want none", got-1-breakerFailures)
	}
	f.hold <- struct{}{}
	<-probed
}

func TestResilientIgnoresCallersThatGaveUp(t *testing.T) {
	rl, f, _, log := newFlaky(t)
	f.fail.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 2 * breakerFailures {
		if _, err := rl.Take(ctx, "k", hour, 1); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.calls.Load(); got != 2*breakerFailures {
		t.Errorf("cancelled Takes: %d remote calls, want %d (a cancelled call opens no breaker)", got, 2*breakerFailures)
	}
	if rl.State() != StateUp || log.count(t, "redis") != 0 {
		t.Errorf("cancelled Takes: state %q, %d log lines; want up and none", rl.State(), log.count(t, "redis"))
	}
}

func TestResilientLogsOutageOncePerMinute(t *testing.T) {
	rl, f, clock, log := newFlaky(t)
	f.fail.Store(true)
	const seconds = 600 // ten minutes of outage, one Take a second
	for range seconds + 1 {
		for range 3 {
			take(t, rl, "k", hour, 0)
		}
		clock.Advance(time.Second)
	}
	if got := log.count(t, "redis unreachable"); got != 1 {
		t.Errorf("outage start: %d lines, want 1", got)
	}
	if got := log.count(t, "redis still unreachable"); got != seconds/60 {
		t.Errorf("during a %d s outage: %d lines, want %d (one a minute)", seconds, got, seconds/60)
	}
	f.fail.Store(false)
	clock.Advance(breakerOpen)
	take(t, rl, "k", hour, 0)
	take(t, rl, "k", hour, 0)
	if got := log.count(t, "redis is back"); got != 1 {
		t.Errorf("recovery: %d lines, want 1", got)
	}
}

func TestResilientCheck(t *testing.T) {
	rl, f, _, _ := newFlaky(t)
	if got := rl.Check(context.Background()); got != StateUp || f.calls.Load() != 1 {
		t.Fatalf("Check, remote healthy: %q after %d calls, want %q after 1", got, f.calls.Load(), StateUp)
	}
	f.fail.Store(true)
	if got := rl.Check(context.Background()); got != StateDown {
		t.Fatalf("Check, remote failing: %q, want %q", got, StateDown)
	}
	for range 2 * breakerFailures {
		rl.Check(context.Background())
	}
	if got := f.calls.Load(); got != 1+breakerFailures {
		t.Errorf("Checks: %d remote calls, want %d (an open breaker is not asked)", got, 1+breakerFailures)
	}
}

// switchable is a TCP proxy to Redis that can be cut: while down it accepts
// connections and never answers, as a hung server or a dropped route does;
// each switch drops every connection it holds.
type switchable struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func newSwitchable(t *testing.T, target string, down bool) *switchable {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &switchable{ln: ln, target: target, down: down}
	go s.serve()
	t.Cleanup(func() { ln.Close(); s.set(true) })
	return s
}

func (s *switchable) addr() string { return s.ln.Addr().String() }

func (s *switchable) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		if !s.down {
			s.pipe(c)
		}
		s.mu.Unlock()
	}
}

// pipe carries c to the target; the caller holds s.mu.
func (s *switchable) pipe(c net.Conn) {
	up, err := net.Dial("tcp", s.target)
	if err != nil {
		c.Close()
		return
	}
	s.conns = append(s.conns, up)
	go func() { io.Copy(up, c); up.Close() }()
	go func() { io.Copy(c, up); c.Close() }()
}

func (s *switchable) set(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// closedPort is an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// limiterClient is a client to addr made as the server makes its own.
func limiterClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	o, err := ClientOptions("redis://" + addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestResilientBehaviourRedisUp(t *testing.T) {
	runBehaviour(t, func(t *testing.T) harness {
		c := testRedisClient(t)
		rl := NewResilient(NewRedis(c, testPrefix(t, c)), NewMemory(nil), slog.New(slog.DiscardHandler), nil)
		t.Cleanup(func() {
			if rl.State() != StateUp {
				t.Errorf("State = %q, want %q: Redis answered every Take", rl.State(), StateUp)
			}
		})
		return harness{lim: rl, now: time.Now, slack: time.Second}
	})
}

// With Redis down the limits hold, from memory: the whole behaviour table
// passes against a closed port.
func TestResilientBehaviourRedisDown(t *testing.T) {
	runBehaviour(t, func(t *testing.T) harness {
		clock := newFakeClock()
		r := NewRedis(limiterClient(t, closedPort(t)), "x:")
		rl := NewResilient(r, NewMemory(clock.Now), slog.New(slog.DiscardHandler), clock.Now)
		return harness{lim: rl, now: clock.Now}
	})
}

// A Take against a Redis that is down answers within about 100 ms, whether
// the port refuses or a server accepts and never answers (before the
// timeouts: 1.7 s and 5 s a Take).
func TestResilientRedisDownIsFast(t *testing.T) {
	for _, c := range []struct{ name, addr string }{
		{"closed port", closedPort(t)},
		{"silent server", newSwitchable(t, "", true).addr()},
	} {
		t.Run(c.name, func(t *testing.T) {
			log := &logLines{}
			rl := NewResilient(NewRedis(limiterClient(t, c.addr), "x:"), NewMemory(nil), log.logger(), nil)
			lim := Limit{Events: 3, Per: time.Hour}
			var worst time.Duration
			for i := range 2 * breakerFailures {
				start := time.Now()
				res := take(t, rl, "k", lim, 1)
				worst = max(worst, time.Since(start))
				if res.Allowed != (i < lim.Events) {
					t.Errorf("take %d: allowed %v, want %v (memory keeps the limit)", i+1, res.Allowed, i < lim.Events)
				}
			}
			if worst > 100*time.Millisecond {
				t.Errorf("slowest Take with Redis down: %s, want at most 100ms", worst)
			}
			t.Logf("slowest Take with Redis down: %s", worst)
			if rl.State() != StateDown || log.count(t, "redis unreachable") != 1 {
				t.Errorf("state %q, %d outage lines; want %q and 1", rl.State(), log.count(t, "redis unreachable"), StateDown)
			}
		})
	}
}

// Through a real outage of a real Redis: shared limits, then memory, then
// shared again once the breaker's probe gets through.
func TestResilientRedisOutageAndRecovery(t *testing.T) {
	direct := testRedisClient(t)
	proxy := newSwitchable(t, direct.Options().Addr, false)
	prefix := testPrefix(t, direct)
	clock, log := newFakeClock(), &logLines{}
	other := NewRedis(direct, prefix) // another instance, always reaching Redis
	rl := NewResilient(NewRedis(limiterClient(t, proxy.addr()), prefix), NewMemory(clock.Now), log.logger(), clock.Now)

	take(t, other, "k", hour, hour.Events-1)
	if res := take(t, rl, "k", hour, 1); !res.Allowed || res.Remaining != 0 || rl.State() != StateUp {
		t.Fatalf("Redis up: got %+v, state %q; want the shared bucket's last event, up", res, rl.State())
	}
	proxy.set(true)
	for i := range hour.Events + 1 {
		if res := take(t, rl, "k", hour, 1); res.Allowed != (i < hour.Events) {
			t.Fatalf("Redis down, take %d: got %+v, want allowed %v (this instance's own bucket)", i+1, res, i < hour.Events)
		}
	}
	if rl.State() != StateDown {
		t.Fatalf("State with Redis down = %q, want %q", rl.State(), StateDown)
	}
	proxy.set(false)
	clock.Advance(breakerOpen)
	deadline := time.Now().Add(3 * time.Second) // go-redis may redial on a timer of its own
	for rl.State() != StateUp && time.Now().Before(deadline) {
		take(t, rl, "probe", hour, 0)
		clock.Advance(breakerOpen)
		time.Sleep(50 * time.Millisecond)
	}
	if res := take(t, rl, "k", hour, 1); res.Allowed || rl.State() != StateUp {
		t.Fatalf("Redis back: got %+v, state %q; want the shared, empty bucket, up", res, rl.State())
	}
	if log.count(t, "redis unreachable") != 1 || log.count(t, "redis is back") != 1 {
		t.Errorf("log: %d outage and %d recovery lines, want 1 and 1", log.count(t, "redis unreachable"), log.count(t, "redis is back"))
	}
}

func TestRedisLoggerIsSlogAndRateLimited(t *testing.T) {
	clock, log := newFakeClock(), &logLines{}
	l := newRedisLogger(log.logger(), clock.Now)
	for range 100 {
		l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 1, errFlaky)
	}
	l.Printf(context.Background(), "redis: failed to close connection: %v", errFlaky)
	if got := log.count(t, "redis client"); got != 2 {
		t.Fatalf("100 dial failures and one close failure: %d lines, want 2 (one per kind)", got)
	}
	clock.Advance(outageLogEvery)
	l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 1, errFlaky)
	if got := log.count(t, "redis client"); got != 3 {
		t.Errorf("a minute later: %d lines, want 3", got)
	}
}

// go-redis's own lines reach the slog handler SetRedisLogger names.
func TestSetRedisLoggerRoutesTheClient(t *testing.T) {
	log := &logLines{}
	SetRedisLogger(log.logger())
	t.Cleanup(logging.Enable) // go-redis's own logger again
	NewRedis(limiterClient(t, closedPort(t)), "x:").Take(context.Background(), "k", hour, 1)
	if got := log.count(t, "redis client"); got != 1 {
		t.Errorf("a failed dial: %d slog lines from the client, want 1", got)
	}
}
