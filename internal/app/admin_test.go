package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/outbox"
	"github.com/linkbox/linkbox/internal/sms"
	"github.com/linkbox/linkbox/internal/sms/smstest"
)

// cli runs one linkbox command on the store at url and decodes its --json
// output into out (when out is not nil).
func cli(t *testing.T, url string, out any, args ...string) error {
	t.Helper()
	var stdout bytes.Buffer
	vars := map[string]string{"LINKBOX_DATABASE_URL": url, "LINKBOX_SECRET": strings.Repeat("s", 32)}
	err := app.Run(context.Background(), args, env(vars), &stdout, io.Discard)
	if err == nil && out != nil {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			t.Fatalf("%v: output %q: %v", args, stdout.String(), err)
		}
	}
	return err
}

func TestAdminCommands(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		var user map[string]any
		if err := cli(t, url, &user, "users", "create", "--phone", "+25761234567", "--password", "a good password",
			"--first-name", "Ann", "--last-name", "Agent", "--email", "ann@example.com", "--role", "agent", "--json"); err != nil {
			t.Fatal(err)
		}
		if user["role"] != "agent" || user["status"] != "active" || user["object"] != "user" || user["verified_at"] == nil {
			t.Errorf("users create = %v, want an active, verified agent", user)
		}
		if err := cli(t, url, nil, "users", "create", "--phone", "+25761234567", "--password", "a good password",
			"--first-name", "A", "--last-name", "B", "--email", "a@example.com"); err == nil {
			t.Error("a second account with the same phone was created")
		}
		if err := cli(t, url, &user, "users", "set-status", "--phone", "+25761234567", "--status", "blocked", "--json"); err != nil || user["status"] != "blocked" {
			t.Errorf("set-status = %v, %v; want blocked", user, err)
		}
		if err := cli(t, url, nil, "users", "set-status", "--phone", "+25761234567", "--status", "deleted"); err == nil {
			t.Error("set-status accepted an unknown status")
		}

		var created struct {
			ID     string `json:"id"`
			APIKey string `json:"api_key"`
		}
		if err := cli(t, url, &created, "apps", "create", "--name", "Shop", "--return-url", "https://shop.example/back/", "--json"); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(created.APIKey, "lbk_") {
			t.Errorf("apps create api_key = %q", created.APIKey)
		}
		if err := cli(t, url, nil, "apps", "create", "--name", "Bad", "--return-url", "http://shop.example/"); err == nil {
			t.Error("apps create accepted a plain-http return URL off localhost")
		}
		var rotated map[string]string
		if err := cli(t, url, &rotated, "apps", "rotate-key", created.ID, "--json"); err != nil || rotated["api_key"] == created.APIKey {
			t.Errorf("rotate-key = %v, %v; want a new key", rotated, err)
		}
		var updated map[string]any
		if err := cli(t, url, &updated, "apps", "update", created.ID, "--name", "Shop Two", "--return-url", "https://shop.example/cb",
			"--return-url", "https://shop.example/alt/", "--otp-ttl", "2m", "--json"); err != nil ||
			updated["name"] != "Shop Two" || updated["otp_ttl"] != "2m0s" || fmt.Sprint(updated["return_urls"]) != "[https://shop.example/cb https://shop.example/alt/]" {
			t.Errorf("apps update = %v, %v", updated, err)
		}
		for _, bad := range [][]string{{"apps", "update", created.ID}, {"apps", "update", created.ID, "--otp-ttl", "2h"},
			{"apps", "update", created.ID, "--return-url", "http://shop.example/"}, {"apps", "update", "app_nope", "--name", "X"}} {
			if err := cli(t, url, nil, bad...); err == nil {
				t.Errorf("%v succeeded", bad)
			}
		}
		var hook map[string]string
		if err := cli(t, url, &hook, "apps", "set-webhook", created.ID, "--url", "https://shop.example/hooks", "--json"); err != nil ||
			!strings.HasPrefix(hook["secret"], "whsec_") {
			t.Errorf("apps set-webhook = %v, %v", hook, err)
		}
		for _, bad := range [][]string{{"apps", "set-webhook", created.ID}, {"apps", "set-webhook", created.ID, "--url", "http://shop.example/hooks"},
			{"apps", "set-webhook", "app_nope", "--url", "https://shop.example/hooks"}} {
			if err := cli(t, url, nil, bad...); err == nil {
				t.Errorf("%v succeeded", bad)
			}
		}
		var list struct{ Apps []map[string]any }
		if err := cli(t, url, &list, "apps", "list", "--json"); err != nil || len(list.Apps) != 1 || list.Apps[0]["name"] != "Shop Two" ||
			list.Apps[0]["otp_ttl"] != "2m0s" || list.Apps[0]["webhook_url"] != "https://shop.example/hooks" {
			t.Errorf("apps list = %v, %v", list, err)
		}
		if err := cli(t, url, nil, "apps", "set-webhook", created.ID, "--url", ""); err != nil {
			t.Errorf("removing the webhook: %v", err)
		}
		if err := cli(t, url, &list, "apps", "list", "--json"); err != nil || list.Apps[0]["webhook_url"] != "" {
			t.Errorf("apps list after removing the webhook = %v, %v", list, err)
		}
		if err := cli(t, url, nil, "apps", "delete", created.ID); err != nil {
			t.Fatal(err)
		}
		if err := cli(t, url, &list, "apps", "list", "--json"); err != nil || len(list.Apps) != 0 {
			t.Errorf("apps list after delete = %v, %v", list, err)
		}
		if err := cli(t, url, nil, "apps", "delete", created.ID); err == nil {
			t.Error("deleting a deleted app succeeded")
		}
		var key map[string]string
		if err := cli(t, url, &key, "keys", "rotate", "--json"); err != nil || key["kid"] == "" {
			t.Errorf("keys rotate = %v, %v", key, err)
		}
	})
}

