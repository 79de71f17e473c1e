package app_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/devicelinks"
	"github.com/linkbox/linkbox/internal/devicelinks/manufacturertest"
	"github.com/linkbox/linkbox/internal/webhooks"
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

// TestDeviceLinksWebhooksSurviveKill queues a supplier's webhooks in a
// `linkbox serve` on SQLite while its receiver is down, kills the process
// with SIGKILL, brings the receiver up and starts the server again: every
// webhook queued arrives, signed, under the webhook-id it was queued with.
// One the killed process was attempting comes once its lease has run out.
func TestDeviceLinksWebhooksSurviveKill(t *testing.T) {
	dbURL := dbtest.SQLite(t)
	fake := manufacturertest.New(t)
	hookAddr, listen := freeAddr(t), freeAddr(t)
	var sup map[string]string
	if err := cli(t, dbURL, &sup, "suppliers", "create", "--name", "Volt", "--redirect-uri", "http://127.0.0.1:9/cb", "--json"); err != nil {
		t.Fatal(err)
	}
	var hook map[string]string
	if err := cli(t, dbURL, &hook, "suppliers", "set-webhook", sup["id"], "--url", "http://"+hookAddr+"/hook", "--json"); err != nil {
		t.Fatal(err)
	}
	if err := cli(t, dbURL, nil, "manufacturers", "add", "--id", "fake", "--name", "Fake", "--authorize-url", fake.URL+"/authorize",
		"--token-url", fake.URL+"/token", "--devices-url", fake.URL+"/devices", "--client-id", manufacturertest.ClientID,
		"--client-secret", manufacturertest.ClientSecret); err != nil {
		t.Fatal(err)
	}

	// The receiver is down: two connects and a removal queue three webhooks.
	srv := serveSelf(t, dbURL, listen)
	base := "http://" + listen
	for _, user := range []string{"u1", "u2"} {
		deviceLink(t, base, sup["api_key"], user)
	}
	if r := callKey(t, "DELETE", base+"/users/u1/devices/hp-1", sup["api_key"]); r != http.StatusOK {
		t.Fatalf("delete: %d", r)
	}
	if err := srv.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	var queued struct{ Messages []struct{ ID string } }
	if err := cli(t, dbURL, &queued, "outbox", "list", "--kind", "webhook", "--state", "pending", "--json"); err != nil {
		t.Fatal(err)
	}
	if len(queued.Messages) != 3 {
		t.Fatalf("pending webhooks after the kill: %v", queued.Messages)
	}

	got := make(chan string, 16)
	signer, err := webhooks.NewSigner(hook["secret"])
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", hookAddr)
	if err != nil {
		t.Fatal(err)
	}
	recv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := signer.Verify(r.Header, body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got <- r.Header.Get(webhooks.HeaderID)
	})}
	go recv.Serve(ln)
	t.Cleanup(func() { recv.Close() })

	serveSelf(t, dbURL, listen)
	want := map[string]bool{}
	for _, m := range queued.Messages {
		want[m.ID] = true
	}
	for len(want) > 0 {
		select {
		case id := <-got:
			delete(want, id) // at least once: a repeat is allowed
		case <-time.After(45 * time.Second): // past the outbox's 30 s lease
			t.Fatalf("webhooks never delivered after the restart: %v", want)
		}
	}
}

