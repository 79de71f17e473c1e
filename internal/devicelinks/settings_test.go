package devicelinks_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/devicelinks"
)

func (f *flow) settings(t *testing.T, method, user, ifMatch string, body any) apptest.Response {
	t.Helper()
	h := []string{"x-api-key", f.key}
	if ifMatch != "" {
		h = append(h, "If-Match", ifMatch)
	}
	return f.st.Call(t, method, "/users/"+user+"/settings", "", body, h...)
}

// settingsOf is the data of a settings answer, checked against its ETag.
func settingsOf(t *testing.T, r apptest.Response) (settings map[string]any, etag string) {
	t.Helper()
	var b struct {
		Data struct {
			Settings map[string]any `json:"settings"`
			ETag     string         `json:"etag"`
		}
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &b) != nil || b.Data.ETag == "" || r.Header.Get("ETag") != b.Data.ETag {
		t.Fatalf("settings: %d %v %s", r.Status, r.Header, r.Body)
	}
	return b.Data.Settings, b.Data.ETag
}

// TestSettings changes a user's settings under If-Match: a lost update is
// refused, a change is the supplier's webhook and a PUT to the
// manufacturer, retried after a 500, with an access token refreshed since
// the fake's expired.
func TestSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		clock := clocktest.New(time.Now())
		f := newFlowWith(t, dbURL, app.Options{Now: clock.Now})
		f.fake.SetTokenLifetime(time.Second)
		c := browser(t)
		result(t, f, mustGet(t, c, callbackURL(t, c, authorizeURL(t, c, f, f.link(t, "u1", "en")))))
		connected := f.hooks.next(t)

		s, empty := settingsOf(t, f.settings(t, "GET", "u1", "", nil))
		if len(s) != 0 {
			t.Fatalf("settings before any PUT: %v", s)
		}
		comfort := map[string]any{"comfort": map[string]any{"min": 19.5, "max": 22.0}}
		f.fake.FailSettings(1)
		s, etag := settingsOf(t, f.settings(t, "PUT", "u1", empty, comfort))
		if etag == empty || s["comfort"] == nil {
			t.Fatalf("PUT: %v %q", s, etag)
		}
		if got, e := settingsOf(t, f.settings(t, "GET", "u1", "", nil)); e != etag || got["comfort"].(map[string]any)["min"] != 19.5 {
			t.Fatalf("GET after PUT: %v %q, want ETag %q", got, e, etag)
		}

		// The supplier's webhook.
		d := f.hooks.next(t)
		if d.event.Type != devicelinks.EventSettings || d.data["etag"] != etag || d.data["nox_user_id"] != connected.data["nox_user_id"] ||
			d.data["settings"].(map[string]any)["comfort"] == nil {
			t.Fatalf("settings webhook: %+v %v", d.event, d.data)
		}

		// The manufacturer's PUT: its first attempt answered 500, retried
		// 5 s later with a live token (the fake refuses expired ones).
		if b, ok := f.fake.NextSettings(500 * time.Millisecond); ok {
			t.Fatalf("the manufacturer took %s despite its 500", b)
		}
		var b json.RawMessage
		ok := false
		for i := 0; i < 50 && !ok; i++ {
			clock.Advance(6 * time.Second) // until the retry, scheduled once the 500 is recorded, is due
			b, ok = f.fake.NextSettings(200 * time.Millisecond)
		}
		if !ok || string(b) != `{"comfort":{"max":22,"min":19.5}}` {
			t.Fatalf("manufacturer settings: %s, %v", b, ok)
		}

		// A lost update: the stale ETag is refused, the settings stay.
		if r := f.settings(t, "PUT", "u1", empty, map[string]any{"comfort": nil}); r.Status != http.StatusPreconditionFailed {
			t.Fatalf("stale If-Match: %d %s", r.Status, r.Body)
		}
		if got, e := settingsOf(t, f.settings(t, "GET", "u1", "", nil)); e != etag || got["comfort"] == nil {
			t.Fatalf("after a lost update: %v %q", got, e)
		}
		// If-Match lists tags; * matches whatever is there.
		_, etag2 := settingsOf(t, f.settings(t, "PUT", "u1", `"nope", `+etag, map[string]any{"eco": true}))
		if _, etag3 := settingsOf(t, f.settings(t, "PUT", "u1", "*", map[string]any{"eco": false})); etag3 == etag2 || etag2 == etag {
			t.Fatalf("ETags %q %q %q", etag, etag2, etag3)
		}
	})
}