// TestOnlyServeRunsTheWorkers: admin commands leave an SMS queued by another
// process alone, not so much as trying to send it; serve delivers it.
func TestOnlyServeRunsTheWorkers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		d := dbtest.Open(t, url)
		const to, body = "+25769876543", "Your code is 123456"
		q := sms.NewQueue(outbox.New(d, slog.New(slog.DiscardHandler), time.Now), nil, nil)
		if err := d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error { return q.Enqueue(ctx, tx, to, body) }); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"apps", "list"}, {"users", "create", "--phone", "+25761234567", "--password", "a good password",
			"--first-name", "Ann", "--last-name", "Agent", "--email", "ann@example.com"}} {
			if err := cli(t, url, nil, args...); err != nil {
				t.Fatalf("%v: %v", args, err)
			}
		}
		var attempts int
		if err := d.QueryRow(ctx, `SELECT attempts FROM outbox`).Scan(&attempts); err != nil || attempts != 0 {
			t.Fatalf("after admin commands the SMS has %d attempts (%v), want it queued and untried", attempts, err)
		}

		gw := smstest.NewGateway(t)
		serve(t, map[string]string{"LINKBOX_DATABASE_URL": url, "LINKBOX_SECRET": strings.Repeat("s", 32),
			"LINKBOX_SMS_PROVIDER": "webhook", "LINKBOX_SMS_WEBHOOK_URL": gw.URL(), "LINKBOX_SMS_WEBHOOK_SECRET": gw.Secret()})
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if m, err := gw.Wait(wctx, to); err != nil || m.Body != body {
			t.Errorf("serve delivered %+v, %v; want the queued SMS", m, err)
		}
	})
}

