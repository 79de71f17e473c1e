package numbers_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/numbers"
)

func sign(secret, body, stamp string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body + stamp))
	return hex.EncodeToString(m.Sum(nil))
}

func post(t *testing.T, st *apptest.Stack, gw, body string, headers map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", st.URL+"/api/webhooks/smsgate/"+gw, bytes.NewBufferString(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSMSGateWebhook(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 0, 1000, nil)
		ctx := context.Background()
		n := f.st.Server.Numbers
		gw, secret, err := n.CreateGateway(ctx, "pixel")
		if err != nil {
			t.Fatal(err)
		}
		other, otherSecret, err := n.CreateGateway(ctx, "other")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.AddNumber(ctx, numbers.Number{Number: "+12025550999", Country: "US", Operator: "verizon",
			Services: []string{"telegram"}, GatewayID: gw.ID, SIM: 1}); err != nil {
			t.Fatal(err)
		}
		events := f.st.Stream(t, f.token)
		r := f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "telegram", "country": "US"})
		id := r.JSON(t)["data"].(map[string]any)["id"].(string)
		body := `{"deviceId":"dev1","event":"sms:received","id":"ev-1","payload":{"messageId":"m1","message":"Telegram code: 48213","phoneNumber":"+4915112345678","simNumber":1,"receivedAt":"2026-04-29T09:41:00Z"},"webhookId":"wh1"}`
		now := strconv.FormatInt(f.clock.Now().Unix(), 10)
		good := map[string]string{"Content-Type": "application/json", "X-Timestamp": now, "X-Signature": sign(secret, body, now)}
		stale := strconv.FormatInt(f.clock.Now().Add(-6*time.Minute).Unix(), 10)
		future := strconv.FormatInt(f.clock.Now().Add(6*time.Minute).Unix(), 10)
		for _, c := range []struct {
			name, gw, body string
			h              map[string]string
			want           int
		}{
			{"bad signature", gw.ID, body, map[string]string{"X-Timestamp": now, "X-Signature": sign("nope", body, now)}, 401},
			{"other gateway's secret", gw.ID, body, map[string]string{"X-Timestamp": now, "X-Signature": sign(otherSecret, body, now)}, 401},
			{"signed for the other gateway", other.ID, body, good, 401},
			{"stale", gw.ID, body, map[string]string{"X-Timestamp": stale, "X-Signature": sign(secret, body, stale)}, 401},
			{"future", gw.ID, body, map[string]string{"X-Timestamp": future, "X-Signature": sign(secret, body, future)}, 401},
			{"unknown gateway", "gw_nope", body, good, 404},
			{"malformed", gw.ID, "{", map[string]string{"X-Timestamp": now, "X-Signature": sign(secret, "{", now)}, 400},
			{"no headers", gw.ID, body, nil, 401},
			{"no signature", gw.ID, body, map[string]string{"X-Timestamp": now}, 401},
		} {
			if got := post(t, f.st, c.gw, c.body, c.h); got != c.want {
				t.Errorf("%s: %d, want %d", c.name, got, c.want)
			}
		}
		if sms := rentalSMS(t, f, id); len(sms) != 0 {
			t.Fatalf("rejected webhooks stored %v", sms)
		}
		for range 2 {
			if got := post(t, f.st, gw.ID, body, good); got != 200 {
				t.Fatalf("good webhook: %d", got)
			}
		}
		sms := rentalSMS(t, f, id)
		if len(sms) != 1 || sms[0].(map[string]any)["code"] != "48213" || sms[0].(map[string]any)["sender"] != "+4915112345678" {
			t.Fatalf("stored %v", sms)
		}
		ev := apptest.Next(t, events)
		for ev.Data == "" { // the stream's retry hint comes first
			ev = apptest.Next(t, events)
		}
		if !strings.Contains(ev.Data, "48213") || !strings.Contains(ev.Data, `"sms"`) || !strings.Contains(ev.Data, `"rental"`) {
			t.Fatalf("inbox event %v", ev)
		}
		if r := f.st.Call(t, "POST", "/api/internal/rentals/"+id+"/cancel", f.token, nil); r.Status != 409 {
			t.Fatalf("cancel after an SMS: %d", r.Status)
		}
	})
}

func rentalSMS(t *testing.T, f fixture, id string) []any {
	t.Helper()
	r := f.st.Call(t, "GET", "/api/internal/rentals/"+id, f.token, nil)
	return r.JSON(t)["data"].(map[string]any)["sms"].([]any)
}

// TestLateSMS: an SMS that arrives after its rental expired (and was
// refunded) is stored on the rental and shown, and moves no credit: the
// rental stays expired, is not charged again and not refunded twice.
func TestLateSMS(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 0, 1000, nil)
		ctx := context.Background()
		n := f.st.Server.Numbers
		gw, secret, err := n.CreateGateway(ctx, "pixel")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.AddNumber(ctx, numbers.Number{Number: "+12025550998", Country: "US", Operator: "verizon",
			Services: []string{"telegram"}, GatewayID: gw.ID, SIM: 2}); err != nil {
			t.Fatal(err)
		}
		r := f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "telegram", "country": "US"})
		if r.Status != 200 {
			t.Fatalf("rent: %d %s", r.Status, r.Body)
		}
		id := r.JSON(t)["data"].(map[string]any)["id"].(string)
		f.clock.Advance(21 * time.Minute)
		if err := n.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if c := f.checkLedger(t); c != 1000 {
			t.Fatalf("after the expiry refund: %d credits, want 1000", c)
		}
		body := `{"deviceId":"dev1","event":"sms:received","id":"ev-late","payload":{"messageId":"m9","message":"Your Telegram code is 771204","phoneNumber":"Telegram","simNumber":2,"receivedAt":"2026-04-29T10:01:30Z"},"webhookId":"wh1"}`
		now := strconv.FormatInt(f.clock.Now().Unix(), 10)
		if got := post(t, f.st, gw.ID, body, map[string]string{"X-Timestamp": now, "X-Signature": sign(secret, body, now)}); got != 200 {
			t.Fatalf("late webhook: %d", got)
		}
		if err := n.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		got := f.st.Call(t, "GET", "/api/internal/rentals/"+id, f.token, nil).JSON(t)["data"].(map[string]any)
		sms, _ := got["sms"].([]any)
		if got["status"] != "expired" || len(sms) != 1 || sms[0].(map[string]any)["code"] != "771204" {
			t.Fatalf("rental after a late SMS: %v", got)
		}
		if c := f.checkLedger(t); c != 1000 {
			t.Errorf("after the late SMS and another sweep: %d credits, want 1000 (no second refund, no charge)", c)
		}
	})
}
