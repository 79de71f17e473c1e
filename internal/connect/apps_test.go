package connect_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

func TestCreateAppValidation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		ok := []string{"https://app.example/cb"}
		tests := []struct {
			name string
			urls []string
			ttl  time.Duration
			code string
		}{
			{"", ok, 0, "invalid_name"},
			{"   ", ok, 0, "invalid_name"},
			{strings.Repeat("n", 101), ok, 0, "invalid_name"},
			{"tab\tname", ok, 0, "invalid_name"},
			{"App", nil, 0, "invalid_return_url"},
			{"App", []string{"http://app.example/cb"}, 0, "invalid_return_url"},
			{"App", []string{"ftp://app.example/cb"}, 0, "invalid_return_url"},
			{"App", []string{"/cb"}, 0, "invalid_return_url"},
			{"App", []string{"https:cb"}, 0, "invalid_return_url"},
			{"App", []string{"https://user:pw@app.example/cb"}, 0, "invalid_return_url"},
			{"App", []string{"https://app.example/cb#frag"}, 0, "invalid_return_url"},
			{"App", []string{"https://app.example/c b"}, 0, "invalid_return_url"},
			{"App", []string{"https://app.example/" + strings.Repeat("a", 2048)}, 0, "invalid_return_url"},
			{"App", []string{"http://localhost.evil.example/cb"}, 0, "invalid_return_url"},
			{"App", []string{"https://app.example/a/../cb/"}, 0, "invalid_return_url"},
			{"App", []string{"https://app.example/./cb"}, 0, "invalid_return_url"},
			{"App", []string{"https://app.example/%2e%2e/cb/"}, 0, "invalid_return_url"},
			{"App", []string{"https://app.example/cb/%2E"}, 0, "invalid_return_url"},
			{"App", []string{"https://app.example/cb%2fx/"}, 0, "invalid_return_url"},
			{"App", []string{"https://app.example/cb%5Cx/"}, 0, "invalid_return_url"},
			{"App", []string{`https://app.example/cb\x/`}, 0, "invalid_return_url"},
			{"App", []string{"https://app.example//cb/"}, 0, "invalid_return_url"},
			{"App", []string{"https://app.example/cb?x=/"}, 0, "invalid_return_url"},
			{"App", ok, 29 * time.Second, "invalid_otp_ttl"},
			{"App", ok, time.Hour + time.Millisecond, "invalid_otp_ttl"},
			{"App", ok, -time.Minute, "invalid_otp_ttl"},
		}
		for _, tt := range tests {
			if _, _, err := e.svc.CreateApp(t.Context(), tt.name, tt.urls, tt.ttl); !errs.Is(err, errs.Invalid, tt.code) {
				t.Errorf("CreateApp(%.20q, %q, %v): %v, want Invalid %s", tt.name, tt.urls, tt.ttl, err, tt.code)
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM clients`); n != 0 {
			t.Errorf("refused apps were stored: %d", n)
		}
		for _, urls := range [][]string{{"http://localhost:8080/cb"}, {"http://127.0.0.1/cb"}, {"http://[::1]:9000/"}} {
			if _, _, err := e.svc.CreateApp(t.Context(), "Local", urls, time.Hour); err != nil {
				t.Errorf("CreateApp with %q: %v", urls, err)
			}
		}
	})
}

func TestCreateAndListApps(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		app, key, err := e.svc.CreateApp(t.Context(), "  Shop ", []string{"https://a.example/", "https://a.example/", "https://b.example/cb"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(app.ID, "app_") || app.Name != "Shop" || app.OTPTTL != 5*time.Minute ||
			!slices.Equal(app.ReturnURLs, []string{"https://a.example/", "https://b.example/cb"}) || !app.CreatedAt.Equal(e.clock.Now()) {
			t.Errorf("CreateApp = %+v", app)
		}
		if !strings.HasPrefix(key, "lbk_") || len(key) != 47 {
			t.Errorf("API key %q: want lbk_ and 43 base64url characters", key)
		}
		if n := e.count(`SELECT COUNT(*) FROM client_keys WHERE key_hash = ?`, key); n != 0 {
			t.Errorf("the API key is stored in clear")
		}
		e.clock.Advance(time.Second)
		second, _ := e.createApp("Second")
		apps, err := e.svc.ListApps(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 2 || apps[0].ID != app.ID || apps[1].ID != second.ID ||
			!slices.Equal(apps[0].ReturnURLs, app.ReturnURLs) || apps[0].OTPTTL != app.OTPTTL || !apps[0].CreatedAt.Equal(app.CreatedAt) {
			t.Errorf("ListApps = %+v, want %s then %s", apps, app.ID, second.ID)
		}
		if err := e.svc.DeleteApp(t.Context(), second.ID); err != nil {
			t.Fatal(err)
		}
		if apps, _ := e.svc.ListApps(t.Context()); len(apps) != 1 || apps[0].ID != app.ID {
			t.Errorf("ListApps after a deletion = %+v, want only %s", apps, app.ID)
		}
	})
}

// TestRotatedKey: the old key keeps working 24 hours after a rotation, then
// stops, whatever the key cache holds.
func TestRotatedKey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		app, oldKey := e.createApp("App")
		unlink := func(key string) int {
			return e.postJSON(key, "/api/link-account/unlink", map[string]any{"user_id": "100"}).status
		}
		if got := unlink(oldKey); got != http.StatusNotFound {
			t.Fatalf("before rotation: %d, want 404 (authenticated, not linked)", got)
		}
		newKey, err := e.svc.RotateAppKey(t.Context(), app.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(24*time.Hour - time.Millisecond)
		if got := unlink(oldKey); got != http.StatusNotFound {
			t.Errorf("old key just before 24 h: %d, want it still accepted", got)
		}
		e.clock.Advance(time.Millisecond)
		wantError(t, "old key at 24 h", e.postJSON(oldKey, "/api/link-account/unlink", map[string]any{"user_id": "100"}),
			http.StatusUnauthorized, "Invalid API key")
		if got := unlink(newKey); got != http.StatusNotFound {
			t.Errorf("new key: %d, want it accepted", got)
		}
		if _, err := e.svc.RotateAppKey(t.Context(), "app_nope"); !errs.Is(err, errs.NotFound, "app_not_found") {
			t.Errorf("RotateAppKey of an unknown app: %v, want NotFound app_not_found", err)
		}
		if _, err := e.svc.RotateAppKey(t.Context(), app.ID); err != nil {
			t.Fatal(err)
		}
		if n := e.count(`SELECT COUNT(*) FROM client_keys`); n != 2 {
			t.Errorf("client_keys after a second rotation = %d, want 2: the expired key swept, the replaced one kept", n)
		}
	})
}

// TestDeletedAppKey: a deleted app's key stops at once on the instance that
// deleted it, and within the key cache's few seconds on another one.
func TestDeletedAppKey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		app, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		e.sendOTP(key, "100", "login", a)
		other := httptest.NewServer(routes(e.newService(ratelimit.Unlimited{})))
		t.Cleanup(other.Close)
		otherUnlink := func() int {
			req, _ := http.NewRequest(http.MethodPost, other.URL+"/api/link-account/unlink", strings.NewReader(`{"user_id":"nobody"}`))
			req.Header.Set("X-Api-Key", key)
			return e.do(req).status
		}
		if got := otherUnlink(); got != http.StatusNotFound {
			t.Fatalf("other instance before deletion: %d, want 404", got)
		}
		if err := e.svc.DeleteApp(t.Context(), app.ID); err != nil {
			t.Fatal(err)
		}
		wantError(t, "deleting instance", e.postJSON(key, "/api/notification", map[string]any{"user_id": "100", "message": "x"}),
			http.StatusUnauthorized, "Invalid API key")
		e.clock.Advance(5 * time.Second)
		if got := otherUnlink(); got != http.StatusUnauthorized {
			t.Errorf("other instance 5 s after deletion: %d, want 401", got)
		}
		if got := e.newest(a).Code; got != "" {
			t.Errorf("the deleted app's code is still shown: %q", got)
		}
		for _, table := range []string{"client_keys", "links", "link_tokens", "otps"} {
			if n := e.count(`SELECT COUNT(*) FROM ` + table); n != 0 {
				t.Errorf("%s after deletion: %d rows, want 0", table, n)
			}
		}
		if err := e.svc.DeleteApp(t.Context(), app.ID); !errs.Is(err, errs.NotFound, "app_not_found") {
			t.Errorf("deleting twice: %v, want NotFound app_not_found", err)
		}
	})
}

func TestInvalidAPIKey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		for _, k := range []string{"", "lbk_nope", strings.ToUpper(key), key + "x", strings.Repeat("k", 4096)} {
			for _, ep := range endpoints("123456") {
				before := e.snapshot()
				wantError(t, ep.path, e.postJSON(k, ep.path, ep.valid), http.StatusUnauthorized, "Invalid API key")
				if e.snapshot() != before {
					t.Errorf("%s with an invalid key wrote to the store", ep.path)
				}
			}
		}
	})
}

func routes(s interface{ Routes(*http.ServeMux) }) http.Handler {
	mux := http.NewServeMux()
	s.Routes(mux)
	return mux
}

// TestUpdateApp: the name, return URLs and OTP lifetime change, each alone,
// the key and the links staying; a bad value or an unknown app changes
// nothing.
func TestUpdateApp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		app, key := e.createApp("Shop")
		e.link(key, "100", e.createUser("a@example.com", ""))
		urls := app.ReturnURLs
		got, err := e.svc.UpdateApp(t.Context(), app.ID, connect.AppUpdate{Name: "Shop Two"})
		if err != nil || got.Name != "Shop Two" || !slices.Equal(got.ReturnURLs, urls) || got.OTPTTL != app.OTPTTL {
			t.Fatalf("rename: %+v, %v", got, err)
		}
		got, err = e.svc.UpdateApp(t.Context(), app.ID, connect.AppUpdate{ReturnURLs: []string{"https://new.example/cb", "https://new.example/cb"}})
		if err != nil || got.Name != "Shop Two" || !slices.Equal(got.ReturnURLs, []string{"https://new.example/cb"}) || got.OTPTTL != app.OTPTTL {
			t.Fatalf("return URLs: %+v, %v", got, err)
		}
		got, err = e.svc.UpdateApp(t.Context(), app.ID, connect.AppUpdate{OTPTTL: 90 * time.Second})
		if err != nil || got.OTPTTL != 90*time.Second || !slices.Equal(got.ReturnURLs, []string{"https://new.example/cb"}) {
			t.Fatalf("OTP lifetime: %+v, %v", got, err)
		}
		for name, u := range map[string]connect.AppUpdate{
			"http return URL": {ReturnURLs: []string{"http://shop.example/cb"}},
			"short OTP TTL":   {OTPTTL: time.Second},
			"long OTP TTL":    {OTPTTL: 2 * time.Hour},
			"control in name": {Name: "a\nb"},
		} {
			if _, err := e.svc.UpdateApp(t.Context(), app.ID, u); errs.From(err).Kind != errs.Invalid {
				t.Errorf("%s: %v, want Invalid", name, err)
			}
		}
		if _, err := e.svc.UpdateApp(t.Context(), "app_nope", connect.AppUpdate{Name: "X"}); !errs.Is(err, errs.NotFound, "app_not_found") {
			t.Errorf("unknown app: %v, want NotFound app_not_found", err)
		}
		apps, _ := e.svc.ListApps(t.Context())
		if len(apps) != 1 || apps[0].Name != "Shop Two" || apps[0].OTPTTL != 90*time.Second || !slices.Equal(apps[0].ReturnURLs, []string{"https://new.example/cb"}) {
			t.Errorf("after refused updates: %+v", apps)
		}
		if n := e.count(`SELECT COUNT(*) FROM links WHERE app_id = ?`, app.ID); n != 1 {
			t.Errorf("links after the updates: %d, want 1", n)
		}
		if got := e.postJSON(key, "/api/link-account/unlink", map[string]any{"user_id": "100"}).status; got != http.StatusOK {
			t.Errorf("unlinking with the key after the updates: %d, want 200", got)
		}
	})
}
