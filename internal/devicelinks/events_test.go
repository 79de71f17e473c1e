package devicelinks_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/devicelinks"
)

// eventsPage is a page of GET /events as a test reads it.
type eventsPage struct {
	Success bool
	Data    struct {
		Events  []devicelinks.Event `json:"events"`
		Next    int64               `json:"next"`
		HasMore bool                `json:"has_more"`
	}
}

func (f *flow) events(t *testing.T, query string) eventsPage {
	t.Helper()
	r := f.st.Call(t, "GET", "/events"+query, "", nil, "x-api-key", f.key)
	var p eventsPage
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &p) != nil || !p.Success {
		t.Fatalf("GET /events%s: %d %s", query, r.Status, r.Body)
	}
	return p
}

// TestEvents reads back, page by page, the events the webhooks carried.
func TestEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFlow(t, dbURL)
		c := browser(t)
		for _, user := range []string{"u1", "u1", "u2"} {
			result(t, f, mustGet(t, c, callbackURL(t, c, authorizeURL(t, c, f, f.link(t, user, "en")))))
		}
		hooks := map[string]string{} // event id → type, from the webhooks
		for range 3 {
			d := f.hooks.next(t)
			hooks[d.event.ID] = d.event.Type
		}

		all := f.events(t, "")
		if len(all.Data.Events) != 3 || all.Data.HasMore || all.Data.Next != 3 {
			t.Fatalf("events: %+v", all.Data)
		}
		for i, ev := range all.Data.Events {
			if ev.Seq != int64(i+1) || hooks[ev.ID] != ev.Type || ev.CreatedAt == 0 {
				t.Errorf("event %d: %+v, webhooks %v", i, ev, hooks)
			}
		}
		if types := []string{all.Data.Events[0].Type, all.Data.Events[1].Type, all.Data.Events[2].Type}; types[0] != devicelinks.EventConnected ||
			types[1] != devicelinks.EventOverwritten || types[2] != devicelinks.EventConnected {
			t.Errorf("types %v", types)
		}

		// Paged: a supplier that took the first two catches up from there.
		p := f.events(t, "?limit=2")
		if len(p.Data.Events) != 2 || !p.Data.HasMore || p.Data.Next != 2 {
			t.Fatalf("first page: %+v", p.Data)
		}
		if p = f.events(t, "?since=2"); len(p.Data.Events) != 1 || p.Data.Events[0].Seq != 3 || p.Data.HasMore || p.Data.Next != 3 {
			t.Fatalf("second page: %+v", p.Data)
		}
		if p = f.events(t, "?since=3"); len(p.Data.Events) != 0 || p.Data.Next != 3 {
			t.Fatalf("past the last: %+v", p.Data)
		}

		// Another supplier sees none of them.
		_, other, err := f.st.Server.DeviceLinks.CreateSupplier(t.Context(), "Other", []string{"https://other.example/cb"})
		if err != nil {
			t.Fatal(err)
		}
		if r := f.st.Call(t, "GET", "/events", "", nil, "x-api-key", other); r.Status != http.StatusOK || len(r.JSON(t)["data"].(map[string]any)["events"].([]any)) != 0 {
			t.Fatalf("a foreign supplier's events: %d %s", r.Status, r.Body)
		}
	})
}

func TestEventsBadInputs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFlow(t, dbURL)
		for _, c := range []struct {
			name, query, key string
			status           int
			code             string
		}{
			{"no key", "", "", 401, "invalid_api_key"},
			{"negative since", "?since=-1", f.key, 400, "invalid_field"},
			{"since not a number", "?since=evt_1", f.key, 400, "invalid_field"},
			{"zero limit", "?limit=0", f.key, 400, "invalid_field"},
			{"limit over 1000", "?limit=1001", f.key, 400, "invalid_field"},
			{"limit not a number", "?limit=ten", f.key, 400, "invalid_field"},
		} {
			checkError(t, f.st.Call(t, "GET", "/events"+c.query, "", nil, "x-api-key", c.key), c.name, c.status, c.code)
		}
	})
}
