package clients_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/clients"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
)

// TestCreate: a client gets an id of its kind's prefix and a key shown only
// once; the surface's row is written with it, and a failure of either
// leaves nothing behind.
func TestCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		sup := e.clients(supplier)
		cl, key, err := sup.Create(t.Context(), "  Acme ", writeNote("note of Acme"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(cl.ID, "sup_") || cl.Name != "Acme" || !cl.CreatedAt.Equal(start) {
			t.Errorf("Create = %+v, want sup_…, Acme, created now", cl)
		}
		if !strings.HasPrefix(key, "lbk_") || len(key) != 47 {
			t.Errorf("API key %q: want lbk_ and 43 base64url characters", key)
		}
		if n := e.count(`SELECT COUNT(*) FROM client_keys WHERE key_hash = ?`, key); n != 0 {
			t.Error("the API key is stored in clear")
		}
		e.wantClient("the new key", sup, ip, key, cl)

		for _, name := range []string{"", "   ", strings.Repeat("n", 101), "tab\tname", "nul\x00"} {
			if _, _, err := sup.Create(t.Context(), name, writeNote("x")); !errs.Is(err, errs.Invalid, "invalid_name") {
				t.Errorf("Create(%.20q): %v, want Invalid invalid_name", name, err)
			}
		}
		if _, _, err := sup.Create(t.Context(), "Boom", failing); !errors.Is(err, errBoom) {
			t.Errorf("Create with a failing surface: %v, want its error", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM clients`); n != 1 {
			t.Errorf("clients after refused creations: %d, want 1", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM client_keys`); n != 1 {
			t.Errorf("client_keys after refused creations: %d, want 1", n)
		}
	})
}

// TestList: the live clients of one kind, oldest first, with the surface's
// record of each.
func TestList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		sup, mfr := e.clients(supplier), e.clients(manufacturer)
		first, _ := e.create(sup, "First")
		e.clock.Advance(time.Second)
		second, _ := e.create(sup, "Second")
		e.create(mfr, "Other kind")
		e.clock.Advance(time.Second)
		gone, _ := e.create(sup, "Gone")
		if err := sup.Delete(t.Context(), gone.ID, eraseNote); err != nil {
			t.Fatal(err)
		}
		list, err := sup.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range list {
			got = append(got, fmt.Sprint(r.ID, " ", r.Name, " ", r.CreatedAt.UTC().Format(time.RFC3339), " ", r.Note))
		}
		want := fmt.Sprint(first.ID, " First 2025-03-14T09:26:53Z note of First, ", second.ID, " Second 2025-03-14T09:26:54Z note of Second")
		if strings.Join(got, ", ") != want {
			t.Errorf("List = %v, want %s", got, want)
		}
	})
}

// TestKindOfKey: a key authenticates only with the Clients of its kind; to
// another kind it is refused like an unknown key, as is anything that is
// not a key.
func TestKindOfKey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		sup, mfr := e.clients(supplier), e.clients(manufacturer)
		s, supKey := e.create(sup, "Supplier")
		m, mfrKey := e.create(mfr, "Manufacturer")
		e.wantClient("supplier key", sup, ip, supKey, s)
		e.wantClient("manufacturer key", mfr, ip, mfrKey, m)
		e.wantRefused("supplier key to manufacturers", mfr, ip, supKey)
		e.wantRefused("manufacturer key to suppliers", sup, ip, mfrKey)
		for _, k := range []string{"", "lbk_nope", strings.ToUpper(supKey), supKey + "x", strings.Repeat("k", 4096)} {
			e.wantRefused("not a key", sup, ip, k)
		}
	})
}

// TestRotateKey: the replaced key keeps working for 24 hours after a
// rotation, then stops, whatever the key cache holds; a second rotation
// deletes it.
func TestRotateKey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		sup := e.clients(supplier)
		cl, oldKey := e.create(sup, "Acme")
		e.wantClient("before rotation", sup, ip, oldKey, cl)
		newKey, err := sup.RotateKey(t.Context(), cl.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.wantClient("new key", sup, ip, newKey, cl)
		e.clock.Advance(24*time.Hour - time.Millisecond)
		e.wantClient("old key just before 24 h", sup, ip, oldKey, cl)
		e.clock.Advance(time.Millisecond)
		e.wantRefused("old key at 24 h", sup, ip, oldKey)
		e.wantClient("new key at 24 h", sup, ip, newKey, cl)

		if _, err := sup.RotateKey(t.Context(), cl.ID); err != nil {
			t.Fatal(err)
		}
		if n := e.count(`SELECT COUNT(*) FROM client_keys`); n != 2 {
			t.Errorf("client_keys after a second rotation = %d, want 2: the expired key deleted, the replaced one kept", n)
		}
		m, _ := e.create(e.clients(manufacturer), "Other kind")
		for _, id := range []string{"sup_nope", m.ID} {
			if _, err := sup.RotateKey(t.Context(), id); !errs.Is(err, errs.NotFound, "supplier_not_found") {
				t.Errorf("RotateKey(%s): %v, want NotFound supplier_not_found", id, err)
			}
		}
	})
}

