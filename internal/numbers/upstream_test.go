package numbers_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/numbers/smsactivate/smsactivatetest"
)

// upFixture is a stack whose pool is empty, over a fake upstream selling
// telegram numbers of the US at 0.04 (0.06 with the markup of 1.5: 120
// credits).
type upFixture struct {
	fixture
	fake *smsactivatetest.Server
}

func startUpstream(t *testing.T, url string, credits int64) upFixture {
	t.Helper()
	var f upFixture
	f.fake = smsactivatetest.New(t, func() time.Time { return f.clock.Now() })
	f.fake.SetPrice("187", "tg", "0.04", 5)
	f.fake.SetPrice("16", "wa", "0.5", 2)
	f.fake.SetPrice("999", "tg", "0.01", 9) // a country without a name here
	f.fixture = start(t, url, 0, credits, map[string]string{
		"LINKBOX_SMSACTIVATE_URL": f.fake.URL, "LINKBOX_SMSACTIVATE_KEY": smsactivatetest.Key, "LINKBOX_SMSACTIVATE_MARKUP": "1.5",
	})
	if err := f.st.Server.Numbers.RefreshUpstreamPrices(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f upFixture) rent(t *testing.T, body map[string]string) apptest.Response {
	t.Helper()
	if body == nil {
		body = map[string]string{"service": "telegram", "country": "US"}
	}
	return f.st.Call(t, "POST", "/api/internal/rent", f.token, body)
}

// rentOK rents upstream and returns the rental's id and its activation's.
func (f upFixture) rentOK(t *testing.T) (string, string) {
	t.Helper()
	r := f.rent(t, nil)
	if r.Status != 200 {
		t.Fatalf("rent: %d %s", r.Status, r.Body)
	}
	acts := f.fake.Activations()
	return r.JSON(t)["data"].(map[string]any)["id"].(string), acts[len(acts)-1].ID
}

// eventually runs PollUpstream until ok holds: the server's own poller
// may have leased the work first.
func (f upFixture) eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := f.st.Server.Numbers.PollUpstream(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ok() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 5 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f upFixture) status(t *testing.T, id string) map[string]any {
	t.Helper()
	return f.st.Call(t, "GET", "/api/internal/rentals/"+id, f.token, nil).JSON(t)["data"].(map[string]any)
}

// TestUpstreamRent: the upstream's prices join the catalog; with the pool
// empty a rent buys upstream; its code is polled, stored, shown and sent
// to the inbox stream; setStatus 1, 3 and, on finish, 6 reach the upstream.
func TestUpstreamRent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := startUpstream(t, url, 1000)
		m := f.st.Call(t, "GET", "/api/public/prices?country=US", "", nil).JSON(t)
		ops := m["data"].(map[string]any)["US"].(map[string]any)["telegram"].(map[string]any)["services"].(map[string]any)
		if up := ops["any"].(map[string]any); up["cost"] != "0.06" || up["count"] != "5" || ops["verizon"].(map[string]any)["count"] != "0" {
			t.Fatalf("prices: %v", ops)
		}
		if d := f.st.Call(t, "GET", "/api/public/prices", "", nil).JSON(t)["data"].(map[string]any); len(d) != 2 || d["GB"] == nil {
			t.Fatalf("every country: %v (the unnamed country is left out)", d)
		}
		if rp := f.st.Call(t, "GET", "/api/public/rent-prices?service=telegram", "", nil); strings.Contains(string(rp.Body), `"any"`) {
			t.Fatalf("rent-prices shows the upstream: %s", rp.Body)
		}
		events := f.st.Stream(t, f.token)
		r := f.rent(t, nil)
		d := r.JSON(t)["data"].(map[string]any)
		if r.Status != 200 || d["operator"] != "any" || d["cost"] != 120.0 || r.JSON(t)["remainingCredits"] != 880.0 || !strings.HasPrefix(d["number"].(string), "+1555") {
			t.Fatalf("rent: %d %s", r.Status, r.Body)
		}
		id, act := d["id"].(string), f.fake.Activations()[0].ID
		if a, _ := f.fake.Activation(act); a.Status != 1 || a.Service != "tg" || a.Country != "187" {
			t.Fatalf("activation %+v, want setStatus 1 on tg/187", a)
		}
		f.fake.Deliver(act, "48213")
		f.clock.Advance(5 * time.Second)
		f.eventually(t, "the code", func() bool { return f.status(t, id)["status"] == "received" })
		sms := f.status(t, id)["sms"].([]any)
		if len(sms) != 1 || sms[0].(map[string]any)["code"] != "48213" {
			t.Fatalf("sms %v", sms)
		}
		ev := apptest.Next(t, events)
		for ev.Data == "" {
			ev = apptest.Next(t, events)
		}
		if !strings.Contains(ev.Data, "48213") || !strings.Contains(ev.Data, `"rental"`) {
			t.Fatalf("inbox event %v", ev)
		}
		if a, _ := f.fake.Activation(act); !a.Retry {
			t.Fatalf("no setStatus 3 after the code: %+v", a)
		}
		f.fake.Deliver(act, "55555") // a second code on the same number
		f.clock.Advance(5 * time.Second)
		f.eventually(t, "the second code", func() bool { return len(f.status(t, id)["sms"].([]any)) == 2 })
		if r := f.st.Call(t, "POST", "/api/internal/rentals/"+id+"/finish", f.token, nil); r.Status != 200 {
			t.Fatalf("finish: %d %s", r.Status, r.Body)
		}
		f.eventually(t, "setStatus 6", func() bool { a, _ := f.fake.Activation(act); return a.Status == 6 })
		if c := f.checkLedger(t); c != 880 {
			t.Fatalf("credits %d, want 880", c)
		}
		if r := f.st.Call(t, "GET", "/api/internal/rentals?status=finished", f.token, nil).JSON(t); len(r["data"].([]any)) != 1 {
			t.Fatalf("finished rentals: %v", r)
		}
	})
}

