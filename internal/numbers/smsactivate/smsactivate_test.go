package smsactivate_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/numbers/smsactivate"
	"github.com/linkbox/linkbox/internal/numbers/smsactivate/smsactivatetest"
)

func client(t *testing.T, url, key string) *smsactivate.Client {
	t.Helper()
	c, err := smsactivate.New(url, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestActivation buys a number, waits, gets a code, asks for another and
// finishes, as the protocol goes.
func TestActivation(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 4, 29, 9, 40, 0, 0, time.UTC))
	fake := smsactivatetest.New(t, clock.Now)
	fake.SetPrice("187", "tg", "0.25", 3)
	c := client(t, fake.URL, smsactivatetest.Key)
	ctx := context.Background()
	a, err := c.GetNumber(ctx, "tg", "187", "")
	if err != nil || a.ID == "" || !strings.HasPrefix(a.Phone, "+1555") {
		t.Fatalf("getNumber: %+v %v", a, err)
	}
	if err := c.SetStatus(ctx, a.ID, smsactivate.StatusReady); err != nil {
		t.Fatal(err)
	}
	if st, err := c.GetStatus(ctx, a.ID); err != nil || st.State != smsactivate.WaitCode {
		t.Fatalf("before the SMS: %+v %v", st, err)
	}
	fake.Deliver(a.ID, "48213")
	if st, err := c.GetStatus(ctx, a.ID); err != nil || st != (smsactivate.Status{State: smsactivate.OK, Code: "48213"}) {
		t.Fatalf("after the SMS: %+v %v", st, err)
	}
	if err := c.SetStatus(ctx, a.ID, smsactivate.StatusRetry); err != nil {
		t.Fatal(err)
	}
	if st, err := c.GetStatus(ctx, a.ID); err != nil || st != (smsactivate.Status{State: smsactivate.WaitRetry, Code: "48213"}) {
		t.Fatalf("awaiting another: %+v %v", st, err)
	}
	if err := c.SetStatus(ctx, a.ID, smsactivate.StatusFinish); err != nil {
		t.Fatal(err)
	}
	if got, _ := fake.Activation(a.ID); got.Status != 6 {
		t.Fatalf("finished: status %d", got.Status)
	}
	if bal, err := c.GetBalance(ctx); err != nil || bal != 99_750_000 {
		t.Fatalf("balance %d %v, want 99.75", bal, err)
	}
	if err := c.SetStatus(ctx, a.ID, 2); err == nil {
		t.Fatal("setStatus 2 accepted")
	}
}

// TestCancel: refused in the first two minutes, then done and refunded.
func TestCancel(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 4, 29, 9, 40, 0, 0, time.UTC))
	fake := smsactivatetest.New(t, clock.Now)
	fake.SetPrice("187", "tg", "1", 1)
	c := client(t, fake.URL, smsactivatetest.Key)
	ctx := context.Background()
	a, err := c.GetNumber(ctx, "tg", "187", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetStatus(ctx, a.ID, smsactivate.StatusCanceled); smsactivate.Word(err) != smsactivate.EarlyCancelDenied {
		t.Fatalf("early cancel: %v", err)
	}
	clock.Advance(smsactivatetest.EarlyCancel)
	if err := c.SetStatus(ctx, a.ID, smsactivate.StatusCanceled); err != nil {
		t.Fatal(err)
	}
	if st, err := c.GetStatus(ctx, a.ID); err != nil || st.State != smsactivate.Cancelled {
		t.Fatalf("after cancel: %+v %v", st, err)
	}
	if bal, _ := c.GetBalance(ctx); bal != 100_000_000 {
		t.Fatalf("balance %d after the refund", bal)
	}
}

// TestErrorWords: each error word of the protocol comes back as an *Error
// of that word.
func TestErrorWords(t *testing.T) {
	fake := smsactivatetest.New(t, nil)
	fake.SetPrice("187", "tg", "150", 1)
	fake.SetPrice("16", "wa", "1", 0)
	ctx := context.Background()
	good := client(t, fake.URL, smsactivatetest.Key)
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"bad key", func() error { _, err := client(t, fake.URL, "wrong").GetBalance(ctx); return err }, smsactivate.BadKey},
		{"no balance", func() error { _, err := good.GetNumber(ctx, "tg", "187", ""); return err }, smsactivate.NoBalance},
		{"no numbers", func() error { _, err := good.GetNumber(ctx, "wa", "16", ""); return err }, smsactivate.NoNumbers},
		{"bad service", func() error { _, err := good.GetNumber(ctx, "zz", "187", ""); return err }, smsactivate.BadService},
		{"no activation", func() error { _, err := good.GetStatus(ctx, "1"); return err }, smsactivate.NoActivation},
		{"set on no activation", func() error { return good.SetStatus(ctx, "1", smsactivate.StatusFinish) }, smsactivate.NoActivation},
	}
	for _, c := range cases {
		err := c.call()
		if smsactivate.Word(err) != c.want || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		} else if strings.Contains(err.Error(), smsactivatetest.Key) {
			t.Errorf("%s: the key in %q", c.name, err)
		}
	}
	for _, w := range []string{"ERROR_SQL", "BANNED:2026-04-29 12:00:00", "WRONG_SERVICE"} {
		fake.Force("getPrices", w)
		if _, err := good.GetPrices(ctx, "", ""); !strings.HasPrefix(w, smsactivate.Word(err)) || smsactivate.Word(err) == "" {
			t.Errorf("forced %s: %v", w, err)
		}
	}
}

