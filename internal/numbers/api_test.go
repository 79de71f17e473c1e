package numbers_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/numbers"
)

// fixtures numbers the fixtures, whose numbers and phones differ so that
// subtests may share a store.
var fixtures atomic.Int64

// fixture is a stack with a priced pool and an approved account.
type fixture struct {
	st    *apptest.Stack
	clock *clocktest.Clock
	token string
	phone string
}

func start(t *testing.T, url string, pool int, credits int64, settings map[string]string) fixture {
	t.Helper()
	clock := clocktest.New(time.Date(2026, 4, 29, 9, 40, 0, 0, time.UTC))
	st := apptest.Start(t, url, settings, app.Options{Now: clock.Now})
	ctx := context.Background()
	n := st.Server.Numbers
	if err := n.SetPrice(ctx, numbers.Price{Service: "telegram", Country: "US", Operator: "verizon", Cost: 50000, RentPerHour: 10000}); err != nil {
		t.Fatal(err)
	}
	base := fixtures.Add(1) * 1000
	for i := range int64(pool) {
		if _, err := n.AddNumber(ctx, numbers.Number{Number: fmt.Sprintf("+1202%07d", base+i), Country: "US", Operator: "verizon",
			Services: []string{"telegram", "whatsapp"}}); err != nil {
			t.Fatal(err)
		}
	}
	phone := fmt.Sprintf("+1415555%04d", base/100)
	tok := st.SignUp(t, phone)
	if _, err := n.Approve(ctx, phone); err != nil {
		t.Fatal(err)
	}
	if credits > 0 {
		if _, err := n.Grant(ctx, phone, credits, "test"); err != nil {
			t.Fatal(err)
		}
	}
	return fixture{st: st, clock: clock, token: tok, phone: phone}
}

func (f fixture) checkLedger(t *testing.T) int64 {
	t.Helper()
	ctx := context.Background()
	r := f.st.Call(t, "GET", "/api/internal/balance", f.token, nil).JSON(t)
	a, err := f.st.Server.Numbers.Account(ctx, userID(t, f))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := f.st.Server.Numbers.LedgerSum(ctx, a.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if sum != a.Credits || int64(r["credits"].(float64)) != a.Credits {
		t.Fatalf("ledger sums to %d, balance %d, API says %v", sum, a.Credits, r["credits"])
	}
	return a.Credits
}

func userID(t *testing.T, f fixture) string {
	t.Helper()
	r := f.st.Call(t, "GET", "/api/user/profile", f.token, nil).JSON(t)
	return r["data"].(map[string]any)["id"].(string)
}

func hasRateHeaders(t *testing.T, r apptest.Response, what string) {
	t.Helper()
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if r.Header.Get(h) == "" {
			t.Errorf("%s: no %s", what, h)
		}
	}
}

