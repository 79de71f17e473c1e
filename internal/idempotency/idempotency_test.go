package idempotency_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/idempotency"
)

// world is a server whose POST /charge writes an effect and keeps its
// answer in the same transaction, behind the middleware, the scope being
// the X-Account header.
type world struct {
	d     *db.DB
	store *idempotency.Store
	clock *clocktest.Clock
	url   string
	runs  atomic.Int64
}

// hook, if not nil, runs in the handler before its transaction; when it
// says stop, it answers status instead.
type hook func(run int64) (status int, stop bool)

func render(w http.ResponseWriter, _ *http.Request, err error) {
	e := errs.From(err)
	status := httpx.Status(e.Kind)
	if e.Code == "idempotency_mismatch" {
		status = http.StatusUnprocessableEntity
	}
	httpx.WriteJSON(w, status, map[string]string{"code": e.Code})
}

func newWorld(t *testing.T, url string, h hook) *world {
	t.Helper()
	w := &world{d: dbtest.Open(t, url), clock: clocktest.New(time.Date(2026, 4, 29, 9, 40, 0, 0, time.UTC))}
	if _, err := w.d.Exec(context.Background(), `CREATE TABLE effects (id BIGINT PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	w.store = idempotency.New(w.d, w.clock.Now, render)
	charge := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		run := w.runs.Add(1)
		if h != nil {
			if status, stop := h(run); stop {
				httpx.WriteJSON(rw, status, map[string]string{"code": "hook"})
				return
			}
		}
		body, _ := io.ReadAll(r.Body)
		answer := fmt.Appendf(nil, `{"run":%d,"body":%q}`+"\n", run, body)
		err := w.d.InTx(r.Context(), func(ctx context.Context, tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO effects (id, body) VALUES (?, ?)`, run, string(body)); err != nil {
				return err
			}
			return idempotency.Save(ctx, tx, http.StatusCreated, "application/json", answer)
		})
		if err != nil {
			render(rw, r, err)
			return
		}
		if r.Header.Get("X-Crash") != "" { // the process dies before it answers
			panic(http.ErrAbortHandler)
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusCreated)
		rw.Write(answer)
	})
	ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.store.Middleware(r.Header.Get("X-Account"), charge).ServeHTTP(rw, r)
	}))
	t.Cleanup(ts.Close)
	w.url = ts.URL
	return w
}

type answer struct {
	status   int
	body     string
	replayed bool
	err      error
}

