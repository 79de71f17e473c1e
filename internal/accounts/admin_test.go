package accounts_test

import (
	"slices"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
)

// TestListUsers: accounts oldest first, paged by the last id, filtered by
// status; an unknown status or a missing page mark is refused.
func TestListUsers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		var ids []string
		for _, phone := range []string{"+25761234561", "+25761234562", "+25761234563"} {
			ids = append(ids, e.active(phone))
			e.clock.Advance(time.Second)
		}
		pending := e.signup("+25761234564")
		ids = append(ids, pending)
		idsOf := func(us []accounts.User) []string {
			var out []string
			for _, u := range us {
				out = append(out, u.ID)
			}
			return out
		}
		list := func(status, after string, limit int) []string {
			t.Helper()
			us, err := e.svc.ListUsers(t.Context(), status, after, limit)
			if err != nil {
				t.Fatalf("ListUsers(%q, %q, %d): %v", status, after, limit, err)
			}
			return idsOf(us)
		}
		if got := list("", "", 10); !slices.Equal(got, ids) {
			t.Errorf("all = %v, want %v", got, ids)
		}
		first := list("", "", 2)
		if !slices.Equal(first, ids[:2]) || !slices.Equal(list("", first[1], 2), ids[2:]) || len(list("", ids[3], 2)) != 0 {
			t.Errorf("pages: %v, %v", first, list("", first[1], 2))
		}
		if got := list(accounts.StatusPending, "", 10); !slices.Equal(got, []string{pending}) {
			t.Errorf("pending = %v, want %v", got, pending)
		}
		if got := list(accounts.StatusActive, ids[0], 10); !slices.Equal(got, ids[1:3]) {
			t.Errorf("active after the first = %v", got)
		}
		if _, err := e.svc.ListUsers(t.Context(), "deleted", "", 10); !errs.Is(err, errs.Invalid, "invalid_status") {
			t.Errorf("unknown status: %v", err)
		}
		if _, err := e.svc.ListUsers(t.Context(), "", "usr_nosuch", 10); err == nil {
			t.Error("a page after an unknown account was listed")
		}
	})
}
