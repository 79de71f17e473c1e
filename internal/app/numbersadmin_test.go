package app_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestNumbersImport: a CSV file adds its numbers to the pool at once; a
// file with one bad line, a number already in the pool, or the wrong header
// adds none of its numbers.
func TestNumbersImport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		dir := t.TempDir()
		file := func(name, text string) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		const header = "number,country,operator,services,gateway,sim\n"
		good := file("good.csv", header+"+12125550101,us,att,telegram whatsapp,,\n+12125550102,US,att,,,\n\"+447700900123\",GB,ee,telegram,,\n")
		var added map[string]int
		if err := cli(t, url, &added, "numbers", "import", "--file", good, "--json"); err != nil || added["added"] != 3 {
			t.Fatalf("numbers import = %v, %v", added, err)
		}
		var pool struct{ Numbers []map[string]any }
		if err := cli(t, url, &pool, "numbers", "list", "--json"); err != nil || len(pool.Numbers) != 3 ||
			pool.Numbers[2]["number"] != "+447700900123" || pool.Numbers[0]["country"] != "US" {
			t.Fatalf("numbers list = %v, %v", pool, err)
		}
		for name, text := range map[string]string{
			"bad-number.csv": header + "+12125550103,US,att,,,\n12125550104,US,att,,,\n",
			"existing.csv":   header + "+12125550105,US,att,,,\n+12125550101,US,att,,,\n",
			"header.csv":     "number,country,operator\n+12125550106,US,att\n",
			"fields.csv":     header + "+12125550107,US,att\n",
			"sim.csv":        header + "+12125550108,US,att,,gw_1,first\n",
			"empty.csv":      "",
		} {
			if err := cli(t, url, nil, "numbers", "import", "--file", file(name, text)); err == nil {
				t.Errorf("%s was imported", name)
			}
		}
		if err := cli(t, url, nil, "numbers", "import"); err == nil {
			t.Error("numbers import without --file succeeded")
		}
		if err := cli(t, url, &pool, "numbers", "list", "--json"); err != nil || len(pool.Numbers) != 3 {
			t.Errorf("after the refused files the pool has %d numbers (%v), want 3", len(pool.Numbers), err)
		}
	})
}

// TestCreditsAudit: a sound store passes; one with a balance off its ledger
// fails, naming the account.
func TestCreditsAudit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		s := apptest.Start(t, url, nil, app.Options{})
		s.SignUp(t, "+25761234567")
		for _, args := range [][]string{{"users", "approve", "--phone", "+25761234567"},
			{"credits", "grant", "--phone", "+25761234567", "--credits", "500", "--reason", "welcome"}} {
			if err := cli(t, url, nil, args...); err != nil {
				t.Fatalf("%v: %v", args, err)
			}
		}
		var a struct {
			Accounts   int
			Credits    int64
			Unbalanced []string
		}
		if err := cli(t, url, &a, "credits", "audit", "--json"); err != nil || a.Accounts != 1 || a.Credits != 500 || len(a.Unbalanced) != 0 {
			t.Fatalf("credits audit = %+v, %v", a, err)
		}
		if _, err := dbtest.Open(t, url).Exec(t.Context(), `UPDATE numbers_accounts SET credits = 501`); err != nil {
			t.Fatal(err)
		}
		if err := cli(t, url, nil, "credits", "audit"); err == nil {
			t.Error("credits audit passed a store with a balance off its ledger")
		}
	})
}
