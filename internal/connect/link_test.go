package connect_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
)

const returnTo = "https://your-app.com/nofbox-return/100"

func TestLinkURLSameWhilePending(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		first := e.linkURL(key, "100", returnTo)
		e.clock.Advance(15*time.Minute - time.Millisecond)
		if again := e.linkURL(key, "100", returnTo); again != first {
			t.Fatalf("asked again while pending: %s, want the same %s", again, first)
		}
		if n := e.count(`SELECT COUNT(*) FROM link_tokens`); n != 1 {
			t.Fatalf("link_tokens = %d rows, want 1", n)
		}
		for _, other := range []struct{ userID, returnURL string }{
			{"101", returnTo},
			{"100", returnTo + "?again=1"},
		} {
			if got := e.linkURL(key, other.userID, other.returnURL); got == first {
				t.Errorf("user %s, return URL %s: got the URL of another request", other.userID, other.returnURL)
			}
		}
		e.clock.Advance(time.Millisecond)
		if got := e.linkURL(key, "100", returnTo); got == first {
			t.Errorf("after 15 minutes: got the expired URL again")
		}
	})
}

func TestLinkTokenExpired(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		token := tokenOf(t, e.linkURL(key, "100", returnTo))
		e.clock.Advance(15 * time.Minute)
		if _, err := e.svc.PendingLink(t.Context(), token); !errs.Is(err, errs.Gone, "link_expired") {
			t.Errorf("PendingLink of an expired token: %v, want Gone link_expired", err)
		}
		before := e.snapshot()
		if _, err := e.svc.ApproveLink(t.Context(), token, a.id); !errs.Is(err, errs.Gone, "link_expired") {
			t.Errorf("ApproveLink of an expired token: %v, want Gone link_expired", err)
		}
		if _, err := e.svc.DenyLink(t.Context(), token); !errs.Is(err, errs.Gone, "link_expired") {
			t.Errorf("DenyLink of an expired token: %v, want Gone link_expired", err)
		}
		if after := e.snapshot(); after != before {
			t.Errorf("an expired token wrote:\n%s\nthen:\n%s", before, after)
		}
	})
}

