package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// serveSelf starts the test binary as `linkbox serve` on the store,
// listening on addr, and waits until it answers; it is killed when t ends.
func serveSelf(t *testing.T, dbURL, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), asLinkbox+"=1", "LINKBOX_DATABASE_URL="+dbURL, "LINKBOX_SECRET="+strings.Repeat("s", 32),
		"LINKBOX_LISTEN="+addr, "LINKBOX_PUBLIC_URL=http://"+addr, "LINKBOX_LOG_LEVEL=error", "LINKBOX_RATE_LIMITS=off")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("serve on %s:\n%s", addr, logs.String())
		}
	})
	for range 400 {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return cmd
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("serve did not answer on %s:\n%s", addr, logs.String())
	return nil
}

// TestRentsSurviveKill sends 200 rents, each with its own Idempotency-Key,
// at a `linkbox serve` and kills it with SIGKILL while they run.
// After a restart every rent is sent again with its key: each one answered
// before the kill answers the same rental again, the others rent now, and
// in the end there are exactly 200 rentals on 200 distinct numbers, 200
// debits, and balances that are their ledgers' sums.
func TestRentsSurviveKill(t *testing.T) {
	dbtest.Each(t, rentsSurviveKill)
}

func rentsSurviveKill(t *testing.T, dbURL string) {
	const rents, perUser, cost = 200, 20, 100 // credits: 0.05 at the default credit value
	pool := "number,country,operator,services,gateway,sim\n"
	for i := range rents {
		pool += fmt.Sprintf("+1202555%04d,US,verizon,telegram,,\n", i)
	}
	poolFile := filepath.Join(t.TempDir(), "pool.csv")
	if err := os.WriteFile(poolFile, []byte(pool), 0o600); err != nil {
		t.Fatal(err)
	}
	setup := [][]string{{"prices", "set", "--service", "telegram", "--country", "US", "--operator", "verizon", "--cost", "0.05"},
		{"numbers", "import", "--file", poolFile}}
	var phones []string
	for u := range rents / perUser {
		phone := fmt.Sprintf("+25761234%03d", u)
		phones = append(phones, phone)
		setup = append(setup,
			[]string{"users", "create", "--phone", phone, "--password", "a good password", "--first-name", "R", "--last-name", "Enter",
				"--email", fmt.Sprintf("r%d@example.com", u)},
			[]string{"users", "approve", "--phone", phone},
			[]string{"credits", "grant", "--phone", phone, "--credits", fmt.Sprint(perUser * cost), "--reason", "test"})
	}
	for _, args := range setup {
		if err := cli(t, dbURL, nil, args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	addr := freeAddr(t)
	base := "http://" + addr
	srv := serveSelf(t, dbURL, addr)
	tokens := make([]string, len(phones))
	for i, phone := range phones {
		resp, err := http.Post(base+"/v1/auth/login", "application/json",
			strings.NewReader(`{"phone":"`+phone+`","password":"a good password"}`))
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if tokens[i] = tok.AccessToken; tokens[i] == "" {
			t.Fatalf("login %s: %d", phone, resp.StatusCode)
		}
	}

	// rent sends rent i with its key and returns the rental's id, "" when
	// no answer came.
	client := &http.Client{Timeout: 15 * time.Second}
	rent := func(i int) (string, int) {
		req, _ := http.NewRequest("POST", base+"/api/internal/rent", strings.NewReader(`{"service":"telegram","country":"US"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens[i/perUser])
		req.Header.Set("Idempotency-Key", fmt.Sprintf("rent-%03d", i))
		resp, err := client.Do(req)
		if err != nil {
			return "", 0
		}
		defer resp.Body.Close()
		var ans struct {
			Data struct{ ID string } `json:"data"`
		}
		json.NewDecoder(resp.Body).Decode(&ans)
		return ans.Data.ID, resp.StatusCode
	}
	first := make([]string, rents)
	var answered atomic.Int64
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for i := range rents {
		wg.Go(func() {
			if id, status := rent(i); status == http.StatusOK {
				first[i] = id
				if answered.Add(1) == rents/4 {
					srv.Process.Kill() // mid-run: some answered, some in flight, some not sent
					close(killed)
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatalf("only %d rents answered before the kill could happen", answered.Load())
	}
	srv.Wait()
	n := answered.Load()
	t.Logf("%d of %d rents answered before the kill", n, rents)

	// A rent in flight at the kill holds its key for a minute (its first
	// try might still be running elsewhere): its retries answer 409
	// idempotency_in_flight, or time out waiting, until then.
	serveSelf(t, dbURL, addr)
	after := make([]string, rents)
	var inFlight atomic.Int64
	deadline := time.Now().Add(150 * time.Second)
	for i := range rents {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				id, status := rent(i)
				if status == http.StatusOK {
					after[i] = id
					return
				}
				if status != http.StatusConflict && status != 0 {
					t.Errorf("rent %d after the restart: %d", i, status)
					return
				}
				inFlight.Add(1)
				time.Sleep(time.Second)
			}
		})
	}
	wg.Wait()
	t.Logf("%d retries found their key still held by a try the kill cut off", inFlight.Load())
	ids := map[string]bool{}
	for i, id := range after {
		if id == "" {
			t.Fatalf("rent %d never answered after the restart", i)
		}
		if first[i] != "" && id != first[i] {
			t.Errorf("rent %d was answered %s before the kill and %s after", i, first[i], id)
		}
		ids[id] = true
	}
	if len(ids) != rents {
		t.Errorf("%d distinct rentals, want %d", len(ids), rents)
	}
	var audit struct {
		Accounts     int
		Credits      int64
		LiveRentals  int
		Unbalanced   []string
		DoubleRented []string
	}
	if err := cli(t, dbURL, &audit, "credits", "audit", "--json"); err != nil || audit.LiveRentals != rents || audit.Credits != 0 ||
		len(audit.Unbalanced) != 0 || len(audit.DoubleRented) != 0 {
		t.Errorf("credits audit = %+v, %v; want %d live rentals, every credit spent once, sound", audit, err, rents)
	}
	var list struct{ Numbers []struct{ RentalID string } }
	if err := cli(t, dbURL, &list, "numbers", "list", "--json"); err != nil {
		t.Fatal(err)
	}
	for _, num := range list.Numbers {
		if !ids[num.RentalID] {
			t.Errorf("a number is held by %q, not one of the rentals answered", num.RentalID)
		}
	}
	// No rental without its debit, no debit without its rental.
	var orphans int
	err := dbtest.Open(t, dbURL).QueryRow(t.Context(), `SELECT
		(SELECT COUNT(*) FROM numbers_rentals r WHERE NOT EXISTS
			(SELECT 1 FROM numbers_ledger l WHERE l.rental_id = r.id AND l.type = 'rent' AND l.credits = -r.cost_credits)) +
		(SELECT COUNT(*) FROM numbers_ledger l WHERE l.type = 'rent' AND NOT EXISTS
			(SELECT 1 FROM numbers_rentals r WHERE r.id = l.rental_id)) +
		(SELECT COUNT(*) FROM (SELECT rental_id FROM numbers_ledger WHERE type = 'rent' GROUP BY rental_id HAVING COUNT(*) > 1) twice)`).Scan(&orphans)
	if err != nil || orphans != 0 {
		t.Errorf("%d rentals without their one debit or debits without their rental (%v)", orphans, err)
	}
}
