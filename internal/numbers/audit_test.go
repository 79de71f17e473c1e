package numbers_test

import (
	"slices"
	"testing"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestCheck: a store rented from is sound; a balance moved off its ledger,
// and a number the pool marks as held by a rental that does not hold it,
// are each found.
func TestCheck(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 3, 1000, nil)
		for range 2 {
			if r := f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "telegram", "country": "US"}); r.Status != 200 {
				t.Fatalf("rent: %d %s", r.Status, r.Body)
			}
		}
		n := f.st.Server.Numbers
		a, err := n.Check(t.Context())
		if err != nil || !a.Sound() || a.Accounts != 1 || a.Rentals != 2 || a.Credits != 1000-2*100 {
			t.Fatalf("Check = %+v, %v; want sound, 1 account, 2 rentals, 800 credits", a, err)
		}
		d := dbtest.Open(t, url)
		if _, err := d.Exec(t.Context(), `UPDATE numbers_accounts SET credits = credits + 1`); err != nil {
			t.Fatal(err)
		}
		var free string
		if err := d.QueryRow(t.Context(), `SELECT number FROM numbers_pool WHERE rental_id IS NULL`).Scan(&free); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(t.Context(), `UPDATE numbers_pool SET rental_id = 'rent_nosuch' WHERE number = ?`, free); err != nil {
			t.Fatal(err)
		}
		a, err = n.Check(t.Context())
		if err != nil || a.Sound() || len(a.Unbalanced) != 1 || !slices.Equal(a.DoubleRented, []string{free}) {
			t.Errorf("Check of a broken store = %+v, %v; want the account unbalanced and %s", a, err, free)
		}
		// Both live rentals on one number: it is held twice, and the other
		// number's pool row names a rental that left it.
		if _, err := d.Exec(t.Context(), `UPDATE numbers_rentals SET number_id = (SELECT MIN(number_id) FROM numbers_rentals)`); err != nil {
			t.Fatal(err)
		}
		if a, err = n.Check(t.Context()); err != nil || len(a.DoubleRented) != 3 {
			t.Errorf("Check with a number rented twice = %+v, %v; want all three numbers named", a, err)
		}
	})
}
