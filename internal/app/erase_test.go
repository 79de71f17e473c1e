package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/numbers"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// TestDeleteUserErasesEverything gives an account rows through the
// surfaces themselves — a link to an app with a webhook and an OTP sent
// through it, a rental with an Idempotency-Key, a refresh session — then
// deletes it with the command, the erasers wired: no table with a user_id
// keeps a row of it, its number is free again, its keys are gone, and the
// app is told.
func TestDeleteUserErasesEverything(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		s := apptest.Start(t, url, nil, app.Options{})
		ctx := context.Background()
		token := s.SignUp(t, "+25761234567")
		id := s.Call(t, "GET", "/v1/auth/me", token, nil).JSON(t)["id"].(string)
		s.Login(t, "+25761234567", apptest.Password)

		hooks := make(chan map[string]any, 4)
		var signer *webhooks.Signer
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := signer.Verify(r.Header, body, time.Now()); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			var ev map[string]any
			json.Unmarshal(body, &ev)
			hooks <- ev
		}))
		defer rcv.Close()
		a, key, err := s.Server.Connect.CreateApp(ctx, "Shop", []string{"https://shop.example/back/"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		secret, err := s.Server.Connect.SetWebhook(ctx, a.ID, rcv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if signer, err = webhooks.NewSigner(secret); err != nil {
			t.Fatal(err)
		}
		_, out := api(t, s, key, "/api/link-account", map[string]string{"user_id": "100", "return_url": "https://shop.example/back/100"})
		if _, err := s.Server.Connect.ApproveLink(ctx, strings.TrimPrefix(out["url"].(string), s.URL+"/linking/"), id); err != nil {
			t.Fatal(err)
		}
		if ev := <-hooks; ev["type"] != "link.approved" {
			t.Fatalf("webhook %v, want link.approved", ev)
		}
		if status, _ := api(t, s, key, "/api/otp", map[string]string{"user_id": "100", "reference": "r", "message": "code"}); status != 200 {
			t.Fatalf("otp: %d", status)
		}
		n := s.Server.Numbers
		if err := n.SetPrice(ctx, numbers.Price{Service: "telegram", Country: "US", Operator: "verizon", Cost: 50_000}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.AddNumber(ctx, numbers.Number{Number: "+12025550100", Country: "US", Operator: "verizon", Services: []string{"telegram"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Approve(ctx, "+25761234567"); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Grant(ctx, "+25761234567", 1000, "test"); err != nil {
			t.Fatal(err)
		}
		if r := s.Call(t, "POST", "/api/internal/rent", token, map[string]string{"service": "telegram", "country": "US"},
			"Idempotency-Key", "first"); r.Status != http.StatusOK {
			t.Fatalf("rent: %d %s", r.Status, r.Body)
		}

		d := dbtest.Open(t, url)
		holdings := userHoldings(t, d, id) // every table is filled in package accounts' test; here, the surfaces' own writes
		for _, table := range []string{"links", "inbox_messages", "refresh_tokens", "numbers_rentals", "numbers_ledger"} {
			if holdings[table] == 0 {
				t.Fatalf("no row of the account in %s before the deletion: %v", table, holdings)
			}
		}
		if err := cli(t, url, nil, "users", "delete", "--phone", "+25761234567"); err != nil {
			t.Fatal(err)
		}
		for table, c := range userHoldings(t, d, id) {
			if c != 0 && table != "stream_revocations" {
				t.Errorf("%s: %d rows of the deleted account (%d before)", table, c, holdings[table])
			}
		}
		for what, q := range map[string]string{
			"numbers held":     `SELECT COUNT(*) FROM numbers_pool WHERE rental_id IS NOT NULL`,
			"idempotency keys": `SELECT COUNT(*) FROM idempotency_keys`,
		} {
			var c int
			if err := d.QueryRow(ctx, q).Scan(&c); err != nil || c != 0 {
				t.Errorf("%s after the deletion: %d (%v), want 0", what, c, err)
			}
		}
		select {
		case ev := <-hooks:
			data, _ := ev["data"].(map[string]any)
			if ev["type"] != "link.unlinked" || data["user_id"] != "100" || data["by"] != "account_deleted" {
				t.Errorf("webhook %v, want link.unlinked of 100 by account_deleted", ev)
			}
		case <-time.After(10 * time.Second):
			t.Error("the app was not told of the deleted account's link")
		}
	})
}

// userHoldings counts the rows of account id in every table with a user_id
// column, as the schema has them on this engine.
func userHoldings(t *testing.T, d *db.DB, id string) map[string]int {
	t.Helper()
	tables := dbtest.TablesWithColumn(t, d, "user_id")
	if len(tables) < 5 {
		t.Fatalf("tables with user_id: %v", tables)
	}
	out := map[string]int{}
	for _, table := range tables {
		var c int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table+` WHERE user_id = ?`, id).Scan(&c); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		out[table] = c
	}
	return out
}