// TestUpstreamCancel: a cancel the upstream refuses (EARLY_CANCEL_DENIED)
// is a 409 that changes nothing; once it allows it, setStatus 8 comes
// before the refund.
func TestUpstreamCancel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := startUpstream(t, url, 1000)
		id, act := f.rentOK(t)
		if r := f.st.Call(t, "POST", "/api/internal/rentals/"+id+"/cancel", f.token, nil); r.Status != 409 || len(f.fake.Calls("setStatus")) != 1 {
			t.Fatalf("cancel in the first 2 minutes: %d %s, %d setStatus calls (only the 1)", r.Status, r.Body, len(f.fake.Calls("setStatus")))
		}
		f.clock.Advance(2 * time.Minute)
		f.fake.Force("setStatus", "EARLY_CANCEL_DENIED") // a provider whose own window is longer
		r := f.st.Call(t, "POST", "/api/internal/rentals/"+id+"/cancel", f.token, nil)
		if r.Status != 409 || !strings.Contains(r.JSON(t)["error"].(string), "does not allow cancelling") {
			t.Fatalf("cancel refused upstream: %d %s", r.Status, r.Body)
		}
		if s := f.status(t, id)["status"]; s != "waiting" || f.checkLedger(t) != 880 {
			t.Fatalf("after a refused cancel: %v, credits %d", s, f.checkLedger(t))
		}
		f.fake.Force("setStatus", "")
		if r := f.st.Call(t, "POST", "/api/internal/rentals/"+id+"/cancel", f.token, nil); r.Status != 200 || r.JSON(t)["remainingCredits"] != 1000.0 {
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}
		if a, _ := f.fake.Activation(act); a.Status != 8 {
			t.Fatalf("upstream status %d, want 8", a.Status)
		}
		polls := len(f.fake.Calls("getStatus"))
		f.clock.Advance(time.Minute)
		f.eventually(t, "a pass of the poller", func() bool { return true })
		if n := len(f.fake.Calls("getStatus")); n != polls {
			t.Fatalf("%d polls of a cancelled rental", n-polls)
		}
		f.checkLedger(t)
	})
}

// TestUpstreamExpiryAndReport: an expired rental is cancelled upstream by
// the poller, refunded once; a report cancels (8) at once, refunds, and the
// number is not taken again for that service.
func TestUpstreamExpiryAndReport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := startUpstream(t, url, 1000)
		id, act := f.rentOK(t)
		f.clock.Advance(21 * time.Minute)
		if err := f.st.Server.Numbers.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.eventually(t, "setStatus 8 on expiry", func() bool { a, _ := f.fake.Activation(act); return a.Status == 8 })
		if s := f.status(t, id)["status"]; s != "expired" || f.checkLedger(t) != 1000 {
			t.Fatalf("after expiry: %v, %d credits", s, f.checkLedger(t))
		}
		id, act = f.rentOK(t)
		f.clock.Advance(2 * time.Minute)
		if r := f.st.Call(t, "POST", "/api/internal/rentals/"+id+"/report", f.token, nil); r.Status != 200 || r.JSON(t)["remainingCredits"] != 1000.0 {
			t.Fatalf("report: %d %s", r.Status, r.Body)
		}
		if a, _ := f.fake.Activation(act); a.Status != 8 {
			t.Fatalf("report: upstream status %d, want 8", a.Status)
		}
		// Sold again for the service it was reported for: refused, given back.
		reported, _ := f.fake.Activation(act)
		f.fake.SellAgain(reported.Phone)
		if r := f.rent(t, nil); r.Status != 404 {
			t.Fatalf("a reported number sold again: %d %s", r.Status, r.Body)
		}
		acts := f.fake.Activations()
		again := acts[len(acts)-1]
		if again.Phone != reported.Phone {
			t.Fatalf("the fake sold %s, not the reported %s", again.Phone, reported.Phone)
		}
		f.clock.Advance(2 * time.Minute)
		f.eventually(t, "the refused number cancelled", func() bool { a, _ := f.fake.Activation(again.ID); return a.Status == 8 })
		if c := f.checkLedger(t); c != 1000 {
			t.Fatalf("credits %d after a refused number", c)
		}
	})
}