// TestSeedExamples sends every request of the seed's curl, Python and
// JavaScript examples (they are the same four requests) and checks shapes.
func TestSeedExamples(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 3, 2000, nil)
		r := f.st.Call(t, "GET", "/api/public/prices?service=telegram&country=US", "", nil)
		hasRateHeaders(t, r, "prices")
		m := r.JSON(t)
		got := m["data"].(map[string]any)["US"].(map[string]any)["telegram"].(map[string]any)["services"].(map[string]any)["verizon"].(map[string]any)
		if r.Status != 200 || m["success"] != true || m["source"] != "api" || got["cost"] != "0.05" || got["count"] != "3" {
			t.Fatalf("prices: %d %s", r.Status, r.Body)
		}
		r = f.st.Call(t, "GET", "/api/public/rent-prices?service=telegram&country=US", "", nil)
		if m := r.JSON(t); r.Status != 200 || fmt.Sprint(m["data"]) == "map[]" {
			t.Fatalf("rent-prices: %d %s", r.Status, r.Body)
		}
		if r := f.st.Call(t, "GET", "/api/public/rent-prices", "", nil); r.Status != 400 || r.JSON(t)["success"] != false {
			t.Fatalf("rent-prices without service: %d %s", r.Status, r.Body)
		}
		for _, method := range []string{"GET", "POST"} {
			r = f.st.Call(t, method, "/api/internal/balance", f.token, nil, "Content-Type", "application/json")
			hasRateHeaders(t, r, "balance")
			m = r.JSON(t)
			if r.Status != 200 || m["credits"] != 2000.0 || m["balance"] != 1.0 || m["isApproved"] != true || m["freeCreditsUsed"] != 0.0 {
				t.Fatalf("%s balance: %d %s", method, r.Status, r.Body)
			}
		}
		r = f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "telegram", "country": "US"})
		hasRateHeaders(t, r, "rent")
		m = r.JSON(t)
		d, _ := m["data"].(map[string]any)
		if r.Status != 200 || m["remainingCredits"] != 1900.0 || d["service"] != "telegram" || d["country"] != "US" ||
			d["status"] != "waiting" || d["expiresAt"] != "2026-04-29T10:00:00Z" || d["operator"] != "verizon" {
			t.Fatalf("rent: %d %s", r.Status, r.Body)
		}
		r = f.st.Call(t, "GET", "/api/internal/transactions?page=1&limit=20", f.token, nil)
		m = r.JSON(t)
		if r.Status != 200 || m["total"] != 2.0 || m["totalPages"] != 1.0 {
			t.Fatalf("transactions: %d %s", r.Status, r.Body)
		}
		if e := m["data"].([]any)[0].(map[string]any); e["credits"] != -100.0 || e["balanceAfter"] != 1900.0 || e["rentalId"] != d["id"] {
			t.Fatalf("newest entry: %v", e)
		}
		if r := f.st.Call(t, "GET", "/api/user/profile", f.token, nil); r.Status != 200 || r.JSON(t)["data"].(map[string]any)["isApproved"] != true {
			t.Fatalf("profile: %d %s", r.Status, r.Body)
		}
		for _, tok := range []string{"", "nonsense"} {
			r := f.st.Call(t, "GET", "/api/internal/balance", tok, nil)
			hasRateHeaders(t, r, "401")
			if r.Status != 401 || r.JSON(t)["error"] != "Missing or invalid token" {
				t.Fatalf("token %q: %d %s", tok, r.Status, r.Body)
			}
		}
		f.checkLedger(t)
	})
}

// rentAll sends n rents at once and counts the answers by status.
func rentAll(t *testing.T, f fixture, n int, headers ...string) (map[int]int, []string) {
	var mu sync.Mutex
	codes := map[int]int{}
	var got []string
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r := f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "telegram", "country": "US"}, headers...)
			mu.Lock()
			defer mu.Unlock()
			codes[r.Status]++
			if r.Status == 200 {
				got = append(got, r.JSON(t)["data"].(map[string]any)["number"].(string))
			}
		})
	}
	wg.Wait()
	return codes, got
}

func distinct(v []string) int {
	m := map[string]bool{}
	for _, x := range v {
		m[x] = true
	}
	return len(m)
}

// TestConcurrentRents: 40 rents at once with credits for 10.
func TestConcurrentRents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 50, 1000, nil)
		codes, got := rentAll(t, f, 40)
		if codes[200] != 10 || codes[402] != 30 || distinct(got) != 10 {
			t.Fatalf("answers %v, %d distinct numbers", codes, distinct(got))
		}
		if c := f.checkLedger(t); c != 0 {
			t.Fatalf("left %d credits", c)
		}
	})
}

// TestConcurrentRentsPool: 40 rents at once on a pool of 10.
func TestConcurrentRentsPool(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 10, 100000, nil)
		codes, got := rentAll(t, f, 40)
		if codes[200] != 10 || codes[404] != 30 || distinct(got) != 10 {
			t.Fatalf("answers %v, %d distinct numbers", codes, distinct(got))
		}
		if c := f.checkLedger(t); c != 100000-1000 {
			t.Fatalf("left %d credits", c)
		}
	})
}

