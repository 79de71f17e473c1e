package connect_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/outbox"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// withWebhooks gives the env's service a real outbox, its webhooks posted
// by the real deliverer to the receivers endpoints names, a failed attempt
// retried after 1 s of the env's clock.
func withWebhooks(endpoints webhooks.ByPrefix) func(*env) {
	return func(e *env) {
		e.hooks = outbox.New(e.db, slog.New(slog.DiscardHandler), e.clock.Now)
		e.hooks.Poll = 10 * time.Millisecond
		e.queue = webhooks.NewQueue(e.hooks, &webhooks.Deliverer{Endpoints: endpoints, Now: e.clock.Now},
			outbox.Schedule(time.Second, time.Second, time.Second))
	}
}

// hookEvent is a webhook as an app's receiver takes it.
type hookEvent struct {
	ID   string // webhook-id
	Type string `json:"type"`
	Data map[string]any
}

// receiver is an app's webhook endpoint: it checks each delivery's
// signature under the app's secret and answers 500 to the first fail ones.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	signer   *webhooks.Signer
	now      func() time.Time
	fail     int
	attempts int
	events   chan hookEvent
}

func newReceiver(t *testing.T, now func() time.Time) *receiver {
	r := &receiver{now: now, events: make(chan hookEvent, 16)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.attempts++
		if err := r.signer.Verify(req.Header, body, r.now()); err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if r.fail > 0 {
			r.fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		ev := hookEvent{ID: req.Header.Get(webhooks.HeaderID)}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("webhook body %s: %v", body, err)
		}
		var raw struct{ Data map[string]any }
		json.Unmarshal(body, &raw)
		ev.Data = raw.Data
		r.events <- ev
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) next(t *testing.T) hookEvent {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook came")
	}
	return hookEvent{}
}

func (r *receiver) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-r.events:
		t.Fatalf("unexpected webhook %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
}

func wantEvent(t *testing.T, ev hookEvent, typ string, data map[string]any) {
	t.Helper()
	if ev.Type != typ {
		t.Fatalf("webhook %s, want %s (%v)", ev.Type, typ, ev.Data)
	}
	for k, v := range data {
		if ev.Data[k] != v {
			t.Errorf("%s: data[%s] = %v, want %v", typ, k, ev.Data[k], v)
		}
	}
}

// TestAppWebhooks: an app with a webhook is told, signed, of each approval,
// denial and unlink (by the app and by the user) and of an OTP that expired
// unverified, never of one verified in time; a receiver that fails first
// gets the same webhook-id again once it heals.
func TestAppWebhooks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		endpoints := webhooks.ByPrefix{}
		e := newEnv(t, url, nil, withWebhooks(endpoints))
		endpoints[connect.AppPrefix] = e.svc
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.hooks.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })

		app, key := e.createApp("Shop")
		rcv := newReceiver(t, e.clock.Now)
		for _, bad := range []string{"http://hooks.example.com/", "ftp://x/", "https://u:p@hooks.example.com/"} {
			if _, err := e.svc.SetWebhook(t.Context(), app.ID, bad); !errs.Is(err, errs.Invalid, "invalid_url") {
				t.Errorf("SetWebhook(%q): %v, want invalid_url", bad, err)
			}
		}
		if _, err := e.svc.SetWebhook(t.Context(), "app_nope", rcv.URL); !errs.Is(err, errs.NotFound, "app_not_found") {
			t.Errorf("SetWebhook of an unknown app: %v", err)
		}
		secret, err := e.svc.SetWebhook(t.Context(), app.ID, rcv.URL)
		if err != nil || !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("SetWebhook = %q, %v", secret, err)
		}
		if rcv.signer, err = webhooks.NewSigner(secret); err != nil {
			t.Fatal(err)
		}
		a := e.createUser("heidi@example.com", "")

		rcv.mu.Lock()
		rcv.fail = 1
		rcv.mu.Unlock()
		if _, err := e.svc.ApproveLink(t.Context(), tokenOf(t, e.linkURL(key, "u1", "https://your-app.com/nofbox-return/u1")), a.id); err != nil {
			t.Fatal(err)
		}
		// The outbox records the 500 just after the receiver answered it, and
		// schedules the retry 1 s of the clock from then: move the clock on
		// until the retry comes.
		var approved hookEvent
		for deadline := time.Now().Add(10 * time.Second); approved.Type == ""; {
			select {
			case approved = <-rcv.events:
			case <-time.After(20 * time.Millisecond):
				if time.Now().After(deadline) {
					t.Fatal("the webhook was not retried")
				}
				e.clock.Advance(time.Second)
				e.hooks.Kick()
			}
		}
		wantEvent(t, approved, connect.EventLinkApproved, map[string]any{"user_id": "u1"})
		if p, _ := approved.Data["phone"].(string); !strings.HasSuffix(p, a.phone[len(a.phone)-4:]) || strings.Contains(p, a.phone) {
			t.Errorf("approved phone %q: want the masked form", p)
		}
		rcv.mu.Lock()
		if rcv.attempts != 2 {
			t.Errorf("%d attempts, want 2 (a 500, then delivered)", rcv.attempts)
		}
		rcv.mu.Unlock()

		if _, err := e.svc.DenyLink(t.Context(), tokenOf(t, e.linkURL(key, "u2", "https://your-app.com/nofbox-return/u2"))); err != nil {
			t.Fatal(err)
		}
		wantEvent(t, rcv.next(t), connect.EventLinkDenied, map[string]any{"user_id": "u2"})

		e.sendOTP(key, "u1", "stale", a)
		code := e.sendOTP(key, "u1", "used", a)
		wantBody(t, "verify", e.postJSON(key, "/api/otp/verify", map[string]any{"user_id": "u1", "reference": "used", "code": code}),
			http.StatusOK, success)
		rcv.none(t)
		e.clock.Advance(5*time.Minute + time.Second)
		e.hooks.Kick()
		wantEvent(t, rcv.next(t), connect.EventOTPExpired, map[string]any{"user_id": "u1", "reference": "stale", "attempts": 0.0})
		rcv.none(t) // the verified one

		wantBody(t, "unlink", e.postJSON(key, "/api/link-account/unlink", map[string]any{"user_id": "u1"}), http.StatusOK, success)
		wantEvent(t, rcv.next(t), connect.EventLinkUnlinked, map[string]any{"user_id": "u1", "by": "app"})

		e.link(key, "u3", a)
		wantEvent(t, rcv.next(t), connect.EventLinkApproved, map[string]any{"user_id": "u3"})
		if err := e.svc.UnlinkApp(t.Context(), a.id, app.ID); err != nil {
			t.Fatal(err)
		}
		wantEvent(t, rcv.next(t), connect.EventLinkUnlinked, map[string]any{"user_id": "u3", "by": "user"})

		if _, err := e.svc.SetWebhook(t.Context(), app.ID, ""); err != nil {
			t.Fatal(err)
		}
		e.link(key, "u4", a)
		e.sendOTP(key, "u4", "quiet", a)
		e.clock.Advance(time.Hour)
		e.hooks.Kick()
		rcv.none(t) // no webhook set: nothing sent, no expiry checked
		var scheduled int
		if err := e.db.QueryRow(t.Context(), `SELECT COUNT(*) FROM outbox WHERE kind = 'otpexpiry' AND delivered_at IS NULL`).Scan(&scheduled); err != nil || scheduled != 0 {
			t.Errorf("%d expiry checks pending (%v), want 0", scheduled, err)
		}
	})
}
