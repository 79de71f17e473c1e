package devicelinks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/devicelinks"
	"github.com/linkbox/linkbox/internal/devicelinks/manufacturertest"
)

// flow is a stack with a supplier whose redirect_uri is a receiver on
// 127.0.0.1, and the fake manufacturer registered as brand "fake".
type flow struct {
	st         *apptest.Stack
	fake       *manufacturertest.Server
	supplierID string
	key        string
	secret     string
	back       string
	results    chan url.Values
	hooks      *receiver // the supplier's webhook endpoint
	mfrKey     string    // the fake manufacturer's API key
}

func newFlow(t *testing.T, dbURL string) *flow {
	t.Helper()
	return newFlowWith(t, dbURL, app.Options{})
}

func newFlowWith(t *testing.T, dbURL string, opt app.Options) *flow {
	t.Helper()
	f := &flow{st: apptest.Start(t, dbURL, nil, opt), fake: manufacturertest.New(t), results: make(chan url.Values, 4)}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cb" {
			f.results <- r.URL.Query()
		}
		w.Write([]byte("<p id=back>back at the supplier</p>"))
	}))
	t.Cleanup(recv.Close)
	f.back = recv.URL + "/cb"
	ctx := context.Background()
	dl := f.st.Server.DeviceLinks
	sup, key, err := dl.CreateSupplier(ctx, "Volt", []string{f.back})
	if err != nil {
		t.Fatal(err)
	}
	f.key, f.supplierID = key, sup.ID
	f.hooks = newReceiver(t, opt.Now)
	if f.secret, err = dl.SetWebhook(ctx, sup.ID, f.hooks.url); err != nil {
		t.Fatal(err)
	}
	f.hooks.setSecret(t, f.secret)
	_, f.mfrKey, err = dl.AddManufacturer(ctx, devicelinks.NewManufacturer{Brand: "fake", Name: "Fake Heat",
		AuthorizeURL: f.fake.URL + "/authorize", TokenURL: f.fake.URL + "/token", DevicesURL: f.fake.URL + "/devices",
		SettingsURL: f.fake.URL + "/settings", ClientID: manufacturertest.ClientID, ClientSecret: manufacturertest.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// link starts a session for userID and returns its link_url.
func (f *flow) link(t *testing.T, userID, lang string) string {
	t.Helper()
	resp := f.st.Call(t, "POST", "/users/"+userID+"/link", "", map[string]string{"redirect_uri": f.back, "language": lang}, "x-api-key", f.key)
	if resp.Status != http.StatusOK {
		t.Fatalf("link: %d %s", resp.Status, resp.Body)
	}
	return resp.JSON(t)["data"].(map[string]any)["link_url"].(string)
}

// connect drives the browser through the brand choice (or, for no
// linkURL, the picker's device b2) and returns the result the supplier
// received, its signature checked.
func (f *flow) connect(t *testing.T, b context.Context, linkURL string) url.Values {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{chromedp.Click("#device-b2")}
	if linkURL != "" {
		steps = []chromedp.Action[chromedp.Void]{chromedp.Navigate(linkURL), chromedp.Click("#brand-fake")}
	}
	if err := apptest.Do(b, steps...); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-f.results:
		sig, err := devicelinks.Sign(f.secret, v)
		if err != nil || v.Get("signature") != sig {
			t.Fatalf("signature %q, want %q (%v)", v.Get("signature"), sig, err)
		}
		return v
	case <-time.After(10 * time.Second):
		loc, _ := chromedp.Run(b, chromedp.Location())
		body, _ := apptest.Text(b, "body")
		t.Fatalf("the supplier got no redirect; the browser is at %s: %.300s", loc, body)
	}
	return nil
}

func TestConnectFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFlow(t, dbURL)
		b := apptest.Browser(t)

		// The page speaks the session's language.
		link := f.link(t, "user-1", "nl")
		if err := apptest.Do(b, chromedp.Navigate(link)); err != nil {
			t.Fatal(err)
		}
		if h, err := apptest.Text(b, "#connect-title"); err != nil || h != "Verbind je apparaat met Volt" {
			t.Fatalf("heading %q, %v", h, err)
		}

		// Happy path.
		v := f.connect(t, b, link)
		nox := v.Get("nox_user_id")
		if v.Get("connection_status") != "connected" || nox == "" || v.Get("supplier_user_id") != "user-1" ||
			v.Get("manufacturer") != "fake" || v.Get("connected_at") == "" {
			t.Fatalf("result %v", v)
		}

		if u := f.st.Call(t, "GET", "/users/user-1", "", nil, "x-api-key", f.key).JSON(t); u["data"].(map[string]any)["nox_user_id"] != nox ||
			len(u["data"].(map[string]any)["devices"].([]any)) != 1 {
			t.Fatalf("GET /users/user-1: %v", u)
		}
		// Relinking the same supplier_user_id keeps the nox user.
		f.fake.SetDevices(manufacturertest.Device{ID: "ev-9", Type: "ev_charger"})
		if v := f.connect(t, b, f.link(t, "user-1", "en")); v.Get("nox_user_id") != nox || v.Get("connection_status") != "connected" {
			t.Fatalf("relink: %v, want nox %s", v, nox)
		}
		// The same device through another supplier_user_id: another nox user.
		if v := f.connect(t, b, f.link(t, "user-2", "en")); v.Get("nox_user_id") == nox || v.Get("nox_user_id") == "" {
			t.Fatalf("second user: %v", v)
		}

		if u := f.st.Call(t, "GET", "/users/user-1", "", nil, "x-api-key", f.key).JSON(t); u["data"].(map[string]any)["devices"].([]any)[0].(map[string]any)["id"] != "ev-9" {
			t.Fatalf("relinked device: %v", u)
		}
		if r := f.st.Call(t, "DELETE", "/users/user-2/devices/nope", "", nil, "x-api-key", f.key); r.Status != http.StatusNotFound {
			t.Fatalf("delete unknown device: %d %s", r.Status, r.Body)
		}
		if r := f.st.Call(t, "DELETE", "/users/user-2/devices/ev-9", "", nil, "x-api-key", f.key); r.Status != http.StatusOK {
			t.Fatalf("delete device: %d %s", r.Status, r.Body)
		}
		if r := f.st.Call(t, "GET", "/users/user-2", "", nil, "x-api-key", f.key); r.Status != http.StatusNotFound {
			t.Fatalf("after the last device: %d %s", r.Status, r.Body)
		}

		// Several devices: the user picks one.
		f.fake.SetDevices(manufacturertest.Device{ID: "a1", Name: "Attic", Type: "heat_pump"}, manufacturertest.Device{ID: "b2", Name: "Basement", Type: "battery"})
		if err := apptest.Do(b, chromedp.Navigate(f.link(t, "user-4", "en")), chromedp.Click("#brand-fake"), chromedp.WaitVisible("#device-b2")); err != nil {
			t.Fatal(err)
		}
		if v := f.connect(t, b, ""); v.Get("connection_status") != "connected" {
			t.Fatalf("picker: %v", v)
		}
		if u := f.st.Call(t, "GET", "/users/user-4", "", nil, "x-api-key", f.key).JSON(t); u["data"].(map[string]any)["devices"].([]any)[0].(map[string]any)["id"] != "b2" {
			t.Fatalf("picked device: %v", u)
		}

		// Denied at the manufacturer: failed, back at the supplier.
		f.fake.SetDeny(true)
		if v := f.connect(t, b, f.link(t, "user-3", "en")); v.Get("connection_status") != "failed" || v.Get("error") != "access_denied" || v.Get("nox_user_id") != "" {
			t.Fatalf("deny: %v", v)
		}
		if n, err := f.st.Server.DeviceLinks.Rows(context.Background(), "devicelinks_mappings"); err != nil || n != 2 {
			t.Fatalf("mappings: %d, %v", n, err)
		}
	})
}
