package connect_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
)

func TestLinkedApps(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		appA, keyA := e.createApp("A")
		appB, keyB := e.createApp("B")
		deleted, keyC := e.createApp("C")
		a, other := e.createUser("a@example.org", ""), e.createUser("o@example.org", "")
		linkedA := e.clock.Now()
		e.link(keyA, "100", a)
		e.clock.Advance(time.Minute)
		e.link(keyA, "101", a) // a second user of A, same account: one entry
		e.link(keyB, "7", a)
		e.link(keyC, "7", a)
		e.link(keyB, "8", other)
		if err := e.svc.DeleteApp(t.Context(), deleted.ID); err != nil {
			t.Fatal(err)
		}
		apps, err := e.svc.LinkedApps(t.Context(), a.id)
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 2 || apps[0].AppID != appB.ID || apps[0].AppName != "B" ||
			apps[1].AppID != appA.ID || !apps[1].LinkedAt.Equal(linkedA) {
			t.Fatalf("LinkedApps = %+v, want B then A (linked at %v)", apps, linkedA)
		}
		if apps, err := e.svc.LinkedApps(t.Context(), "user_nobody"); err != nil || apps == nil || len(apps) != 0 {
			t.Errorf("LinkedApps of an account without links = %#v, %v; want an empty list", apps, err)
		}
	})
}

// TestUnlinkApp: unlinking from the account page is the app's own unlink,
// for every user id of that app linked to the account.
func TestUnlinkApp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		app, key := e.createApp("A")
		_, keyB := e.createApp("B")
		a, other := e.createUser("a@example.org", ""), e.createUser("o@example.org", "")
		e.link(key, "100", a)
		e.link(key, "101", a)
		e.link(key, "102", other)
		e.link(keyB, "100", a)
		e.sendOTP(key, "101", "login", a)

		if err := e.svc.UnlinkApp(t.Context(), a.id, app.ID); err != nil {
			t.Fatal(err)
		}
		for _, userID := range []string{"100", "101"} {
			r := e.postJSON(key, "/api/link-account", map[string]any{"user_id": userID, "return_url": returnTo})
			if r.status != http.StatusOK || r.body["linked"] != false || r.body["url"] == nil {
				t.Errorf("link-account for %s after UnlinkApp: %d %v, want linked:false with a fresh url", userID, r.status, r.body)
			}
		}
		if got := e.messages(a)[0].Code; got != "" {
			t.Errorf("the unlinked app's code is still shown: %q", got)
		}
		if n := e.count(`SELECT COUNT(*) FROM links`); n != 2 {
			t.Errorf("links left = %d, want 2 (the other account's, and app B's)", n)
		}
		if err := e.svc.UnlinkApp(t.Context(), a.id, app.ID); !errs.Is(err, errs.NotFound, "not_linked") {
			t.Errorf("UnlinkApp again: %v, want NotFound not_linked", err)
		}
	})
}

// TestSeedErrors produces each error of the seed's table, and ours, with
// the status documented in errors.go.
func TestSeedErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		code := e.sendOTP(key, "100", "login", a)
		e.sendOTP(key, "100", "soon", a)
		tests := []struct {
			key, path string
			body      map[string]any
			status    int
			message   string
		}{
			{"lbk_wrong", "/api/otp", map[string]any{"user_id": "100", "reference": "x", "message": "m"}, 401, "Invalid API key"},
			{key, "/api/otp", map[string]any{"user_id": "200", "reference": "x", "message": "m"}, 404, "User not linked"},
			{key, "/api/otp/verify", map[string]any{"user_id": "100", "reference": "login", "code": wrong(code)}, 400, "Invalid OTP code"},
			{key, "/api/otp/verify", map[string]any{"user_id": "100", "reference": "login"}, 400, "Missing required field"},
			{key, "/api/link-account", map[string]any{"user_id": "100", "return_url": "https://evil.example/"}, 400, "Invalid return_url"},
		}
		for _, tt := range tests {
			wantError(t, tt.message, e.postJSON(tt.key, tt.path, tt.body), tt.status, tt.message)
		}
		for range 4 {
			e.verify(key, "100", "login", wrong(code))
		}
		wantError(t, "Too many attempts", e.verify(key, "100", "login", code), 429, "Too many attempts")
		e.clock.Advance(5 * time.Minute)
		wantError(t, "OTP expired", e.verify(key, "100", "soon", code), 410, "OTP expired")
	})
}