func TestLinkTokenSingleUse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a, b := e.createUser("a@example.org", ""), e.createUser("b@example.org", "")
		token := tokenOf(t, e.linkURL(key, "100", returnTo))
		if got, err := e.svc.ApproveLink(t.Context(), token, a.id); err != nil || got != returnTo {
			t.Fatalf("ApproveLink = %q, %v; want %q", got, err, returnTo)
		}
		if _, err := e.svc.PendingLink(t.Context(), token); !errs.Is(err, errs.Gone, "link_used") {
			t.Errorf("PendingLink of a used token: %v, want Gone link_used", err)
		}
		if _, err := e.svc.ApproveLink(t.Context(), token, b.id); !errs.Is(err, errs.Gone, "link_used") {
			t.Errorf("ApproveLink of a used token: %v, want Gone link_used", err)
		}
		if _, err := e.svc.DenyLink(t.Context(), token); !errs.Is(err, errs.Gone, "link_used") {
			t.Errorf("DenyLink of a used token: %v, want Gone link_used", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM links WHERE user_id = ?`, a.id); n != 1 {
			t.Errorf("links of the approving account = %d, want 1 (the second approval must not relink)", n)
		}
	})
}

func TestLinkTokenUnknown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		a := e.createUser("a@example.org", "")
		for _, token := range []string{"", "nope", strings.Repeat("x", 1000)} {
			if _, err := e.svc.PendingLink(t.Context(), token); !errs.Is(err, errs.NotFound, "link_not_found") {
				t.Errorf("PendingLink(%.10q): %v, want NotFound link_not_found", token, err)
			}
			if _, err := e.svc.ApproveLink(t.Context(), token, a.id); !errs.Is(err, errs.NotFound, "link_not_found") {
				t.Errorf("ApproveLink(%.10q): %v, want NotFound link_not_found", token, err)
			}
		}
	})
}

func TestDenyLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		first := e.linkURL(key, "100", returnTo)
		got, err := e.svc.DenyLink(t.Context(), tokenOf(t, first))
		if err != nil || got != returnTo {
			t.Fatalf("DenyLink = %q, %v; want %q", got, err, returnTo)
		}
		if n := e.count(`SELECT COUNT(*) FROM links`); n != 0 {
			t.Errorf("links after a denial = %d, want 0", n)
		}
		if again := e.linkURL(key, "100", returnTo); again == first {
			t.Errorf("link-account after a denial handed out the denied token")
		}
	})
}

func TestReturnURLRegistered(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App", "https://your-app.com/nofbox-return/", "https://your-app.com/done", "http://localhost:3000/cb")
		tests := []struct {
			returnURL string
			ok        bool
		}{
			{"https://your-app.com/nofbox-return/", true},
			{"https://your-app.com/nofbox-return/100?x=1", true},
			{"https://your-app.com/done", true},
			{"http://localhost:3000/cb", true},
			{"https://your-app.com/done/100", false},
			{"https://your-app.com/done?next=https://evil.example", false},
			{"https://your-app.com/nofbox-returned", false},
			{"https://your-app.com.evil.example/nofbox-return/", false},
			{"http://your-app.com/nofbox-return/100", false},
			{"https://evil.example/", false},
			{"http://localhost:3001/cb", false},
			{"https://your-app.com/nofbox-return/\x01", false},
		}
		for _, tt := range tests {
			before := e.snapshot()
			r := e.postJSON(key, "/api/link-account", map[string]any{"user_id": "100", "return_url": tt.returnURL})
			switch {
			case tt.ok && (r.status != http.StatusOK || r.body["url"] == nil):
				t.Errorf("%q: %d %v, want a linking URL", tt.returnURL, r.status, r.body)
			case !tt.ok:
				wantError(t, tt.returnURL, r, http.StatusBadRequest, "Invalid return_url")
				if e.snapshot() != before {
					t.Errorf("%q: refused, yet written", tt.returnURL)
				}
			}
		}
	})
}

// TestReturnURLTraversal: a URL that reads as under a registered prefix but
// leads out of it once a browser resolves it is refused, in the API's error
// shape, and writes nothing; dot segments that stay under the prefix are
// fine.
func TestReturnURLTraversal(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App", "https://your-app.com/nofbox-return/", "http://localhost:3000/cb/")
		const p = "https://your-app.com/nofbox-return/"
		tests := []struct {
			returnURL string
			ok        bool
		}{
			{p + "a/../b", true},
			{p + "./100", true},
			{p + "a/%2e%2e/b", true},
			{p + "a/..", true},
			{"https://YOUR-APP.com/nofbox-return/100", true},
			{p + "100?next=..%2F..%2Fx", true},
			{"http://localhost:3000/cb/100", true},
			{p + "../../x", false},
			{p + "../x", false},
			{p + "..", false},
			{p + "a/../../x", false},
			{p + "%2e%2e/x", false},
			{p + "%2E%2E/x", false},
			{p + "%2E%2e/x", false},
			{p + ".%2e/x", false},
			{p + "%2E./x", false},
			{p + "%2e%2e", false},
			{p + "%2F%2Fevil.com", false},
			{p + "%2fx", false},
			{p + "%5c%5cevil.com", false},
			{p + "%5Cx", false},
			{p + `\evil.com`, false},
			{p + `..\..\x`, false},
			{`https://your-app.com\nofbox-return/`, false},
			{"//evil.com/nofbox-return/", false},
			{p + "/evil.com", false},
			{p + "..//evil.com", false},
			{"https://your-app.com@evil.com/nofbox-return/", false},
			{"https://user@your-app.com/nofbox-return/100", false},
			{"https://your-app.com:8443/nofbox-return/100", false},
			{"http://localhost:3001/cb/100", false},
			{"http://localhost/cb/100", false},
			{"https://your-app.com/nofbox-returnX/100", false},
			{"https://your-app.com/nofbox-returnX", false},
			{"https://your-app.com/nofbox-return", false},
			{"http://your-app.com/nofbox-return/100", false},
			{"https:your-app.com/nofbox-return/", false},
		}
		for _, tt := range tests {
			before := e.snapshot()
			r := e.postJSON(key, "/api/link-account", map[string]any{"user_id": "100", "return_url": tt.returnURL})
			switch {
			case tt.ok && (r.status != http.StatusOK || r.body["url"] == nil):
				t.Errorf("%q: %d %v, want a linking URL", tt.returnURL, r.status, r.body)
			case !tt.ok:
				wantError(t, tt.returnURL, r, http.StatusBadRequest, "Invalid return_url")
				if e.snapshot() != before {
					t.Errorf("%q: refused, yet written", tt.returnURL)
				}
			}
		}
	})
}

// TestForeignApp: an app sees only its own links, tokens and OTPs, even for
// the same user_id linked to the same account.
func TestForeignApp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, keyA := e.createApp("A")
		appB, keyB := e.createApp("B")
		a := e.createUser("a@example.org", "")
		e.link(keyA, "100", a)
		code := e.sendOTP(keyA, "100", "login", a)

		r := e.postJSON(keyB, "/api/link-account", map[string]any{"user_id": "100", "return_url": returnTo})
		if r.status != http.StatusOK || r.body["linked"] != false {
			t.Fatalf("B's link-account for A's user: %d %v, want linked:false", r.status, r.body)
		}
		pending, err := e.svc.PendingLink(t.Context(), tokenOf(t, r.body["url"].(string)))
		if err != nil || pending.AppID != appB.ID {
			t.Fatalf("B's token: %+v, %v; want a request of app B", pending, err)
		}
		wantError(t, "B verifies A's OTP", e.verify(keyB, "100", "login", code), http.StatusNotFound, "User not linked")
		wantError(t, "B notifies A's user", e.postJSON(keyB, "/api/notification", map[string]any{"user_id": "100", "message": "x"}),
			http.StatusNotFound, "User not linked")
		wantError(t, "B unlinks A's user", e.postJSON(keyB, "/api/link-account/unlink", map[string]any{"user_id": "100"}),
			http.StatusNotFound, "User not linked")

		e.link(keyB, "100", a)
		wantError(t, "B, now linked, verifies A's code", e.verify(keyB, "100", "login", code), http.StatusBadRequest, "Invalid OTP code")
		wantBody(t, "A verifies its code", e.verify(keyA, "100", "login", code), http.StatusOK, success)
	})
}

