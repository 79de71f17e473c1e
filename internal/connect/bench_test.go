package connect_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// benchUsers is how many linked users the benchmarks spread their requests
// over, so that they measure the store rather than one user's row lock.
const benchUsers = 1000

// benchEnv is an env on SQLite without rate limits, with benchUsers app
// users "u0"… linked to as many accounts, and the Connect handler.
func benchEnv(b *testing.B) (*env, string, http.Handler) {
	b.Helper()
	e := newEnv(b, dbtest.SQLite(b), nil)
	app, key := e.createApp("Bench")
	now := e.clock.Now().UnixMilli()
	err := e.db.InTx(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		for i := range benchUsers {
			id := fmt.Sprintf("user_bench%06d", i)
			if _, err := tx.Exec(context.Background(), `INSERT INTO users
				(id, phone, password_hash, first_name, last_name, email, username, role, status, created_at, updated_at)
				VALUES (?, ?, 'x', 'B', 'U', ?, NULL, 'user', 'active', ?, ?)`,
				id, fmt.Sprintf("+4479%08d", i), fmt.Sprintf("u%d@example.org", i), now, now); err != nil {
				return err
			}
			if _, err := tx.Exec(context.Background(), `INSERT INTO links (app_id, external_user_id, user_id, created_at)
				VALUES (?, ?, ?, ?)`, app.ID, fmt.Sprintf("u%d", i), id, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return e, key, routes(e.svc)
}

// serve runs one request through h and fails the benchmark unless it
// answers 200.
func serve(b *testing.B, h http.Handler, key, path, body string) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Errorf("%s: %d %s", path, rec.Code, rec.Body)
	}
}

// runParallel runs op(i) b.N times over GOMAXPROCS goroutines, i counting
// up from 0, and reports the throughput.
func runParallel(b *testing.B, op func(i int64)) {
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op(next.Add(1) - 1)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkLinkStatusLinked(b *testing.B) {
	_, key, h := benchEnv(b)
	runParallel(b, func(i int64) {
		serve(b, h, key, "/api/link-account",
			fmt.Sprintf(`{"user_id":"u%d","return_url":"https://your-app.com/nofbox-return/"}`, i%benchUsers))
	})
}

func BenchmarkOTPSend(b *testing.B) {
	_, key, h := benchEnv(b)
	runParallel(b, func(i int64) {
		serve(b, h, key, "/api/otp",
			fmt.Sprintf(`{"user_id":"u%d","reference":"login","message":"Your code"}`, i%benchUsers))
	})
}

func BenchmarkOTPVerify(b *testing.B) {
	e, key, h := benchEnv(b)
	codes := make([]string, b.N)
	for i := range codes {
		serve(b, h, key, "/api/otp", fmt.Sprintf(`{"user_id":"u%d","reference":"r%d","message":"Your code"}`, i%benchUsers, i))
		codes[i] = e.newest(account{id: fmt.Sprintf("user_bench%06d", i%benchUsers)}).Code
	}
	runParallel(b, func(i int64) {
		serve(b, h, key, "/api/otp/verify",
			fmt.Sprintf(`{"user_id":"u%d","reference":"r%d","code":"%s"}`, i%benchUsers, i, codes[i]))
	})
}

func BenchmarkNotification(b *testing.B) {
	_, key, h := benchEnv(b)
	runParallel(b, func(i int64) {
		serve(b, h, key, "/api/notification",
			fmt.Sprintf(`{"user_id":"u%d","message":"Deposit $1.0 received successfuly"}`, i%benchUsers))
	})
}
