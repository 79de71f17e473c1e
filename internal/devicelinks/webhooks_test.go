package devicelinks_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/devicelinks"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// receiver is a supplier's webhook endpoint: it checks the signature of
// every delivery, answers 500 to the next fail ones, and hands the others
// to the test.
type receiver struct {
	url string
	now func() time.Time

	mu     sync.Mutex
	signer *webhooks.Signer
	fail   int
	failed []string // the webhook-ids answered 500
	got    chan delivery
}

// delivery is a webhook that was taken.
type delivery struct {
	id    string // webhook-id
	event devicelinks.Event
	data  map[string]any
}

func newReceiver(t *testing.T, now func() time.Time) *receiver {
	if now == nil {
		now = time.Now
	}
	r := &receiver{now: now, got: make(chan delivery, 64)}
	ts := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(ts.Close)
	r.url = ts.URL + "/hook"
	return r
}

func (r *receiver) setSecret(t *testing.T, secret string) {
	s, err := webhooks.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.signer = s
	r.mu.Unlock()
}

// failNext makes the receiver answer 500 to the next n deliveries.
func (r *receiver) failNext(n int) { r.mu.Lock(); r.fail = n; r.mu.Unlock() }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.signer == nil || r.signer.Verify(req.Header, body, r.now()) != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if r.fail > 0 {
		r.fail--
		r.failed = append(r.failed, req.Header.Get(webhooks.HeaderID))
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	d := delivery{id: req.Header.Get(webhooks.HeaderID)}
	var raw struct {
		devicelinks.Event
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	d.event, d.data = raw.Event, raw.Data
	r.got <- d
}

// next waits for the next delivery taken.
func (r *receiver) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-r.got:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook arrived")
	}
	return delivery{}
}

// nextAdvancing is next for a webhook being retried: it moves clock on by
// the first retry's 5 s until the webhook arrives, since the outbox may
// record the failed attempt, and schedule the retry, after the test saw it
// fail.
func (r *receiver) nextAdvancing(t *testing.T, clock *clocktest.Clock) delivery {
	t.Helper()
	for range 50 {
		clock.Advance(6 * time.Second)
		select {
		case d := <-r.got:
			return d
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatal("no webhook arrived")
	return delivery{}
}

func (r *receiver) failedIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.failed...)
}

// TestWebhooks follows a supplier's webhooks through connect, relink (its
// first attempt answered 500, then retried), failure and removal: each
// signed, with the event's type and data, the retry under the same
// webhook-id.
func TestWebhooks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		clock := clocktest.New(time.Now())
		f := newFlowWith(t, dbURL, app.Options{Now: clock.Now})
		c := browser(t)
		link := func(user string) {
			t.Helper()
			if v := result(t, f, mustGet(t, c, callbackURL(t, c, authorizeURL(t, c, f, f.link(t, user, "en"))))); v == nil {
				t.Fatalf("%s: no redirect to the supplier", user)
			}
		}

		link("u1")
		d := f.hooks.next(t)
		nox, _ := d.data["nox_user_id"].(string)
		if d.event.Type != devicelinks.EventConnected || d.event.Seq != 1 || d.id == "" || nox == "" ||
			d.data["supplier_user_id"] != "u1" || d.data["manufacturer"] != "fake" || d.data["connection_status"] != "connected" {
			t.Fatalf("connect webhook: %+v %v", d, d.data)
		}

		// The receiver fails: the relink's webhook is retried, 5 s later,
		// under the same webhook-id, and taken once the receiver heals.
		f.hooks.failNext(1)
		link("u1")
		deadline := time.Now().Add(10 * time.Second)
		for len(f.hooks.failedIDs()) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		failed := f.hooks.failedIDs()
		if len(failed) != 1 {
			t.Fatalf("the 500 was not met: %v", failed)
		}
		d = f.hooks.nextAdvancing(t, clock)
		if d.id != failed[0] || d.event.Type != devicelinks.EventOverwritten || d.data["nox_user_id"] != nox || d.event.Seq != 2 {
			t.Fatalf("retried webhook %q %+v, want id %q", d.id, d.event, failed[0])
		}

		f.fake.SetDeny(true)
		link("u2")
		if d = f.hooks.next(t); d.event.Type != devicelinks.EventFailed || d.data["error"] != "access_denied" ||
			d.data["connection_status"] != "failed" || d.data["nox_user_id"] != nil {
			t.Fatalf("failure webhook: %+v %v", d.event, d.data)
		}

		if r := f.st.Call(t, "DELETE", "/users/u1/devices/hp-1", "", nil, "x-api-key", f.key); r.Status != http.StatusOK {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if d = f.hooks.next(t); d.event.Type != devicelinks.EventDeviceRemoved || d.data["device_id"] != "hp-1" ||
			d.data["devices"] != nil || d.event.Seq != 4 {
			t.Fatalf("removal webhook: %+v %v", d.event, d.data)
		}
	})
}
