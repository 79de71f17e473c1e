package devicelinks_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/devicelinks"
)

const redirect = "https://supplier.example/callback"

func newSupplier(t *testing.T, st *apptest.Stack) (devicelinks.Supplier, string) {
	t.Helper()
	sup, key, err := st.Server.DeviceLinks.CreateSupplier(context.Background(), "Volt", []string{redirect, "http://localhost:9/cb"})
	if err != nil {
		t.Fatal(err)
	}
	return sup, key
}

func TestLinkAnswersTheSeedShape(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		st := apptest.Start(t, url, nil, app.Options{})
		sup, key := newSupplier(t, st)
		resp := st.Call(t, "POST", "/users/supplier_user_id_123/link", "", map[string]string{"redirect_uri": redirect, "language": "en"}, "x-api-key", key)
		if resp.Status != http.StatusOK {
			t.Fatalf("status %d: %s", resp.Status, resp.Body)
		}
		m := resp.JSON(t)
		if len(m) != 3 || m["success"] != true {
			t.Fatalf("body %s", resp.Body)
		}
		data := m["data"].(map[string]any)
		token, _ := data["link_token"].(string)
		if len(data) != 5 || token == "" || data["link_url"] != st.URL+"/connect?token="+token ||
			data["supplier_id"] != sup.ID || data["supplier_user_id"] != "supplier_user_id_123" ||
			data["expires_at"].(float64)-m["timestamp"].(float64) != 900 {
			t.Fatalf("data %s", resp.Body)
		}
		// The header's name in any case.
		if resp := st.Call(t, "POST", "/users/u2/link", "", map[string]string{"redirect_uri": "http://localhost:9/cb"}, "X-API-KEY", key); resp.Status != http.StatusOK {
			t.Fatalf("upper-case header: %d %s", resp.Status, resp.Body)
		}
	})
}

func TestLinkBadInputs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		st := apptest.Start(t, url, nil, app.Options{})
		_, key := newSupplier(t, st)
		_, other, _ := st.Server.DeviceLinks.CreateSupplier(context.Background(), "Other", []string{"https://other.example/cb"})
		good := map[string]string{"redirect_uri": redirect, "language": "nl"}
		for _, c := range []struct {
			name, path, key string
			body            any
			status          int
			code            string
		}{
			{"no key", "/users/u/link", "", good, 401, "invalid_api_key"},
			{"wrong key", "/users/u/link", "lbk_nope", good, 401, "invalid_api_key"},
			{"bad JSON", "/users/u/link", key, `{"redirect_uri":`, 400, "invalid_body"},
			{"not an object", "/users/u/link", key, `[]`, 400, "invalid_body"},
			{"empty body", "/users/u/link", key, ``, 400, "invalid_body"},
			{"wrong type", "/users/u/link", key, `{"redirect_uri":5}`, 400, "invalid_field"},
			{"missing redirect_uri", "/users/u/link", key, map[string]string{"language": "en"}, 400, "missing_field"},
			{"bad language", "/users/u/link", key, map[string]string{"redirect_uri": redirect, "language": "!!"}, 400, "invalid_field"},
			{"long user id", "/users/" + strings.Repeat("x", 256) + "/link", key, good, 400, "invalid_field"},
			{"unregistered redirect_uri", "/users/u/link", key, map[string]string{"redirect_uri": redirect + "/x"}, 422, "unregistered_redirect_uri"},
			{"foreign supplier's redirect_uri", "/users/u/link", other, good, 422, "unregistered_redirect_uri"},
		} {
			checkError(t, st.Call(t, "POST", c.path, "", c.body, "x-api-key", c.key), c.name, c.status, c.code)
		}
		if n, err := st.Server.DeviceLinks.Rows(context.Background(), "devicelinks_sessions"); err != nil || n != 0 {
			t.Fatalf("sessions stored: %d, %v", n, err)
		}
	})
}

// checkError checks that resp is the API's error shape with status and code.
func checkError(t *testing.T, resp apptest.Response, name string, status int, code string) {
	t.Helper()
	m := resp.JSON(t)
	e, _ := m["error"].(map[string]any)
	if resp.Status != status || m["success"] != false || e["code"] != code || e["message"] == "" || len(m) != 2 {
		t.Errorf("%s: %d %s, want %d %s", name, resp.Status, resp.Body, status, code)
	}
}