// freeAddr is a 127.0.0.1 address no one listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var csrfValue = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// deviceLink links user through the fake manufacturer with a browser that
// follows no redirect, and checks that it ends back at the supplier.
func deviceLink(t *testing.T, base, key, user string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", base+"/users/"+user+"/link", strings.NewReader(`{"redirect_uri":"http://127.0.0.1:9/cb"}`))
	req.Header.Set("x-api-key", key)
	var link struct {
		Data struct {
			LinkToken string `json:"link_token"`
			LinkURL   string `json:"link_url"`
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&link)
	resp.Body.Close()
	page := fetchPage(t, c, link.Data.LinkURL)
	m := csrfValue.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no connect form: %.300s", page.body)
	}
	resp, err = c.PostForm(base+"/connect/brand", url.Values{"csrf": {m[1]}, "token": {link.Data.LinkToken}, "manufacturer": {"fake"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authorize := fetchPage(t, c, resp.Header.Get("Location"))
	back := fetchPage(t, c, authorize.location)
	if back.status != http.StatusSeeOther || !strings.Contains(back.location, "connection_status=connected") {
		t.Fatalf("%s: callback %d to %q", user, back.status, back.location)
	}
}

type answer struct {
	status         int
	location, body string
}

func fetchPage(t *testing.T, c *http.Client, u string) answer {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Location"), string(b)}
}

func callKey(t *testing.T, method, u, key string) int {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.Header.Set("x-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestDeviceLinksOpenAPI holds every Device links operation, its answers
// and its errors, to the document the server serves.
func TestDeviceLinksOpenAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, databaseURL string) {
		c := newContract(t, databaseURL)
		dl := c.srv.DeviceLinks
		fake := manufacturertest.New(t)
		sup, key, err := dl.CreateSupplier(t.Context(), "Volt", []string{"http://127.0.0.1:9/cb"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dl.SetWebhook(t.Context(), sup.ID, "http://127.0.0.1:9/hook"); err != nil {
			t.Fatal(err)
		}
		if err := dl.SetLoginURL(t.Context(), sup.ID, "https://volt.example/login"); err != nil {
			t.Fatal(err)
		}
		_, mkey, err := dl.AddManufacturer(t.Context(), devicelinks.NewManufacturer{Brand: "fake", Name: "Fake", AuthorizeURL: fake.URL + "/authorize",
			TokenURL: fake.URL + "/token", DevicesURL: fake.URL + "/devices", SettingsURL: fake.URL + "/settings",
			ClientID: manufacturertest.ClientID, ClientSecret: manufacturertest.ClientSecret})
		if err != nil {
			t.Fatal(err)
		}

		link := `{"redirect_uri":"http://127.0.0.1:9/cb","language":"nl"}`
		c.do(t, post("/users/u0/link", link, http.StatusOK).apiKey(key))
		c.do(t, post("/users/u0/link", link, http.StatusUnauthorized).breaking())
		c.do(t, post("/users/u0/link", `{"language":"en"}`, http.StatusBadRequest).apiKey(key).breaking())
		c.do(t, post("/users/u0/link", `{"redirect_uri":"https://elsewhere.example/cb"}`, http.StatusUnprocessableEntity).apiKey(key))
		deviceLink(t, c.url, key, "u1")
		c.do(t, get("/users/u1", http.StatusOK).apiKey(key))
		c.do(t, get("/users/nobody", http.StatusNotFound).apiKey(key))

		settings := c.do(t, get("/users/u1/settings", http.StatusOK).apiKey(key))
		put := func(body, ifMatch string, want int) exchange {
			e := exchange{method: http.MethodPut, target: "/users/u1/settings", body: body, want: want}.apiKey(key)
			if ifMatch != "" {
				e = e.with("If-Match", ifMatch)
			}
			return e
		}
		c.do(t, put(`{"comfort":{"min":19}}`, "", http.StatusPreconditionRequired))
		c.do(t, put(`{"comfort":{"min":19}}`, `"stale"`, http.StatusPreconditionFailed))
		c.do(t, put(`{"a":"`+strings.Repeat("x", 8<<10)+`"}`, settings.header.Get("ETag"), http.StatusRequestEntityTooLarge))
		c.do(t, put(`[1]`, settings.header.Get("ETag"), http.StatusBadRequest).breaking())
		c.do(t, put(`{"comfort":{"min":19}}`, settings.header.Get("ETag"), http.StatusOK))
		c.do(t, get("/users/nobody/settings", http.StatusNotFound).apiKey(key))

		c.do(t, get("/events?since=0&limit=2", http.StatusOK).apiKey(key))
		c.do(t, get("/events?limit=0", http.StatusBadRequest).apiKey(key).breaking())
		c.do(t, get("/events", http.StatusUnauthorized).breaking())
		c.do(t, exchange{method: http.MethodDelete, target: "/users/u1/devices/nope", want: http.StatusNotFound}.apiKey(key))
		c.do(t, exchange{method: http.MethodDelete, target: "/users/u1/devices/hp-1", want: http.StatusOK}.apiKey(key))

		session := `{"device_id":"dev-1","redirect_uri":"https://maker.example/done"}`
		c.do(t, post("/device-sessions", session, http.StatusUnauthorized).apiKey(key))
		c.do(t, post("/device-sessions", `{"device_id":"dev-1"}`, http.StatusBadRequest).apiKey(mkey).breaking())
		ds := c.do(t, post("/device-sessions", session, http.StatusOK).apiKey(mkey))
		var started struct {
			Data struct {
				SelectURL string `json:"select_url"`
			}
		}
		if err := json.Unmarshal(ds.body, &started); err != nil {
			t.Fatal(err)
		}
		state := chooseSupplierState(t, c.url, started.Data.SelectURL, sup.ID)
		confirm := func(state string, want int) exchange {
			return post("/post-login-redirect", `{"state":"`+state+`","supplier_user_id":"volt-1"}`, want).apiKey(key)
		}
		c.do(t, confirm("nope", http.StatusNotFound))
		c.do(t, post("/post-login-redirect", `{"state":"`+state+`"}`, http.StatusBadRequest).apiKey(key).breaking())
		c.do(t, confirm(state, http.StatusOK))
		c.do(t, confirm(state, http.StatusConflict))
		late := chooseSupplierState(t, c.url, started.Data.SelectURL, sup.ID)
		c.clock.advance(16 * time.Minute)
		c.do(t, confirm(late, http.StatusGone))
	})
}

// chooseSupplierState picks supplierID on the selector at selectURL, as a
// browser, and returns the state its login page is sent.
func chooseSupplierState(t *testing.T, base, selectURL, supplierID string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := fetchPage(t, c, selectURL)
	m := csrfValue.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no selector form: %.300s", page.body)
	}
	session := strings.TrimPrefix(selectURL, base+"/suppliers/select?device_session=")
	resp, err := c.PostForm(base+"/suppliers/select", url.Values{"csrf": {m[1]}, "device_session": {session}, "supplier": {supplierID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("state") == "" {
		t.Fatalf("supplier choice: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("state")
}