// TestUpstreamEndsActivation: an activation the upstream cancels itself
// ends its rental with a refund.
func TestUpstreamEndsActivation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := startUpstream(t, url, 1000)
		id, _ := f.rentOK(t)
		f.fake.Force("getStatus", "STATUS_CANCEL")
		f.clock.Advance(5 * time.Second)
		f.eventually(t, "the rental ended", func() bool { return f.status(t, id)["status"] == "cancelled" })
		if c := f.checkLedger(t); c != 1000 {
			t.Fatalf("credits %d, want the refund", c)
		}
	})
}

// TestUpstreamErrors: each error word of getNumber, and what is not sold
// upstream, answers in the seed's shape with its status, charges nothing
// and never shows the key.
func TestUpstreamErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := startUpstream(t, url, 1000)
		for _, c := range []struct {
			word string
			body map[string]string
			want int
		}{
			{"NO_NUMBERS", nil, 404},
			{"NO_BALANCE", nil, 503},
			{"BAD_KEY", nil, 502},
			{"BAD_SERVICE", nil, 404},
			{"ERROR_SQL", nil, 502},
			{"BANNED:2026-05-01 00:00:00", nil, 502},
			{"ACCESS_NUMBER:broken", nil, 502},
			{"", map[string]string{"service": "telegram", "country": "ZZ"}, 404},                        // no upstream id
			{"", map[string]string{"service": "telegram", "country": "GB"}, 404},                        // no upstream price
			{"", map[string]string{"service": "telegram", "country": "US", "operator": "verizon"}, 404}, // an operator of the pool
		} {
			f.fake.Force("getNumber", c.word)
			r := f.rent(t, c.body)
			m := r.JSON(t)
			if r.Status != c.want || m["success"] != false || m["error"] == "" || strings.Contains(string(r.Body), smsactivatetest.Key) {
				t.Errorf("%s %v: %d %s, want %d", c.word, c.body, r.Status, r.Body, c.want)
			}
		}
		f.fake.Force("getNumber", "")
		if n := len(f.fake.Activations()); n != 0 {
			t.Fatalf("%d activations bought", n)
		}
		if c := f.checkLedger(t); c != 1000 {
			t.Fatalf("credits %d: charged for a failed rent", c)
		}
		poor := fmt.Sprintf("+1415555%04d", fixtures.Add(1)*10+3)
		tok := f.st.SignUp(t, poor)
		ctx := context.Background()
		if _, err := f.st.Server.Numbers.Approve(ctx, poor); err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.Server.Numbers.Grant(ctx, poor, 100, "test"); err != nil { // 120 needed
			t.Fatal(err)
		}
		r := f.st.Call(t, "POST", "/api/internal/rent", tok, map[string]string{"service": "telegram", "country": "US"})
		if r.Status != 402 || len(f.fake.Activations()) != 0 {
			t.Fatalf("short of credits: %d, %d activations bought", r.Status, len(f.fake.Activations()))
		}
	})
}

// TestUpstreamRentRace: rents at once with credits for one: one rental;
// the numbers bought for the others are cancelled upstream once allowed.
func TestUpstreamRentRace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := startUpstream(t, url, 120)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for range 4 {
			wg.Go(func() {
				r := f.rent(t, nil)
				mu.Lock()
				codes[r.Status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes[200] != 1 || codes[402] != 3 {
			t.Fatalf("answers %v", codes)
		}
		f.clock.Advance(2 * time.Minute)
		f.eventually(t, "the unused numbers cancelled", func() bool {
			live := 0
			for _, a := range f.fake.Activations() {
				if a.Status != 8 {
					live++
				}
			}
			return live == 1
		})
		if c := f.checkLedger(t); c != 0 {
			t.Fatalf("credits %d", c)
		}
	})
}

// TestUpstreamReplay: tries of one Idempotency-Key at once buy one number
// upstream and charge once; all get the first answer.
func TestUpstreamReplay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := startUpstream(t, url, 1000)
		var wg sync.WaitGroup
		var mu sync.Mutex
		bodies := map[string]int{}
		for range 5 {
			wg.Go(func() {
				r := f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "telegram", "country": "US"}, "Idempotency-Key", "up-1")
				mu.Lock()
				defer mu.Unlock()
				bodies[fmt.Sprint(r.Status, " ", string(r.Body))]++
			})
		}
		wg.Wait()
		if len(bodies) != 1 || len(f.fake.Activations()) != 1 {
			t.Fatalf("answers %v, %d activations bought", bodies, len(f.fake.Activations()))
		}
		if c := f.checkLedger(t); c != 880 {
			t.Fatalf("credits %d: charged more than once", c)
		}
	})
}
