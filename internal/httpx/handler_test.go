package httpx_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
)

// rendered records what an Adapter's Render was asked to write.
type rendered struct {
	calls  int
	status int
	err    *errs.Error
}

func (rr *rendered) render(w http.ResponseWriter, _ *http.Request, status int, e *errs.Error) {
	rr.calls++
	rr.status, rr.err = status, e
	httpx.WriteJSON(w, status, map[string]string{"code": e.Code, "message": e.Message})
}

// serveAdapted serves one request through WithRequestID and an Adapter
// around h, routed as "POST /api/{kind}", returning the response, what
// Render saw and the log records.
func serveAdapted(t *testing.T, h httpx.HandlerFunc) (*httptest.ResponseRecorder, *rendered, []map[string]any) {
	t.Helper()
	log, buf := newLogger()
	rr := &rendered{}
	a := httpx.Adapter{Log: log, Render: rr.render}
	mux := http.NewServeMux()
	mux.Handle("POST /api/{kind}", a.H(h))
	w := httptest.NewRecorder()
	httpx.WithRequestID(mux).ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/things?x=1", nil))
	return w, rr, logRecords(t, buf)
}

func TestAdapterInternalErrorSaysLittle(t *testing.T) {
	secret := errors.New("disk on fire at /var/lib/linkbox")
	w, rr, recs := serveAdapted(t, func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("load things: %w", secret)
	})
	if w.Code != http.StatusInternalServerError || rr.status != http.StatusInternalServerError {
		t.Fatalf("status %d (render %d), want 500", w.Code, rr.status)
	}
	if rr.err.Code != "internal_error" || rr.err.Message != "Internal server error" {
		t.Errorf("rendered %q/%q, want internal_error/Internal server error", rr.err.Code, rr.err.Message)
	}
	if strings.Contains(w.Body.String(), "disk") {
		t.Errorf("response body %q leaks the cause", w.Body)
	}
	rec := findRecord(t, recs, "request failed")
	wantAttrs := map[string]any{
		"level": "ERROR", "request_id": w.Header().Get("X-Request-Id"), "method": "POST",
		"path": "/api/{kind}", "status": 500.0,
	}
	for k, want := range wantAttrs {
		if rec[k] != want {
			t.Errorf("log %s = %v, want %v", k, rec[k], want)
		}
	}
	if got, _ := rec["err"].(string); !strings.Contains(got, secret.Error()) {
		t.Errorf("log err = %q, want it to contain the cause %q", got, secret)
	}
}

func TestAdapterUnavailableLogsAtError(t *testing.T) {
	w, rr, recs := serveAdapted(t, func(w http.ResponseWriter, r *http.Request) error {
		return errs.E(errs.Unavailable, "sms_down", "Text messages cannot be sent now")
	})
	if w.Code != http.StatusServiceUnavailable || rr.err.Code != "sms_down" {
		t.Errorf("got %d %q, want 503 sms_down", w.Code, rr.err.Code)
	}
	if rec := findRecord(t, recs, "request failed"); rec["level"] != "ERROR" {
		t.Errorf("log level %v, want ERROR", rec["level"])
	}
}

func TestAdapterClientErrorGoesThroughRender(t *testing.T) {
	want := errs.E(errs.NotFound, "no_user", "No such user")
	w, rr, recs := serveAdapted(t, func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("lookup: %w", want)
	})
	if rr.calls != 1 || rr.err != want {
		t.Fatalf("Render called %d times with %v, want once with %v", rr.calls, rr.err, want)
	}
	if w.Code != http.StatusNotFound || rr.status != http.StatusNotFound {
		t.Errorf("status %d (render %d), want 404", w.Code, rr.status)
	}
	rec := findRecord(t, recs, "request rejected")
	if rec["level"] != "DEBUG" || rec["code"] != "no_user" || rec["status"] != 404.0 {
		t.Errorf("log %v, want DEBUG with code no_user and status 404", rec)
	}
	if rec["request_id"] != w.Header().Get("X-Request-Id") {
		t.Errorf("log request_id %v, want %q", rec["request_id"], w.Header().Get("X-Request-Id"))
	}
}

func TestAdapterNoError(t *testing.T) {
	w, rr, recs := serveAdapted(t, func(w http.ResponseWriter, r *http.Request) error {
		httpx.WriteJSON(w, http.StatusAccepted, map[string]bool{"ok": true})
		return nil
	})
	if rr.calls != 0 || len(recs) != 0 {
		t.Errorf("Render called %d times, %d log records; want none", rr.calls, len(recs))
	}
	if w.Code != http.StatusAccepted {
		t.Errorf("status %d, want %d", w.Code, http.StatusAccepted)
	}
}

func TestAdapterRetryAfter(t *testing.T) {
	tests := []struct {
		name  string
		kind  errs.Kind
		after time.Duration
		want  string
	}{
		{"whole seconds", errs.TooMany, 3 * time.Second, "3"},
		{"rounded up", errs.TooMany, 1500 * time.Millisecond, "2"},
		{"a nanosecond is a second", errs.TooMany, time.Nanosecond, "1"},
		{"unknown", errs.TooMany, 0, ""},
		{"negative", errs.TooMany, -time.Second, ""},
		{"not a rate limit", errs.Unavailable, 5 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _, _ := serveAdapted(t, func(w http.ResponseWriter, r *http.Request) error {
				return &errs.Error{Kind: tt.kind, Code: "slow_down", Message: "Slow down", RetryAfter: tt.after}
			})
			if got := w.Header().Get("Retry-After"); got != tt.want {
				t.Errorf("Retry-After %q, want %q", got, tt.want)
			}
		})
	}
}
