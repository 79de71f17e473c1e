package numbers_test

import (
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestPriceCache: a rent on this instance shows in the next prices answer;
// a change made elsewhere (another instance, another process) shows within
// a second, the answers cached until then.
func TestPriceCache(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := start(t, url, 3, 1000, nil)
		count := func() any {
			t.Helper()
			r := f.st.Call(t, "GET", "/api/public/prices?service=telegram&country=US", "", nil).JSON(t)
			return r["data"].(map[string]any)["US"].(map[string]any)["telegram"].(map[string]any)["services"].(map[string]any)["verizon"].(map[string]any)["count"]
		}
		if c := count(); c != "3" {
			t.Fatalf("count = %v, want 3", c)
		}
		if r := f.st.Call(t, "POST", "/api/internal/rent", f.token, map[string]string{"service": "telegram", "country": "US"}); r.Status != 200 {
			t.Fatalf("rent: %d %s", r.Status, r.Body)
		}
		if c := count(); c != "2" {
			t.Errorf("after a rent here: count = %v, want 2 at once", c)
		}
		if _, err := dbtest.Open(t, url).Exec(t.Context(), `UPDATE numbers_pool SET rental_id = 'rnt_elsewhere' WHERE rental_id IS NULL`); err != nil {
			t.Fatal(err)
		}
		if c := count(); c != "2" {
			t.Errorf("just after a change elsewhere: count = %v, want the cached 2", c)
		}
		time.Sleep(1100 * time.Millisecond)
		if c := count(); c != "0" {
			t.Errorf("a second after a change elsewhere: count = %v, want 0", c)
		}
	})
}