// TestConcurrentReplays: 10 rents at once with one Idempotency-Key.
func TestConcurrentReplays(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 10, 100000, nil)
		codes, got := rentAll(t, f, 10, "Idempotency-Key", "k-1")
		if codes[200] != 10 || distinct(got) != 1 {
			t.Fatalf("answers %v, %d distinct numbers", codes, distinct(got))
		}
		if c := f.checkLedger(t); c != 100000-100 {
			t.Fatalf("left %d credits: charged more than once", c)
		}
		r := f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "telegram", "country": "GB"}, "Idempotency-Key", "k-1")
		if r.Status != 422 || r.JSON(t)["success"] != false {
			t.Fatalf("other body: %d %s", r.Status, r.Body)
		}
	})
}

func TestRentalLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 1, 1000, nil)
		rent := func() (int, string) {
			r := f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "telegram", "country": "US"})
			if r.Status != 200 {
				return r.Status, ""
			}
			return r.Status, r.JSON(t)["data"].(map[string]any)["id"].(string)
		}
		_, id := rent()
		if r := f.st.Call(t, "POST", "/api/internal/rentals/"+id+"/cancel", f.token, nil); r.Status != 409 {
			t.Fatalf("cancel in the first 2 minutes: %d %s", r.Status, r.Body)
		}
		f.clock.Advance(2 * time.Minute)
		if r := f.st.Call(t, "POST", "/api/internal/rentals/"+id+"/cancel", f.token, nil); r.Status != 200 || r.JSON(t)["remainingCredits"] != 1000.0 {
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}
		if r := f.st.Call(t, "POST", "/api/internal/rentals/"+id+"/cancel", f.token, nil); r.Status != 409 {
			t.Fatalf("second cancel: %d %s", r.Status, r.Body)
		}
		_, id = rent()
		if r := f.st.Call(t, "POST", "/api/internal/rentals/"+id+"/report", f.token, nil); r.Status != 200 || r.JSON(t)["remainingCredits"] != 1000.0 {
			t.Fatalf("report: %d %s", r.Status, r.Body)
		}
		if code, _ := rent(); code != 404 {
			t.Fatalf("reported number offered again: %d", code)
		}
		if r := f.st.Call(t, "GET", "/api/internal/rentals/"+id, f.token, nil); r.Status != 200 || r.JSON(t)["data"].(map[string]any)["status"] != "cancelled" {
			t.Fatalf("get: %d %s", r.Status, r.Body)
		}
		if r := f.st.Call(t, "GET", "/api/internal/rentals/nope", f.token, nil); r.Status != 404 {
			t.Fatalf("unknown rental: %d", r.Status)
		}
		f.checkLedger(t)
	})
}

func TestExpirySweepAndCooldown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 1, 1000, nil)
		r := f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "whatsapp", "country": "US"})
		if r.Status != 404 { // whatsapp has no price
			t.Fatalf("unpriced service: %d", r.Status)
		}
		r = f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "telegram", "country": "US"})
		id := r.JSON(t)["data"].(map[string]any)["id"].(string)
		f.clock.Advance(21 * time.Minute)
		ctx := context.Background()
		for range 2 { // refunded once, however often it runs
			if err := f.st.Server.Numbers.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if r := f.st.Call(t, "GET", "/api/internal/rentals/"+id, f.token, nil); r.JSON(t)["data"].(map[string]any)["status"] != "expired" {
			t.Fatalf("after expiry: %s", r.Body)
		}
		if c := f.checkLedger(t); c != 1000 {
			t.Fatalf("credits after refund: %d", c)
		}
		// Another account may not take the number for telegram within the cooldown.
		other := fmt.Sprintf("+1415555%04d", fixtures.Add(1)*10+1)
		tok := f.st.SignUp(t, other)
		if _, err := f.st.Server.Numbers.Approve(ctx, other); err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.Server.Numbers.Grant(ctx, other, 1000, "test"); err != nil {
			t.Fatal(err)
		}
		if r := f.st.Call(t, "POST", "/api/internal/rent", tok, map[string]string{"service": "telegram", "country": "US"}); r.Status != 404 {
			t.Fatalf("within the cooldown: %d %s", r.Status, r.Body)
		}
		if r := f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "telegram", "country": "US"}); r.Status != 200 {
			t.Fatalf("the same account again: %d %s", r.Status, r.Body)
		}
	})
}

func TestNotApprovedAndRateLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 1, 0, nil)
		tok := f.st.SignUp(t, fmt.Sprintf("+1415555%04d", fixtures.Add(1)*10+2))
		if r := f.st.Call(t, "POST", "/api/internal/rent", tok, map[string]string{"service": "telegram", "country": "US"}); r.Status != 403 {
			t.Fatalf("not approved: %d %s", r.Status, r.Body)
		}
		if r := f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "telegram", "country": "US"}); r.Status != 402 {
			t.Fatalf("no credits: %d %s", r.Status, r.Body)
		}
		for i := range 100 {
			if r := f.st.Call(t, "GET", "/api/public/prices", "", nil); r.Status != 200 {
				t.Fatalf("request %d: %d", i+1, r.Status)
			}
		}
		r := f.st.Call(t, "GET", "/api/public/prices", "", nil)
		if r.Status != 429 || r.Header.Get("Retry-After") == "" || r.Header.Get("X-RateLimit-Remaining") != "0" || r.JSON(t)["error"] != "Rate limit exceeded" {
			t.Fatalf("101st: %d %v %s", r.Status, r.Header, r.Body)
		}
	})
}

// TestTransactionsPaging: 25 entries page as 20 + 5, newest first, with
// total and totalPages; a limit over 100 is clamped, and a bad page or
// limit is a 400.
func TestTransactionsPaging(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 0, 0, nil)
		ctx := context.Background()
		for i := 1; i <= 25; i++ {
			if _, err := f.st.Server.Numbers.Grant(ctx, f.phone, int64(i), fmt.Sprintf("grant %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		page := func(q string) map[string]any {
			t.Helper()
			r := f.st.Call(t, "GET", "/api/internal/transactions"+q, f.token, nil)
			if r.Status != 200 {
				t.Fatalf("%s: %d %s", q, r.Status, r.Body)
			}
			return r.JSON(t)
		}
		first, second := page(""), page("?page=2")
		d1, d2 := first["data"].([]any), second["data"].([]any)
		if len(d1) != 20 || len(d2) != 5 || first["total"] != 25.0 || first["totalPages"] != 2.0 || second["totalPages"] != 2.0 {
			t.Fatalf("pages: %d and %d entries, total %v, pages %v", len(d1), len(d2), first["total"], first["totalPages"])
		}
		newest, oldest := d1[0].(map[string]any), d2[4].(map[string]any)
		if newest["credits"] != 25.0 || newest["balanceAfter"] != 325.0 || oldest["credits"] != 1.0 || oldest["balanceAfter"] != 1.0 {
			t.Errorf("newest %v, oldest %v", newest, oldest)
		}
		if d := page("?page=3")["data"].([]any); len(d) != 0 {
			t.Errorf("page 3: %d entries, want none", len(d))
		}
		if d := page("?limit=500")["data"].([]any); len(d) != 25 {
			t.Errorf("limit=500: %d entries, want all 25 (clamped to 100)", len(d))
		}
		for _, q := range []string{"?page=0", "?page=x", "?limit=-1"} {
			if r := f.st.Call(t, "GET", "/api/internal/transactions"+q, f.token, nil); r.Status != 400 || r.JSON(t)["success"] != false {
				t.Errorf("%s: %d %s, want 400", q, r.Status, r.Body)
			}
		}
		f.checkLedger(t)
	})
}
