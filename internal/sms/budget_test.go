package sms_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/sms"
	"github.com/linkbox/linkbox/internal/sms/smstest"
)

// Numbers of several countries by their numbering plans.
const (
	phoneBI  = "+25761234567"  // Burundi
	phoneBI2 = "+25761234568"  // Burundi
	phoneGB  = "+447400123456" // United Kingdom: GB
	phoneFR  = "+33612345678"  // France
	phoneDE  = "+4915123456789"
	phoneSat = "+881612345678" // Global Mobile Satellite System: no country
)

// clock is a settable clock for the memory limiter.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newBudget(t *testing.T, l ratelimit.Limiter, cfg sms.BudgetConfig) *sms.Budget {
	t.Helper()
	b, err := sms.NewBudget(l, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// allow takes one SMS to each phone, failing the test on a refusal.
func allow(t *testing.T, b *sms.Budget, phones ...string) {
	t.Helper()
	for _, p := range phones {
		if err := b.Take(context.Background(), p); err != nil {
			t.Fatalf("SMS to %s: %v, want allowed", p, err)
		}
	}
}

// exhausted checks that an SMS to phone is refused as over budget, and
// returns the RetryAfter.
func exhausted(t *testing.T, b *sms.Budget, phone string) time.Duration {
	t.Helper()
	err := b.Take(context.Background(), phone)
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.TooMany || e.Code != "sms_budget_exhausted" || e.RetryAfter < time.Second {
		t.Fatalf("SMS to %s: %v, want TooMany sms_budget_exhausted with a RetryAfter", phone, err)
	}
	return e.RetryAfter
}

func TestBudgetRefusesAfterTheHourlyBudget(t *testing.T) {
	c := newClock()
	b := newBudget(t, ratelimit.NewMemory(c.now), sms.BudgetConfig{PerHour: 3})
	allow(t, b, phoneBI, phoneGB, phoneFR)
	if got := exhausted(t, b, phoneDE); got != 20*time.Minute {
		t.Errorf("RetryAfter = %s, want 20m0s (3 an hour: one every 20 minutes)", got)
	}
	c.advance(20 * time.Minute)
	allow(t, b, phoneDE)
	exhausted(t, b, phoneDE)
}

func TestBudgetPerCountry(t *testing.T) {
	b := newBudget(t, ratelimit.NewMemory(newClock().now), sms.BudgetConfig{PerCountryPerHour: 2})
	allow(t, b, phoneBI, phoneBI2)
	exhausted(t, b, phoneBI)
	allow(t, b, phoneGB, phoneGB, phoneFR)
	exhausted(t, b, phoneGB)
}

// A country over its budget must not spend the deployment's: refused, its
// SMS leave the budget every other country shares untouched.
func TestBudgetCountryRefusalsSpareTheTotal(t *testing.T) {
	b := newBudget(t, ratelimit.NewMemory(newClock().now), sms.BudgetConfig{PerHour: 3, PerCountryPerHour: 1})
	allow(t, b, phoneBI)
	for range 10 {
		exhausted(t, b, phoneBI2)
	}
	allow(t, b, phoneGB, phoneFR)
	exhausted(t, b, phoneDE)
}

func TestBudgetAllowList(t *testing.T) {
	b := newBudget(t, ratelimit.NewMemory(newClock().now), sms.BudgetConfig{Countries: []string{"bi", "GB"}})
	allow(t, b, phoneBI, phoneGB)
	for _, p := range []string{phoneFR, phoneSat, "+999", "not a number"} {
		err := b.Take(context.Background(), p)
		if !errs.Is(err, errs.Invalid, "sms_country_not_allowed") {
			t.Errorf("SMS to %s: %v, want Invalid sms_country_not_allowed", p, err)
		}
		if e := errs.From(err); e.Message != "SMS cannot be sent to this country" {
			t.Errorf("SMS to %s: message %q", p, e.Message)
		}
	}
}

func TestBudgetZeroMeansNoBudget(t *testing.T) {
	b := newBudget(t, ratelimit.NewMemory(newClock().now), sms.BudgetConfig{})
	for range 2000 {
		allow(t, b, phoneBI)
	}
}

// LINKBOX_RATE_LIMITS=off lifts the budgets, not the allow-list.
func TestBudgetUnlimited(t *testing.T) {
	b := newBudget(t, ratelimit.Unlimited{}, sms.BudgetConfig{PerHour: 1, PerCountryPerHour: 1, Countries: []string{"BI"}})
	allow(t, b, phoneBI, phoneBI, phoneBI)
	if err := b.Take(context.Background(), phoneGB); !errs.Is(err, errs.Invalid, "sms_country_not_allowed") {
		t.Errorf("SMS to GB: %v, want sms_country_not_allowed", err)
	}
}

func TestNewBudgetRejectsBadConfig(t *testing.T) {
	for _, cfg := range []sms.BudgetConfig{
		{PerHour: -1},
		{PerCountryPerHour: -1},
		{Countries: []string{"UK"}}, // the United Kingdom's code is GB
		{Countries: []string{"BI", "XX"}},
		{Countries: []string{""}},
	} {
		if _, err := sms.NewBudget(ratelimit.Unlimited{}, cfg); err == nil {
			t.Errorf("NewBudget(%+v) = nil error, want one", cfg)
		}
	}
}

// testRedis connects to LINKBOX_TEST_REDIS_URL, failing when it is set but
// unreachable, skipping when it is unset and nothing answers locally.
func testRedis(t *testing.T) *redis.Client {
	t.Helper()
	url, required := os.Getenv("LINKBOX_TEST_REDIS_URL"), true
	if url == "" {
		url, required = "redis://127.0.0.1:6379/0", false
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		if required {
			t.Fatalf("Redis at LINKBOX_TEST_REDIS_URL unreachable: %v", err)
		}
		t.Skipf("no Redis at %s: %v", url, err)
	}
	return c
}

// Two instances sharing one Redis and prefix share one budget.
func TestBudgetSharedThroughRedis(t *testing.T) {
	c := testRedis(t)
	prefix := "linkbox-test:sms:" + rand.Text() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	cfg := sms.BudgetConfig{PerHour: 3, PerCountryPerHour: 2}
	a := newBudget(t, ratelimit.NewRedis(c, prefix), cfg)
	b := newBudget(t, ratelimit.NewRedis(c, prefix), cfg)
	allow(t, a, phoneBI)
	allow(t, b, phoneBI2)
	exhausted(t, a, phoneBI) // Burundi's 2 spent, one on each instance
	allow(t, a, phoneGB)
	exhausted(t, b, phoneFR) // the deployment's 3 spent
	if n, _ := c.Exists(context.Background(), prefix+"sms:all", prefix+"sms:country:BI").Result(); n != 2 {
		t.Errorf("keys sms:all and sms:country:BI under the prefix: %d exist, want 2", n)
	}
}

// Enqueue consults the budget: a refusal is returned to the caller, whose
// transaction then writes nothing.
func TestEnqueueRefusedByTheBudget(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		q := newQueue(t, d, smstest.NewGateway(t))
		q.Budget = newBudget(t, ratelimit.NewMemory(newClock().now), sms.BudgetConfig{PerHour: 1, Countries: []string{"BI", "GB"}})
		enqueue(t, d, q, phoneBI, "one", true)
		for _, c := range []struct {
			to   string
			kind errs.Kind
			code string
		}{
			{phoneGB, errs.TooMany, "sms_budget_exhausted"},
			{phoneFR, errs.Invalid, "sms_country_not_allowed"},
		} {
			err := d.InTx(context.Background(), func(ctx context.Context, tx *db.Tx) error {
				// A write of the caller's before the SMS, to be rolled back with it.
				if _, err := tx.Exec(context.Background(), `INSERT INTO settings (key, value) VALUES (?, 'before')`, "before_"+c.code); err != nil {
					return err
				}
				return q.Enqueue(context.Background(), tx, c.to, "two")
			})
			if !errs.Is(err, c.kind, c.code) {
				t.Errorf("Enqueue to %s: %v, want %s", c.to, err, c.code)
			}
		}
		var queued, before int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM outbox`).Scan(&queued); err != nil || queued != 1 {
			t.Errorf("after two refused transactions: %d messages queued (%v), want 1", queued, err)
		}
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM settings WHERE key LIKE 'before_%'`).Scan(&before); err != nil || before != 0 {
			t.Errorf("after two refused transactions: %d of their writes kept (%v), want 0", before, err)
		}
	})
}

func TestConsoleProviderWarnsAtStartUp(t *testing.T) {
	var buf bytes.Buffer
	if _, err := sms.New(sms.Config{Provider: "console"}, slog.New(slog.NewJSONHandler(&buf, nil))); err != nil {
		t.Fatal(err)
	}
	var line struct{ Level, Msg string }
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line.Level != "WARN" || !strings.Contains(line.Msg, "console") {
		t.Errorf("start-up log %q: want one WARN line about the console provider", buf.String())
	}
	buf.Reset()
	if _, err := sms.New(sms.Config{Provider: "webhook", WebhookURL: "https://gw.example/sms", WebhookSecret: testSecret}, slog.New(slog.NewJSONHandler(&buf, nil))); err != nil || buf.Len() != 0 {
		t.Errorf("webhook provider: %v, log %q; want no line", err, buf.String())
	}
}
