package accounts_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// The benchmarks run on SQLite, through the handler (no network), with
// request limits off as for a load test. Targets (issue 2, on 2 cores):
// refresh >= 3,000/s, /me >= 15,000/s, login = one hash + <= 2 ms, peak
// memory under a login flood <= HashConcurrency x 19 MiB + 100 MiB.

func owasp(c *accounts.Config) { c.Hash = accounts.DefaultHashParams() }

// serve runs one request through the env's handler.
func serve(e *env, method, path, body, bearer string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, req)
	return w
}

func BenchmarkRefresh(b *testing.B) {
	e := newEnv(b, dbtest.SQLite(b))
	id := e.active(phone(1))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		pair, err := e.svc.IssueSession(context.Background(), id)
		if err != nil {
			b.Error(err)
			return
		}
		token := pair.RefreshToken
		for pb.Next() {
			w := serve(e, "POST", "/v1/auth/refresh", `{"refresh_token":"`+token+`"}`, "")
			var got accounts.TokenPair
			if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != http.StatusOK || err != nil {
				b.Errorf("refresh: %d %s", w.Code, w.Body)
				return
			}
			token = got.RefreshToken
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refresh/s")
}

func BenchmarkMe(b *testing.B) {
	e := newEnv(b, dbtest.SQLite(b))
	e.active(phone(1))
	access, _ := e.login(phone(1))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if w := serve(e, "GET", "/v1/auth/me", "", access); w.Code != http.StatusOK {
				b.Errorf("me: %d %s", w.Code, w.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "me/s")
}

// BenchmarkHashOnly is one argon2id hash at OWASP parameters: the floor of
// a login.
func BenchmarkHashOnly(b *testing.B) {
	p := accounts.DefaultHashParams()
	salt := make([]byte, p.SaltLen)
	for b.Loop() {
		argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	}
}

// BenchmarkLogin is one login through the handler at OWASP parameters.
func BenchmarkLogin(b *testing.B) {
	benchmarkLogin(b, owasp)
}

// BenchmarkLoginBeyondHash is a login with the cheapest hash argon2id
// allows: what a login costs beside its one hash.
func BenchmarkLoginBeyondHash(b *testing.B) {
	benchmarkLogin(b, func(c *accounts.Config) {
		c.Hash = accounts.HashParams{Memory: 8, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	})
}

func benchmarkLogin(b *testing.B, opts ...func(*accounts.Config)) {
	e := newEnv(b, dbtest.SQLite(b), opts...)
	e.active(phone(1))
	body := `{"phone":"` + phone(1) + `","password":"` + password + `"}`
	for b.Loop() {
		if w := serve(e, "POST", "/v1/auth/login", body, ""); w.Code != http.StatusOK {
			b.Fatalf("login: %d %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/login")
}

// BenchmarkLoginFlood sends 200 logins at once per iteration, at OWASP
// parameters, and reports the peak memory the Go runtime held (sampled
// every millisecond) and the process's peak RSS, against the target.
func BenchmarkLoginFlood(b *testing.B) {
	const flood = 200
	conc := runtime.GOMAXPROCS(0)
	e := newEnv(b, dbtest.SQLite(b), owasp, func(c *accounts.Config) { c.HashConcurrency = conc })
	e.active(phone(1))
	body := `{"phone":"` + phone(1) + `","password":"` + password + `"}`
	runtime.GC()
	resetPeakRSS()
	stop, peak := sampleMemory()
	for b.Loop() {
		var wg sync.WaitGroup
		for range flood {
			wg.Go(func() {
				if w := serve(e, "POST", "/v1/auth/login", body, ""); w.Code != http.StatusOK {
					b.Errorf("login: %d %s", w.Code, w.Body)
				}
			})
		}
		wg.Wait()
	}
	stop()
	target := float64(conc*19 + 100)
	b.ReportMetric(float64(*peak)/(1<<20), "peak-MiB")
	b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(target, "target-MiB")
	if got := float64(*peak) / (1 << 20); got > target {
		b.Errorf("peak memory %.0f MiB, over the target of %.0f MiB", got, target)
	}
}

// sampleMemory records, until stop is called, the peak of the memory the Go
// runtime has mapped and not returned to the OS.
func sampleMemory() (stop func(), peak *uint64) {
	peak = new(uint64)
	done, finished := make(chan struct{}), make(chan struct{})
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			*peak = max(*peak, samples[0].Value.Uint64()-samples[1].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }, peak
}

// resetPeakRSS makes Linux count the peak RSS from now on (see proc(5),
// clear_refs); elsewhere it does nothing and peakRSS covers the process's
// whole life.
func resetPeakRSS() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS reads VmHWM, the process's peak resident set, from Linux's
// /proc; 0 elsewhere.
func peakRSS(b *testing.B) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	return 0
}