// TestSecondPendingTokenRefused: of two tokens handed out for one (app,
// user_id), the approval of the first spends the second, so that another
// account cannot take the link over with it; the first account's link and
// codes stay.
func TestSecondPendingTokenRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a, b := e.createUser("a@example.org", "alice"), e.createUser("b@example.org", "bob")
		first := tokenOf(t, e.linkURL(key, "100", returnTo))
		second := tokenOf(t, e.linkURL(key, "100", returnTo+"?second"))
		other := tokenOf(t, e.linkURL(key, "101", returnTo))
		if _, err := e.svc.ApproveLink(t.Context(), first, a.id); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.PendingLink(t.Context(), second); !errs.Is(err, errs.Gone, "link_used") {
			t.Errorf("PendingLink of the second token: %v, want Gone link_used", err)
		}
		code := e.sendOTP(key, "100", "login", a)
		if _, err := e.svc.ApproveLink(t.Context(), second, b.id); !errs.Is(err, errs.Gone, "link_used") {
			t.Fatalf("ApproveLink of the second token by another account: %v, want Gone link_used", err)
		}
		r := e.postJSON(key, "/api/link-account", map[string]any{"user_id": "100", "return_url": returnTo})
		if r.body["username"] != "alice" {
			t.Errorf("link-account after the refused approval: %v, want alice's account", r.body)
		}
		if got := e.newest(a).Code; got != code {
			t.Errorf("the first account's inbox shows code %q, want %q", got, code)
		}
		if _, err := e.svc.PendingLink(t.Context(), other); err != nil {
			t.Errorf("the token of another user_id: %v, want it still pending", err)
		}
	})
}

// TestLinkTakenRefused: a token still pending for a pair linked to another
// account (handed out while the link was being approved) is refused with a
// Conflict and changes nothing; the linked account itself may use it.
func TestLinkTakenRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a, b := e.createUser("a@example.org", "alice"), e.createUser("b@example.org", "bob")
		late := tokenOf(t, e.linkURL(key, "100", returnTo))
		e.link(key, "100", a)
		// The approval spent late; as if the request that issued late had
		// read "not linked" before it and inserted its token after it:
		if _, err := e.db.Exec(t.Context(), `UPDATE link_tokens SET used_at = NULL`); err != nil {
			t.Fatal(err)
		}
		before := e.snapshot()
		if _, err := e.svc.ApproveLink(t.Context(), late, b.id); !errs.Is(err, errs.Conflict, "link_taken") {
			t.Fatalf("ApproveLink for a pair linked to another account: %v, want Conflict link_taken", err)
		}
		if after := e.snapshot(); after != before {
			t.Errorf("a refused approval wrote:\n%s\nthen:\n%s", before, after)
		}
		if n := e.count(`SELECT COUNT(*) FROM links WHERE user_id = ?`, a.id); n != 1 {
			t.Errorf("links of the first account = %d, want 1", n)
		}
		if _, err := e.svc.ApproveLink(t.Context(), late, a.id); err != nil {
			t.Errorf("ApproveLink by the linked account itself: %v", err)
		}
		wantBody(t, "unlink", e.postJSON(key, "/api/link-account/unlink", map[string]any{"user_id": "100"}), http.StatusOK, success)
		e.link(key, "100", b)
		r := e.postJSON(key, "/api/link-account", map[string]any{"user_id": "100", "return_url": returnTo})
		if r.body["username"] != "bob" {
			t.Errorf("link-account after unlink and relink: %v, want bob's account", r.body)
		}
	})
}

func TestUnlinkKillsOTPs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		e.sendOTP(key, "100", "login", a)
		wantBody(t, "unlink", e.postJSON(key, "/api/link-account/unlink", map[string]any{"user_id": 100}), http.StatusOK, success)
		if n := e.count(`SELECT COUNT(*) FROM otps`); n != 0 {
			t.Errorf("otps after unlink = %d, want 0", n)
		}
		if got := e.newest(a).Code; got != "" {
			t.Errorf("the inbox still shows code %q after unlink", got)
		}
		wantError(t, "unlink again", e.postJSON(key, "/api/link-account/unlink", map[string]any{"user_id": "100"}),
			http.StatusNotFound, "User not linked")
	})
}