// TestOutboxCommands: a given-up SMS is listed with its error (its body
// is not), and cannot be replayed: its code was erased. An unknown id is
// refused too.
func TestOutboxCommands(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		s := apptest.Start(t, url, nil, app.Options{})
		s.SMS.FailNext(1, http.StatusBadRequest) // a 4xx: given up at once
		if r := s.Call(t, "POST", "/v1/auth/signup", "", signupOf("+25761234567")); r.Status != http.StatusCreated {
			t.Fatalf("sign-up: %d %s", r.Status, r.Body)
		}
		var out struct{ Messages []outbox.Entry }
		deadline := time.Now().Add(10 * time.Second)
		for len(out.Messages) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			if err := cli(t, url, &out, "outbox", "list", "--state", "given_up", "--json"); err != nil {
				t.Fatal(err)
			}
		}
		if len(out.Messages) != 1 || out.Messages[0].Kind != "sms" || out.Messages[0].LastError == "" || out.Messages[0].Attempts != 1 {
			t.Fatalf("given-up messages = %+v, want the one SMS with its error", out.Messages)
		}
		var pending struct{ Messages []outbox.Entry }
		if err := cli(t, url, &pending, "outbox", "list", "--state", "pending", "--json"); err != nil || len(pending.Messages) != 0 {
			t.Errorf("pending = %+v, %v; want none", pending.Messages, err)
		}
		for _, id := range []string{out.Messages[0].ID, "webhook_unknown"} {
			if err := cli(t, url, nil, "outbox", "replay", id); !errs.Is(err, errs.NotFound, "outbox_message_not_found") {
				t.Errorf("replay %s: %v, want outbox_message_not_found", id, err)
			}
		}
		if err := cli(t, url, nil, "outbox", "list", "--state", "sent"); !errs.Is(err, errs.Invalid, "invalid_state") {
			t.Errorf("list --state sent: %v, want invalid_state", err)
		}
	})
}

// TestUsersListAndDelete: users list shows every account oldest first, or
// those of one status; users delete erases an account that has an inbox
// and a live stream — the stream ends, its tokens stop working — and an
// unknown or malformed phone is refused.
func TestUsersListAndDelete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		s := apptest.Start(t, url, nil, app.Options{})
		ann := s.SignUp(t, "+25761234567")
		s.SignUp(t, "+25761234568")
		if err := cli(t, url, nil, "users", "set-status", "--phone", "+25761234568", "--status", "blocked"); err != nil {
			t.Fatal(err)
		}
		var list struct{ Users []map[string]any }
		if err := cli(t, url, &list, "users", "list", "--json"); err != nil || len(list.Users) != 2 ||
			list.Users[0]["phone"] != "+25761234567" || list.Users[1]["status"] != "blocked" {
			t.Fatalf("users list = %v, %v", list, err)
		}
		if err := cli(t, url, &list, "users", "list", "--status", "blocked", "--json"); err != nil || len(list.Users) != 1 || list.Users[0]["phone"] != "+25761234568" {
			t.Errorf("users list --status blocked = %v, %v", list, err)
		}
		if err := cli(t, url, nil, "users", "list", "--status", "gone"); err == nil {
			t.Error("users list accepted an unknown status")
		}

		events := s.Stream(t, ann)
		apptest.Next(t, events)
		var deleted map[string]any
		if err := cli(t, url, &deleted, "users", "delete", "--phone", "+25761234567", "--json"); err != nil || deleted["deleted"] != true {
			t.Fatalf("users delete = %v, %v", deleted, err)
		}
		if err := cli(t, url, &list, "users", "list", "--json"); err != nil || len(list.Users) != 1 || list.Users[0]["phone"] != "+25761234568" {
			t.Errorf("users list after the deletion = %v, %v", list, err)
		}
		for range events { // the stream ends, whatever it said before
		}
		if r := s.Call(t, "GET", "/v1/auth/me", ann, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("the deleted account's token: %d, want 401", r.Status)
		}
		if r := s.Call(t, "POST", "/v1/auth/login", "", map[string]string{"phone": "+25761234567", "password": apptest.Password}); r.Status != http.StatusUnauthorized {
			t.Errorf("logging in to the deleted account: %d, want 401", r.Status)
		}
		for _, phone := range []string{"+25761234567", "not a phone", ""} {
			if err := cli(t, url, nil, "users", "delete", "--phone", phone); err == nil {
				t.Errorf("users delete --phone %q succeeded", phone)
			}
		}
	})
}