func TestSettingsBadInputs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFlow(t, dbURL)
		c := browser(t)
		result(t, f, mustGet(t, c, callbackURL(t, c, authorizeURL(t, c, f, f.link(t, "u1", "en")))))
		_, empty := settingsOf(t, f.settings(t, "GET", "u1", "", nil))
		_, other, err := f.st.Server.DeviceLinks.CreateSupplier(t.Context(), "Other", []string{"https://other.example/cb"})
		if err != nil {
			t.Fatal(err)
		}
		big := `{"a":"` + strings.Repeat("x", 8<<10) + `"}`
		for _, c := range []struct {
			name, method, user, key, ifMatch string
			body                             any
			contentType                      string
			status                           int
			code                             string
		}{
			{"no key", "PUT", "u1", "", empty, `{}`, "", 401, "invalid_api_key"},
			{"no If-Match", "PUT", "u1", f.key, "", `{}`, "", 428, "precondition_required"},
			{"wrong If-Match", "PUT", "u1", f.key, `"other"`, `{}`, "", 412, "precondition_failed"},
			{"weak If-Match", "PUT", "u1", f.key, "W/" + empty, `{}`, "", 412, "precondition_failed"},
			{"not JSON", "PUT", "u1", f.key, empty, `{"a":`, "", 400, "invalid_body"},
			{"an array", "PUT", "u1", f.key, empty, `[]`, "", 400, "invalid_body"},
			{"null", "PUT", "u1", f.key, empty, `null`, "", 400, "invalid_body"},
			{"a string", "PUT", "u1", f.key, empty, `"x"`, "", 400, "invalid_body"},
			{"two objects", "PUT", "u1", f.key, empty, `{}{}`, "", 400, "invalid_body"},
			{"empty body", "PUT", "u1", f.key, empty, ``, "", 400, "invalid_body"},
			{"over 8 KiB", "PUT", "u1", f.key, empty, big, "", 413, "body_too_large"},
			{"not JSON's type", "PUT", "u1", f.key, empty, `{}`, "text/plain", 400, "unsupported_media_type"},
			{"no mapping", "PUT", "nobody", f.key, empty, `{}`, "", 404, "user_not_found"},
			{"long user id", "PUT", strings.Repeat("x", 256), f.key, empty, `{}`, "", 400, "invalid_field"},
			{"a foreign supplier's user", "PUT", "u1", other, empty, `{}`, "", 404, "user_not_found"},
			{"GET, a foreign supplier's user", "GET", "u1", other, "", nil, "", 404, "user_not_found"},
			{"GET, no mapping", "GET", "nobody", f.key, "", nil, "", 404, "user_not_found"},
		} {
			h := []string{"x-api-key", c.key}
			if c.ifMatch != "" {
				h = append(h, "If-Match", c.ifMatch)
			}
			if c.contentType != "" {
				h = append(h, "Content-Type", c.contentType)
			}
			checkError(t, f.st.Call(t, c.method, "/users/"+c.user+"/settings", "", c.body, h...), c.name, c.status, c.code)
		}
		for table, want := range map[string]int{"devicelinks_settings": 0, "devicelinks_events": 1} {
			if n, err := f.st.Server.DeviceLinks.Rows(t.Context(), table); err != nil || n != want {
				t.Errorf("%s: %d rows, %v; want %d", table, n, err, want)
			}
		}
	})
}

// TestSettingsConcurrentPuts: of PUTs racing with the same If-Match, one
// wins and every other is a 412, on PostgreSQL's concurrent transactions
// as on SQLite's single writer.
func TestSettingsConcurrentPuts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFlow(t, dbURL)
		c := browser(t)
		result(t, f, mustGet(t, c, callbackURL(t, c, authorizeURL(t, c, f, f.link(t, "u1", "en")))))
		for round := range 2 { // the first PUT (an insert), then an update
			_, etag := settingsOf(t, f.settings(t, "GET", "u1", "", nil))
			const racers = 8
			statuses := make(chan int, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					statuses <- f.settings(t, "PUT", "u1", etag, map[string]int{"round": round, "racer": i}).Status
				})
			}
			wg.Wait()
			close(statuses)
			won := 0
			for st := range statuses {
				switch st {
				case http.StatusOK:
					won++
				case http.StatusPreconditionFailed:
				default:
					t.Errorf("round %d: status %d", round, st)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d PUTs won with If-Match %s", round, won, etag)
			}
		}
		if n, err := f.st.Server.DeviceLinks.Rows(t.Context(), "devicelinks_events"); err != nil || n != 3 {
			t.Fatalf("events: %d, %v; want the connect and two changes", n, err)
		}
	})
}