func (w *world) post(t *testing.T, account, key, body string, headers ...string) answer {
	t.Helper()
	req, _ := http.NewRequest("POST", w.url, strings.NewReader(body))
	req.Header.Set("X-Account", account)
	if key != "" {
		req.Header.Set(idempotency.Header, key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(b), replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
}

func (w *world) effects(t *testing.T) int {
	t.Helper()
	var n int
	if err := w.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM effects`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReplay: the same key and body answer the first answer again,
// marked replayed, without running the handler; another body is a 422;
// no key runs every time.
func TestReplay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		w := newWorld(t, url, nil)
		first := w.post(t, "acc_1", "k-1", `{"a":1}`)
		again := w.post(t, "acc_1", "k-1", `{"a":1}`)
		if first.status != 201 || first.replayed || again.status != 201 || !again.replayed || again.body != first.body {
			t.Fatalf("first %+v, again %+v", first, again)
		}
		if other := w.post(t, "acc_1", "k-1", `{"a":2}`); other.status != 422 || !strings.Contains(other.body, "idempotency_mismatch") {
			t.Fatalf("another body: %+v", other)
		}
		if w.runs.Load() != 1 || w.effects(t) != 1 {
			t.Fatalf("%d runs, %d effects, want 1", w.runs.Load(), w.effects(t))
		}
		w.post(t, "acc_1", "", `{"a":1}`)
		w.post(t, "acc_1", "", `{"a":1}`)
		if w.runs.Load() != 3 {
			t.Fatalf("without a key: %d runs, want 3", w.runs.Load())
		}
	})
}

// TestPerAccountKeys: one key in two scopes is two requests.
func TestPerAccountKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		w := newWorld(t, url, nil)
		a, b := w.post(t, "acc_1", "k", `{}`), w.post(t, "acc_2", "k", `{}`)
		if a.replayed || b.replayed || a.body == b.body || w.effects(t) != 2 {
			t.Fatalf("acc_1 %+v, acc_2 %+v, %d effects", a, b, w.effects(t))
		}
	})
}

// TestConcurrentReplays: 10 tries of one key at once run once and all
// get its answer.
func TestConcurrentReplays(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		w := newWorld(t, url, nil)
		var mu sync.Mutex
		bodies := map[string]int{}
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				a := w.post(t, "acc_1", "k-c", `{"x":"y"}`)
				mu.Lock()
				defer mu.Unlock()
				bodies[fmt.Sprint(a.status, " ", a.body)]++
			})
		}
		wg.Wait()
		if len(bodies) != 1 || w.runs.Load() != 1 || w.effects(t) != 1 {
			t.Fatalf("answers %v, %d runs, %d effects", bodies, w.runs.Load(), w.effects(t))
		}
	})
}

// TestCrashAfterCommit: the answer is kept in the transaction of the
// effects, so a try that dies after its commit, before answering, is
// replayed, not run again.
func TestCrashAfterCommit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		w := newWorld(t, url, nil)
		if a := w.post(t, "acc_1", "k-x", `{}`, "X-Crash", "1"); a.err == nil {
			t.Fatalf("the crashed try answered %+v", a)
		}
		a := w.post(t, "acc_1", "k-x", `{}`)
		if a.status != 201 || !a.replayed || !strings.Contains(a.body, `"run":1`) || w.runs.Load() != 1 || w.effects(t) != 1 {
			t.Fatalf("retry after the crash: %+v, %d runs, %d effects", a, w.runs.Load(), w.effects(t))
		}
	})
}

// TestTakeover: a first try stuck past the in-flight minute loses its
// key to a retry; its own Save then fails and its transaction rolls back:
// one effect, whoever finishes first.
func TestTakeover(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		stuck, release := make(chan struct{}), make(chan struct{})
		w := newWorld(t, url, func(run int64) (int, bool) {
			if run == 1 {
				close(stuck)
				<-release
			}
			return 0, false
		})
		firstDone := make(chan answer)
		go func() { firstDone <- w.post(t, "acc_1", "k-t", `{}`) }()
		<-stuck
		w.clock.Advance(61 * time.Second)
		retry := w.post(t, "acc_1", "k-t", `{}`)
		close(release)
		first := <-firstDone
		if retry.status != 201 || first.status != 409 || !strings.Contains(first.body, "idempotency_in_flight") || w.effects(t) != 1 {
			t.Fatalf("retry %+v, stuck first %+v, %d effects", retry, first, w.effects(t))
		}
		if again := w.post(t, "acc_1", "k-t", `{}`); !again.replayed || again.body != retry.body {
			t.Fatalf("then: %+v, want the retry's answer", again)
		}
	})
}

// TestErrorsKeptOr5xxDropped: an answer the handler writes without Save
// is kept once it returns; a 5xx is dropped, so the request can be retried.
func TestErrorsKeptOr5xxDropped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		var status atomic.Int64
		status.Store(http.StatusBadRequest)
		w := newWorld(t, url, func(int64) (int, bool) { return int(status.Load()), true })
		if a, b := w.post(t, "acc_1", "k-400", `{}`), w.post(t, "acc_1", "k-400", `{}`); a.status != 400 || !b.replayed || b.status != 400 || w.runs.Load() != 1 {
			t.Fatalf("a 400: %+v then %+v, %d runs", a, b, w.runs.Load())
		}
		status.Store(http.StatusInternalServerError)
		if a, b := w.post(t, "acc_1", "k-500", `{}`), w.post(t, "acc_1", "k-500", `{}`); a.status != 500 || b.replayed || b.status != 500 || w.runs.Load() != 3 {
			t.Fatalf("a 500: %+v then %+v, %d runs (want the retry to run)", a, b, w.runs.Load())
		}
	})
}

// TestSweep: keys older than a day are swept, and the key runs again.
func TestSweep(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		w := newWorld(t, url, nil)
		w.post(t, "acc_1", "k-s", `{}`)
		w.clock.Advance(23 * time.Hour)
		if err := w.store.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if a := w.post(t, "acc_1", "k-s", `{}`); !a.replayed {
			t.Fatalf("within the day: %+v", a)
		}
		w.clock.Advance(2 * time.Hour)
		if err := w.store.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if a := w.post(t, "acc_1", "k-s", `{}`); a.replayed || a.status != 201 || w.effects(t) != 2 {
			t.Fatalf("after the sweep: %+v, %d effects", a, w.effects(t))
		}
	})
}

// TestBadInput: a key too long or not printable ASCII is a 400, a body
// over the cap a 413; nothing runs.
func TestBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		w := newWorld(t, url, nil)
		for _, key := range []string{strings.Repeat("k", 256), "with space", "tab\tkey", "é"} {
			if a := w.post(t, "acc_1", key, `{}`); a.status != 400 || !strings.Contains(a.body, "invalid_idempotency_key") {
				t.Errorf("key %q: %+v", key, a)
			}
		}
		if a := w.post(t, "acc_1", "k-big", strings.Repeat("x", httpx.MaxBody+1)); a.status != 413 {
			t.Errorf("a big body: %+v", a)
		}
		if a := w.post(t, "acc_1", strings.Repeat("k", 255), `{}`); a.status != 201 {
			t.Errorf("a key of 255: %+v", a)
		}
		if w.runs.Load() != 1 {
			t.Fatalf("%d runs, want 1", w.runs.Load())
		}
	})
}
