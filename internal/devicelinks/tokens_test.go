package devicelinks_test

import (
	"slices"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestTokenRefresh has the fake manufacturer issue access tokens of one
// second, which golang.org/x/oauth2 holds expired at once: each is
// refreshed, and the refreshed one stored, sealed, in place of the old.
func TestTokenRefresh(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFlow(t, dbURL)
		dl := f.st.Server.DeviceLinks
		c := browser(t)
		connect := func(user string) {
			t.Helper()
			if v := result(t, f, mustGet(t, c, callbackURL(t, c, authorizeURL(t, c, f, f.link(t, user, "en"))))); v.Get("connection_status") != "connected" {
				t.Fatalf("%s: %v", user, v)
			}
		}

		// A token of an hour is stored as issued, and used as it is.
		connect("long")
		issued := f.fake.Issued()
		if access, _, err := dl.StoredTokens(t.Context(), f.supplierID, "long"); err != nil || access != issued[len(issued)-1] {
			t.Fatalf("stored %q, %v; issued %v", access, err, issued)
		}
		if access, err := dl.AccessToken(t.Context(), f.supplierID, "long"); err != nil || access != issued[len(issued)-1] || len(f.fake.Issued()) != len(issued) {
			t.Fatalf("a live token: %q, %v; issued %v", access, err, f.fake.Issued())
		}

		// A token of a second: the code's is refreshed before the devices
		// are listed, and the refreshed one is stored.
		f.fake.SetTokenLifetime(time.Second)
		before := len(f.fake.Issued())
		connect("short")
		issued = f.fake.Issued()
		if len(issued) != before+2 {
			t.Fatalf("issued %v after %d: want the code's token and its refresh", issued, before)
		}
		access, refresh, err := dl.StoredTokens(t.Context(), f.supplierID, "short")
		if err != nil || access != issued[len(issued)-1] {
			t.Fatalf("stored %q, %v; want the refreshed %q", access, err, issued[len(issued)-1])
		}

		// Expired again when used: refreshed, stored with the new refresh token.
		got, err := dl.AccessToken(t.Context(), f.supplierID, "short")
		issued = f.fake.Issued()
		if err != nil || got != issued[len(issued)-1] || slices.Contains(issued[:len(issued)-1], got) {
			t.Fatalf("AccessToken %q, %v; issued %v", got, err, issued)
		}
		access2, refresh2, err := dl.StoredTokens(t.Context(), f.supplierID, "short")
		if err != nil || access2 != got || refresh2 == refresh || refresh2 == "" {
			t.Fatalf("stored after the refresh: %q %q, %v; want %q and a new refresh token", access2, refresh2, err, got)
		}
	})
}
