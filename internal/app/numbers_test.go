package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/numbers/smsactivate/smsactivatetest"
)

// TestUpstreamBalanceCommand: linkbox upstream balance asks the upstream
// configured by LINKBOX_SMSACTIVATE_*; without one, or with a wrong key,
// it fails, never showing the key.
func TestUpstreamBalanceCommand(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fake := smsactivatetest.New(t, nil)
		fake.SetBalance("12.40")
		run := func(key string) (map[string]string, error) {
			vars := map[string]string{"LINKBOX_DATABASE_URL": url, "LINKBOX_SECRET": strings.Repeat("s", 32)}
			if key != "" {
				vars["LINKBOX_SMSACTIVATE_URL"], vars["LINKBOX_SMSACTIVATE_KEY"] = fake.URL, key
			}
			var stdout, stderr bytes.Buffer
			err := app.Run(context.Background(), []string{"upstream", "balance", "--json"}, env(vars), &stdout, &stderr)
			if strings.Contains(stdout.String()+stderr.String(), "wrong-key-42") || (err != nil && strings.Contains(err.Error(), "wrong-key-42")) {
				t.Errorf("the key is shown: %q %q %v", stdout.String(), stderr.String(), err)
			}
			var out map[string]string
			if err == nil {
				if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
					t.Fatalf("output %q: %v", stdout.String(), err)
				}
			}
			return out, err
		}
		if out, err := run(smsactivatetest.Key); err != nil || out["balance"] != "12.4" {
			t.Fatalf("upstream balance = %v, %v", out, err)
		}
		if _, err := run(""); err == nil || !strings.Contains(err.Error(), "No upstream provider") {
			t.Errorf("without an upstream: %v", err)
		}
		if _, err := run("wrong-key-42"); err == nil || !strings.Contains(err.Error(), "BAD_KEY") {
			t.Errorf("a wrong key: %v", err)
		}
	})
}