// TestUnexpectedAnswers: what is neither a success nor an error word is an
// UNEXPECTED error, quoted briefly.
func TestUnexpectedAnswers(t *testing.T) {
	answer := ""
	status := http.StatusOK
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		w.Write([]byte(answer))
	}))
	defer ts.Close()
	c := client(t, ts.URL, "k")
	ctx := context.Background()
	for _, tt := range []struct {
		name, answer string
		call         func() error
	}{
		{"getNumber garbage", "hello", func() error { _, err := c.GetNumber(ctx, "tg", "0", ""); return err }},
		{"getNumber short", "ACCESS_NUMBER:1", func() error { _, err := c.GetNumber(ctx, "tg", "0", ""); return err }},
		{"getNumber bad phone", "ACCESS_NUMBER:1:12ab", func() error { _, err := c.GetNumber(ctx, "tg", "0", ""); return err }},
		{"getStatus unknown", "STATUS_MAYBE", func() error { _, err := c.GetStatus(ctx, "1"); return err }},
		{"getStatus OK without code", "STATUS_OK:", func() error { _, err := c.GetStatus(ctx, "1"); return err }},
		{"setStatus other answer", "ACCESS_READY", func() error { return c.SetStatus(ctx, "1", smsactivate.StatusCanceled) }},
		{"getPrices not JSON", "<html>", func() error { _, err := c.GetPrices(ctx, "", ""); return err }},
		{"getPrices bad cost", `{"0":{"tg":{"cost":"x","count":1}}}`, func() error { _, err := c.GetPrices(ctx, "", ""); return err }},
		{"getPrices negative count", `{"0":{"tg":{"cost":1,"count":-1}}}`, func() error { _, err := c.GetPrices(ctx, "", ""); return err }},
		{"getBalance garbage", "ACCESS_BALANCE:lots", func() error { _, err := c.GetBalance(ctx); return err }},
	} {
		answer = tt.answer
		if err := tt.call(); smsactivate.Word(err) != "UNEXPECTED" {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	answer, status = "ACCESS_BALANCE:1", http.StatusBadGateway
	if _, err := c.GetBalance(ctx); smsactivate.Word(err) != "UNEXPECTED" || !strings.Contains(err.Error(), "502") {
		t.Errorf("a 502: %v", err)
	}
	status = http.StatusOK
	answer = `{"0":{"tg":{"cost":"12.5","count":"7"}},"187":{"wa":{"cost":0.2855555,"count":3}}}`
	list, err := c.GetPrices(ctx, "", "")
	if err != nil || len(list) != 2 {
		t.Fatalf("prices as strings and numbers: %v %v", list, err)
	}
	for _, p := range list {
		if (p.Country == "0" && (p.Cost != 12_500_000 || p.Count != 7)) || (p.Country == "187" && (p.Cost != 285_556 || p.Count != 3)) {
			t.Errorf("price %+v", p)
		}
	}
}

// TestKeyNeverInErrors: a transport failure names the action, not the
// URL that holds the key.
func TestKeyNeverInErrors(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	ts.Close()
	c := client(t, ts.URL+"/stubs/handler_api.php", "secret-key-123")
	_, err := c.GetBalance(context.Background())
	if err == nil || strings.Contains(err.Error(), "secret-key-123") || !strings.Contains(err.Error(), "getBalance") {
		t.Fatalf("error %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	for _, c := range []struct{ url, key string }{
		{"", "k"}, {"ftp://x/h.php", "k"}, {"/stubs/handler_api.php", "k"}, {"https://x/h.php?a=1", "k"}, {"https://x/h.php", ""},
	} {
		if _, err := smsactivate.New(c.url, c.key, nil); err == nil {
			t.Errorf("New(%q, %q) accepted", c.url, c.key)
		}
	}
}

func TestMicros(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "12.5": 12_500_000, "0.285": 285_000, "0.0000001": 1, "1e-3": 1000} {
		if got, err := smsactivate.Micros(in); err != nil || got != want {
			t.Errorf("Micros(%q) = %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "x", "1e30"} {
		if _, err := smsactivate.Micros(in); err == nil {
			t.Errorf("Micros(%q) accepted", in)
		}
	}
}

func TestCodes(t *testing.T) {
	if id, ok := smsactivate.Country("US"); !ok || id != "187" {
		t.Errorf("US → %q", id)
	}
	if iso, ok := smsactivate.CountryISO("16"); !ok || iso != "GB" {
		t.Errorf("16 → %q", iso)
	}
	if code, ok := smsactivate.Service("telegram"); !ok || code != "tg" {
		t.Errorf("telegram → %q", code)
	}
	if name, ok := smsactivate.ServiceName("wa"); !ok || name != "whatsapp" {
		t.Errorf("wa → %q", name)
	}
	if _, ok := smsactivate.Country("XX"); ok {
		t.Error("XX has an id")
	}
}
