package devicelinks_test

import (
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/devicelinks"
)

// TestSweep: sessions and states go a day after they expire, events after
// 30 days; what is alive stays.
func TestSweep(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		clock := clocktest.New(time.Now())
		h := newHub(t, dbURL, app.Options{Now: clock.Now}, false)
		dl := h.st.Server.DeviceLinks
		c := browser(t)
		result(t, h.flow, mustGet(t, c, callbackURL(t, c, authorizeURL(t, c, h.flow, h.link(t, "u1", "en")))))
		h.chooseSupplier(t, c, h.session(t, "dev-1"))
		rows := func() map[string]int {
			t.Helper()
			out := map[string]int{}
			for _, table := range []string{"devicelinks_sessions", "devicelinks_states", "devicelinks_device_sessions",
				"devicelinks_select_states", "devicelinks_events", "devicelinks_mappings"} {
				n, err := dl.Rows(t.Context(), table)
				if err != nil {
					t.Fatal(err)
				}
				out[table] = n
			}
			return out
		}
		sweep := func() {
			t.Helper()
			if err := dl.Sweep(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]int{"devicelinks_sessions": 1, "devicelinks_states": 1, "devicelinks_device_sessions": 1,
			"devicelinks_select_states": 1, "devicelinks_events": 1, "devicelinks_mappings": 1}

		// Expired, but not for a day yet: kept.
		clock.Advance(15*time.Minute + 23*time.Hour)
		sweep()
		if got := rows(); !equal(got, want) {
			t.Fatalf("before a day: %v", got)
		}
		clock.Advance(time.Hour + time.Second)
		h.link(t, "u2", "en") // alive: stays
		sweep()
		want["devicelinks_states"], want["devicelinks_device_sessions"], want["devicelinks_select_states"] = 0, 0, 0
		if got := rows(); !equal(got, want) {
			t.Fatalf("a day after: %v", got)
		}
		clock.Advance(30 * 24 * time.Hour)
		sweep()
		want["devicelinks_sessions"], want["devicelinks_events"] = 0, 0
		if got := rows(); !equal(got, want) {
			t.Fatalf("30 days after: %v", got)
		}
	})
}

func equal(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

// TestRemovalsTakeTheirRows: removing a manufacturer takes the mappings to
// its devices, each removal a webhook, and its device sessions; deleting a
// supplier takes its select states.
func TestRemovalsTakeTheirRows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		h := newHub(t, dbURL, app.Options{}, false)
		dl := h.st.Server.DeviceLinks
		c := browser(t)
		result(t, h.flow, mustGet(t, c, callbackURL(t, c, authorizeURL(t, c, h.flow, h.link(t, "u1", "en")))))
		connected := h.hooks.next(t)
		if err := dl.RemoveManufacturer(t.Context(), "fake"); err != nil {
			t.Fatal(err)
		}
		if d := h.hooks.next(t); d.event.Type != devicelinks.EventDeviceRemoved || d.data["device_id"] != "hp-1" ||
			d.data["nox_user_id"] != connected.data["nox_user_id"] || d.data["devices"] != nil {
			t.Fatalf("the removal's webhook: %+v %v", d.event, d.data)
		}
		var err error
		if _, h.mfrKey, err = dl.AddManufacturer(t.Context(), devicelinks.NewManufacturer{Brand: "fake", Name: "Fake Heat",
			AuthorizeURL: h.fake.URL + "/authorize", TokenURL: h.fake.URL + "/token", ClientID: "c", ClientSecret: "s"}); err != nil {
			t.Fatal(err)
		}
		h.chooseSupplier(t, c, h.session(t, "dev-1"))
		count := func(table string) int {
			t.Helper()
			n, err := dl.Rows(t.Context(), table)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if err := dl.DeleteSupplier(t.Context(), h.supplierID); err != nil {
			t.Fatal(err)
		}
		if n := count("devicelinks_select_states"); n != 0 {
			t.Fatalf("select states after the supplier: %d", n)
		}
		if err := dl.RemoveManufacturer(t.Context(), "fake"); err != nil {
			t.Fatal(err)
		}
		if n := count("devicelinks_device_sessions"); n != 0 {
			t.Fatalf("device sessions after the manufacturer: %d", n)
		}
	})
}
