package sms_test

import (
	"context"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/sms/smstest"
)

// TestMigrationOutbox: migration 0012 moves sms_outbox's rows into the
// outbox as kind sms, with their ids, attempts and state: the pending one
// is then sent, under its old id, as the first of its remaining attempts;
// those sent or given up stay so, without a body; sms_outbox is gone.
func TestMigrationOutbox(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		old, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if err := old.MigrateTo(ctx, 11); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UnixMilli()
		for _, r := range []struct {
			id, to, body     string
			attempts         int
			sent, failed     any
			lockedUntil, due int64
		}{
			{"sms_pending", "+15550000010", "Your code is 111111", 2, nil, nil, now - 1000, now - 1000},
			{"sms_sent", "+15550000011", "", 1, now, nil, 0, now},
			{"sms_failed", "+15550000012", "", 8, nil, now, 0, now},
		} {
			if _, err := old.Exec(ctx, `INSERT INTO sms_outbox (id, to_phone, body, attempts, next_attempt_at, locked_until, last_error, created_at, sent_at, failed_at)
				VALUES (?, ?, ?, ?, ?, ?, 'before', ?, ?, ?)`, r.id, r.to, r.body, r.attempts, r.due, r.lockedUntil, now-5000, r.sent, r.failed); err != nil {
				t.Fatal(err)
			}
		}
		old.Close()

		d := dbtest.Open(t, url) // migrates
		var tables int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE id IN ('sms_sent', 'sms_failed') AND payload NOT LIKE '%body%'`).Scan(&tables); err != nil || tables != 2 {
			t.Errorf("finished rows without a body: %d (%v), want 2", tables, err)
		}
		if _, err := d.Exec(ctx, `SELECT 1 FROM sms_outbox`); err == nil {
			t.Error("sms_outbox still exists")
		}
		g := smstest.NewGateway(t)
		run(t, newQueue(t, d, g))
		if m := wait(t, g, "+15550000010"); m.ID != "sms_pending" || m.Body != "Your code is 111111" {
			t.Errorf("migrated SMS sent as %+v, want its id and body", m)
		}
		if s := eventually(t, d, "+15550000010", func(s state) bool { return s.delivered }); s.attempts != 3 {
			t.Errorf("migrated SMS: %+v, want sent at its third attempt", s)
		}
		if s := status(t, d, "+15550000011"); !s.delivered || s.givenUp || s.attempts != 1 {
			t.Errorf("sent row after the migration: %+v", s)
		}
		if s := status(t, d, "+15550000012"); s.delivered || !s.givenUp || s.attempts != 8 {
			t.Errorf("given-up row after the migration: %+v", s)
		}
		if n := len(g.Messages()); n != 1 {
			t.Errorf("%d SMS sent, want only the pending one", n)
		}
	})
}
