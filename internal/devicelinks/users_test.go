package devicelinks_test

import (
	"bytes"
	"net/http"
	"sync"
	"testing"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestForeignSupplierSeesNothing: another supplier's key reads and deletes
// none of a supplier's users, and its 404 is the one of a user that does
// not exist, so it learns nothing.
func TestForeignSupplierSeesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFlow(t, dbURL)
		c := browser(t)
		result(t, f, mustGet(t, c, callbackURL(t, c, authorizeURL(t, c, f, f.link(t, "u1", "en")))))
		_, other, err := f.st.Server.DeviceLinks.CreateSupplier(t.Context(), "Other", []string{"https://other.example/cb"})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ method, path, unknown string }{
			{"GET", "/users/u1", "/users/nobody"},
			{"DELETE", "/users/u1/devices/hp-1", "/users/nobody/devices/hp-1"},
			{"GET", "/users/u1/settings", "/users/nobody/settings"},
		} {
			foreign := f.st.Call(t, c.method, c.path, "", nil, "x-api-key", other)
			checkError(t, foreign, "foreign "+c.method+" "+c.path, http.StatusNotFound, "user_not_found")
			if unknown := f.st.Call(t, c.method, c.unknown, "", nil, "x-api-key", other); !bytes.Equal(foreign.Body, unknown.Body) {
				t.Errorf("%s %s: a foreign user's answer %s differs from an unknown one's %s", c.method, c.path, foreign.Body, unknown.Body)
			}
		}
		u := f.st.Call(t, "GET", "/users/u1", "", nil, "x-api-key", f.key)
		if u.Status != http.StatusOK || len(u.JSON(t)["data"].(map[string]any)["devices"].([]any)) != 1 {
			t.Fatalf("the owner's mapping after the foreign tries: %d %s", u.Status, u.Body)
		}
	})
}

func TestUsersBadInputs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFlow(t, dbURL)
		c := browser(t)
		result(t, f, mustGet(t, c, callbackURL(t, c, authorizeURL(t, c, f, f.link(t, "u1", "en")))))
		for _, c := range []struct {
			name, method, path, key string
			status                  int
			code                    string
		}{
			{"GET without a key", "GET", "/users/u1", "", 401, "invalid_api_key"},
			{"GET with a wrong key", "GET", "/users/u1", "lbk_nope", 401, "invalid_api_key"},
			{"DELETE without a key", "DELETE", "/users/u1/devices/hp-1", "", 401, "invalid_api_key"},
			{"DELETE an unknown device", "DELETE", "/users/u1/devices/nope", f.key, 404, "device_not_found"},
			{"DELETE an unknown user's device", "DELETE", "/users/nobody/devices/hp-1", f.key, 404, "user_not_found"},
			{"GET an unknown user", "GET", "/users/nobody", f.key, 404, "user_not_found"},
		} {
			checkError(t, f.st.Call(t, c.method, c.path, "", nil, "x-api-key", c.key), c.name, c.status, c.code)
		}
		if n, err := f.st.Server.DeviceLinks.Rows(t.Context(), "devicelinks_events"); err != nil || n != 1 {
			t.Fatalf("events: %d, %v; want the connect's only", n, err)
		}
		if u := f.st.Call(t, "GET", "/users/u1", "", nil, "x-api-key", f.key); len(u.JSON(t)["data"].(map[string]any)["devices"].([]any)) != 1 {
			t.Fatalf("mapping: %s", u.Body)
		}
	})
}

// TestWrongMethods: a path of the API asked with a method it does not
// take is answered in the API's error shape.
func TestWrongMethods(t *testing.T) {
	f := newFlow(t, dbtest.SQLite(t))
	for _, c := range []struct{ method, path string }{
		{"PUT", "/events"},
		{"GET", "/device-sessions"},
		{"PUT", "/post-login-redirect"},
		{"POST", "/users/u1/settings"},
	} {
		checkError(t, f.st.Call(t, c.method, c.path, "", nil, "x-api-key", f.key), c.method+" "+c.path, http.StatusMethodNotAllowed, "method_not_allowed")
	}
}

// TestRacingDeletes: a device deleted by several requests at once is
// removed once: one 200 and one event, the others 404.
func TestRacingDeletes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFlow(t, dbURL)
		c := browser(t)
		result(t, f, mustGet(t, c, callbackURL(t, c, authorizeURL(t, c, f, f.link(t, "u1", "en")))))
		const racers = 4
		statuses := make(chan int, racers)
		var wg sync.WaitGroup
		for range racers {
			wg.Go(func() {
				statuses <- f.st.Call(t, "DELETE", "/users/u1/devices/hp-1", "", nil, "x-api-key", f.key).Status
			})
		}
		wg.Wait()
		close(statuses)
		counts := map[int]int{}
		for st := range statuses {
			counts[st]++
		}
		if counts[http.StatusOK] != 1 || counts[http.StatusNotFound] != racers-1 {
			t.Fatalf("answers by status: %v", counts)
		}
		if n, err := f.st.Server.DeviceLinks.Rows(t.Context(), "devicelinks_events"); err != nil || n != 2 {
			t.Fatalf("events: %d, %v; want the connect and one removal", n, err)
		}
	})
}
