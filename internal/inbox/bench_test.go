package inbox_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/inbox"
)

// BenchmarkAdd measures storing a message in a transaction of its own and
// announcing it, one writer at a time and then from parallel writers, each
// for its own user, on each engine with the broker a server gives it: in
// memory on SQLite, LISTEN/NOTIFY on PostgreSQL.
func BenchmarkAdd(b *testing.B) {
	ctx := context.Background()
	add := func(b *testing.B, e *env, m inbox.NewMessage) {
		err := e.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
			_, err := e.svc.Add(ctx, tx, m)
			return err
		})
		if err != nil {
			b.Error(err)
		}
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			b.Run("serial", func(b *testing.B) {
				e := serverEnv(b, engine)
				m := note(e.newUser(b), "Your parcel has shipped")
				for b.Loop() {
					add(b, e, m)
				}
			})
			b.Run("parallel", func(b *testing.B) {
				e := serverEnv(b, engine)
				const perProc = 16
				b.SetParallelism(perProc)
				users := e.newUsers(b, perProc*runtime.GOMAXPROCS(0))
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					m := note(users[next.Add(1)-1], "Your parcel has shipped")
					for pb.Next() {
						add(b, e, m)
					}
				})
			})
		})
	}
}

// serverEnv is an env on a fresh store of engine ("sqlite" or "postgres",
// skipped without one) with the broker a server gives that engine.
func serverEnv(t testing.TB, engine string) *env {
	t.Helper()
	if engine == "sqlite" {
		return newEnv(t, dbtest.SQLite(t), options{})
	}
	url := dbtest.Postgres(t)
	return newEnv(t, url, options{broker: postgresBroker(t, url)})
}

// BenchmarkPublishToSSE measures the time from the start of the writing
// transaction to the receipt of the event by an SSE client over HTTP, while
// other users' idle streams stay connected.
func BenchmarkPublishToSSE(b *testing.B) {
	for _, idle := range []int{0, 1000} {
		b.Run(fmt.Sprintf("idle=%d", idle), func(b *testing.B) {
			e := newEnv(b, dbtest.SQLite(b), options{perIP: -1}) // every client is 127.0.0.1
			e.idleStreams(b, e.server.URL, "/v1/inbox/stream", e.newUsers(b, idle))
			user := e.newUser(b)
			s := e.openStream(b, user, nil, "")
			s.next(b)
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				e.add(b, note(user, "Your parcel has shipped"))
				s.nextMessage(b)
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// newUsers inserts n accounts in one transaction and returns their ids.
func (e *env) newUsers(t testing.TB, n int) []string {
	t.Helper()
	ids := make([]string, n)
	err := e.db.InTx(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		for i := range ids {
			k := e.users.Add(1)
			ids[i] = fmt.Sprintf("user_%012d", k)
			_, err := tx.Exec(context.Background(), `INSERT INTO users
				(id, phone, password_hash, first_name, last_name, email, role, status, created_at, updated_at)
				VALUES (?, ?, 'x', 'Ada', 'Lovelace', ?, 'user', 'active', 0, 0)`,
				ids[i], fmt.Sprintf("+1555%07d", k), fmt.Sprintf("u%d@example.com", k))
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("insert users: %v", err)
	}
	return ids
}

// idleStreams opens one stream per user on baseURL+path and leaves each idle
// once its first block has arrived. The clients are bare TCP connections, so
// that they add as little as possible to the memory measured.
func (e *env) idleStreams(t testing.TB, baseURL, path string, users []string) {
	t.Helper()
	addr := strings.TrimPrefix(baseURL, "http://")
	conns := make([]net.Conn, 0, len(users))
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for _, user := range users {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", path, addr, token(user))
		if err := readOpening(c); err != nil {
			t.Fatalf("stream %d: %v", len(conns), err)
		}
	}
}

// readOpening reads a stream's response head and its first block.
func readOpening(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	defer c.SetReadDeadline(time.Time{})
	r := bufio.NewReaderSize(c, 512)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	body := bufio.NewReader(resp.Body)
	for {
		line, err := body.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\n" {
			return nil
		}
	}
}

// bareSSE is the baseline for idle streams: about the least an SSE endpoint
// on net/http holds per connection — a subscriber channel in a locked map,
// one flush, a heartbeat ticker.
type bareSSE struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

func (h *bareSSE) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ch := make(chan []byte, 16)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Write([]byte(": connected\n\n"))
	rc := http.NewResponseController(w)
	rc.Flush()
	tick := time.NewTicker(25 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case b := <-ch:
			w.Write(b)
			rc.Flush()
		case <-tick.C:
			w.Write([]byte(": heartbeat\n\n"))
			rc.Flush()
		}
	}
}

// footprint is what a process holds: heap, goroutine stacks, goroutines.
type footprint struct{ heap, stack, goroutines float64 }

func (f footprint) total() float64 { return f.heap + f.stack }

// measureFootprint returns the footprint once garbage is gone. Several
// collections let the runtime shrink the stacks that handlers grew while they
// worked.
func measureFootprint() footprint {
	var ms runtime.MemStats
	for range 5 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return footprint{float64(ms.HeapAlloc), float64(ms.StackInuse), float64(runtime.NumGoroutine())}
}

// TestIdleStreamMemory compares what an idle inbox stream holds with a bare
// net/http SSE handler. Clients run in the same process, as bare TCP
// connections, and count in both figures. Only the second half of the
// streams is measured: the first pays one-off costs, such as the SQLite read
// connections and their page caches.
//
// An inbox stream is taken over from net/http, which lets go of its
// buffers, request and handler goroutine; one goroutine watches the
// connection. The bare handler keeps all of those.
func TestIdleStreamMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of connections")
	}
	const n = 2000
	measure := func(t *testing.T, e *env, url, path string, users []string) footprint {
		e.idleStreams(t, url, path, users[:n/2])
		before := measureFootprint()
		e.idleStreams(t, url, path, users[n/2:])
		after := measureFootprint()
		return footprint{(after.heap - before.heap) / (n / 2), (after.stack - before.stack) / (n / 2),
			(after.goroutines - before.goroutines) / (n / 2)}
	}
	e := newEnv(t, dbtest.SQLite(t), options{perIP: -1}) // every client is 127.0.0.1
	bare := httptest.NewServer(&bareSSE{subs: map[chan []byte]struct{}{}})
	t.Cleanup(bare.Close)
	t.Cleanup(bare.CloseClientConnections)
	base := measure(t, e, bare.URL, "/", make([]string, n))
	t.Logf("bare SSE: %.0f bytes per connection (heap %.0f, stacks %.0f, %.0f goroutines)", base.total(), base.heap, base.stack, base.goroutines)

	got := measure(t, e, e.server.URL, "/v1/inbox/stream", e.newUsers(t, n))
	t.Logf("inbox: %.0f bytes per stream (heap %.0f, stacks %.0f, %.0f goroutines), ratio to bare %.3f",
		got.total(), got.heap, got.stack, got.goroutines, got.total()/base.total())
	// Each side has one client goroutine per connection; the inbox adds its
	// watcher, bare net/http its handler and its background reader.
	if got.goroutines != base.goroutines-1 {
		t.Errorf("%.2f goroutines per stream, want %.0f: one fewer than bare net/http", got.goroutines, base.goroutines-1)
	}
	if got.total() > 0.25*base.total() {
		t.Errorf("an idle stream holds %.0f bytes, want at most 25%% of bare net/http's %.0f", got.total(), base.total())
	}
}
