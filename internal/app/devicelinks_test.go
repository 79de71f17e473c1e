package app_test

import (
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/dbtest"
)

func TestDeviceLinksCommands(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		var sup map[string]string
		if err := cli(t, url, &sup, "suppliers", "create", "--name", "Volt", "--redirect-uri", "https://volt.example/cb",
			"--redirect-uri", "http://127.0.0.1:8080/cb", "--json"); err != nil {
			t.Fatal(err)
		}
		if len(sup) != 3 || !strings.HasPrefix(sup["id"], "sup_") || sup["name"] != "Volt" || !strings.HasPrefix(sup["api_key"], "lbk_") {
			t.Fatalf("suppliers create = %v", sup)
		}
		for _, bad := range []string{"http://volt.example/cb", "ftp://volt.example/cb", "https://u:p@volt.example/cb", "/cb"} {
			if err := cli(t, url, nil, "suppliers", "create", "--name", "Bad", "--redirect-uri", bad); err == nil {
				t.Errorf("suppliers create accepted %q", bad)
			}
		}
		var hook map[string]string
		if err := cli(t, url, &hook, "suppliers", "set-webhook", sup["id"], "--url", "https://volt.example/hook", "--json"); err != nil ||
			!strings.HasPrefix(hook["secret"], "whsec_") {
			t.Errorf("set-webhook = %v, %v", hook, err)
		}
		if err := cli(t, url, nil, "suppliers", "set-login-url", sup["id"], "--url", "https://volt.example/login"); err != nil {
			t.Error(err)
		}
		var list struct{ Suppliers []map[string]any }
		if err := cli(t, url, &list, "suppliers", "list", "--json"); err != nil || len(list.Suppliers) != 1 ||
			list.Suppliers[0]["webhook_url"] != "https://volt.example/hook" || list.Suppliers[0]["login_url"] != "https://volt.example/login" {
			t.Errorf("suppliers list = %v, %v", list, err)
		}
		var rotated map[string]string
		if err := cli(t, url, &rotated, "suppliers", "rotate-key", sup["id"], "--json"); err != nil || rotated["api_key"] == sup["api_key"] {
			t.Errorf("rotate-key = %v, %v", rotated, err)
		}

		var m map[string]string
		if err := cli(t, url, &m, "manufacturers", "add", "--id", "acme", "--name", "Acme Heat", "--authorize-url", "https://acme.example/authorize",
			"--token-url", "https://acme.example/token", "--client-id", "lb", "--client-secret", "s3cret", "--scopes", "devices,offline", "--json"); err != nil ||
			m["id"] != "acme" {
			t.Fatalf("manufacturers add = %v, %v", m, err)
		}
		if err := cli(t, url, nil, "manufacturers", "add", "--id", "acme", "--name", "Again", "--authorize-url", "https://acme.example/authorize",
			"--token-url", "https://acme.example/token", "--client-id", "lb", "--client-secret", "s"); err == nil {
			t.Error("a second manufacturer with the same id")
		}
		var key map[string]string
		if err := cli(t, url, &key, "manufacturers", "create-key", "acme", "--json"); err != nil || !strings.HasPrefix(key["api_key"], "lbk_") {
			t.Errorf("create-key = %v, %v", key, err)
		}
		var ml struct{ Manufacturers []map[string]any }
		if err := cli(t, url, &ml, "manufacturers", "list", "--json"); err != nil || len(ml.Manufacturers) != 1 || len(ml.Manufacturers[0]["scopes"].([]any)) != 2 {
			t.Errorf("manufacturers list = %v, %v", ml, err)
		}
		if err := cli(t, url, nil, "manufacturers", "remove", "acme"); err != nil {
			t.Error(err)
		}
		if err := cli(t, url, nil, "suppliers", "delete", sup["id"]); err != nil {
			t.Error(err)
		}
		if err := cli(t, url, &list, "suppliers", "list", "--json"); err != nil || len(list.Suppliers) != 0 {
			t.Errorf("after delete: %v, %v", list, err)
		}
	})
}