// TestDelete: a deleted client's keys stop at once on the instance that
// deleted it, and within the key cache's 5 s on another one; the surface's
// rows go in the same transaction, whose failure keeps the client.
func TestDelete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		sup, other := e.clients(supplier), e.clients(supplier)
		cl, key := e.create(sup, "Acme")
		e.wantClient("this instance", sup, ip, key, cl)
		e.wantClient("another instance", other, ip, key, cl)

		if err := sup.Delete(t.Context(), cl.ID, failing); !errors.Is(err, errBoom) {
			t.Fatalf("Delete with a failing surface: %v, want its error", err)
		}
		e.wantClient("after a failed deletion, read from the store", e.clients(supplier), ip, key, cl)

		if err := sup.Delete(t.Context(), cl.ID, eraseNote); err != nil {
			t.Fatal(err)
		}
		e.wantRefused("this instance, at once", sup, ip, key)
		e.clock.Advance(5*time.Second - time.Millisecond)
		e.wantClient("another instance, from its cache", other, ip, key, cl)
		e.clock.Advance(time.Millisecond)
		e.wantRefused("another instance, 5 s on", other, ip, key)
		for _, table := range []string{"client_keys", "test_notes"} {
			if n := e.count(`SELECT COUNT(*) FROM ` + table); n != 0 {
				t.Errorf("%s after the deletion: %d rows, want 0", table, n)
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM clients WHERE id = ? AND deleted_at IS NOT NULL`, cl.ID); n != 1 {
			t.Error("the deleted client's row is gone: its id could be reused")
		}

		m, _ := e.create(e.clients(manufacturer), "Other kind")
		for _, id := range []string{cl.ID, m.ID} {
			if err := sup.Delete(t.Context(), id, eraseNote); !errs.Is(err, errs.NotFound, "supplier_not_found") {
				t.Errorf("Delete(%s): %v, want NotFound supplier_not_found", id, err)
			}
		}
	})
}

// TestUpdate: a rename and the surface's change land together, the key
// keeps working with the new record (at once on this instance, within the
// cache's 5 s on others), and a failure of either changes nothing.
func TestUpdate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		sup, other := e.clients(supplier), e.clients(supplier)
		cl, key := e.create(sup, "Acme")
		e.wantClient("another instance", other, ip, key, cl)
		setNote := func(ctx context.Context, tx *db.Tx, c clients.Client) error {
			return db.ExecOne(ctx, tx, `UPDATE test_notes SET note = ? WHERE client_id = ?`, "note of "+c.Name, c.ID)
		}

		if err := sup.Update(t.Context(), cl.ID, "Acme Energy", failing); !errors.Is(err, errBoom) {
			t.Fatalf("Update with a failing surface: %v, want its error", err)
		}
		e.wantClient("after a failed update", e.clients(supplier), ip, key, cl)
		for _, name := range []string{strings.Repeat("n", 101), "tab\tname"} {
			if err := sup.Update(t.Context(), cl.ID, name, setNote); !errs.Is(err, errs.Invalid, "invalid_name") {
				t.Errorf("Update(%.20q): %v, want Invalid invalid_name", name, err)
			}
		}

		if err := sup.Update(t.Context(), cl.ID, " Acme Energy ", setNote); err != nil {
			t.Fatal(err)
		}
		renamed := cl
		renamed.Name = "Acme Energy"
		e.wantClient("this instance, at once", sup, ip, key, renamed)
		e.wantClient("another instance, from its cache", other, ip, key, cl)
		e.clock.Advance(5 * time.Second)
		e.wantClient("another instance, 5 s on", other, ip, key, renamed)

		if err := sup.Update(t.Context(), cl.ID, "", setNote); err != nil {
			t.Fatal(err)
		}
		e.wantClient("no name given keeps the name", e.clients(supplier), ip, key, renamed)

		m, _ := e.create(e.clients(manufacturer), "Other kind")
		for _, id := range []string{"sup_nosuch", m.ID} {
			if err := sup.Update(t.Context(), id, "X", setNote); !errs.Is(err, errs.NotFound, "supplier_not_found") {
				t.Errorf("Update(%s): %v, want NotFound supplier_not_found", id, err)
			}
		}
		if err := sup.Delete(t.Context(), cl.ID, eraseNote); err != nil {
			t.Fatal(err)
		}
		if err := sup.Update(t.Context(), cl.ID, "X", setNote); !errs.Is(err, errs.NotFound, "supplier_not_found") {
			t.Errorf("Update of a deleted client: %v, want NotFound", err)
		}
	})
}

// TestGet: a live client's record by id, from the store; another kind's,
// a deleted one's or an unknown id is the kind's not-found.
func TestGet(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		sup := e.clients(supplier)
		cl, _ := e.create(sup, "Acme")
		r, err := sup.Get(t.Context(), cl.ID)
		if err != nil || !same(r.Client, cl) || r.Note != "note of Acme" {
			t.Fatalf("Get = %+v, %v", r, err)
		}
		m, _ := e.create(e.clients(manufacturer), "Other kind")
		if err := sup.Delete(t.Context(), cl.ID, eraseNote); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{cl.ID, m.ID, "sup_nosuch", ""} {
			if _, err := sup.Get(t.Context(), id); !errs.Is(err, errs.NotFound, "supplier_not_found") {
				t.Errorf("Get(%q): %v, want supplier_not_found", id, err)
			}
		}
	})
}
