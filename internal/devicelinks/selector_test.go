package devicelinks_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/devicelinks"
)

// hub is a flow for section 2: the fake manufacturer starts device
// sessions, the supplier has a login page (which confirms its user
// "volt-7" at once when confirm is set), and the manufacturer's
// redirect_uri is a receiver.
type hub struct {
	*flow
	login   string          // the supplier's login page
	logins  chan url.Values // what the login page was asked with
	back    string          // the manufacturer's redirect_uri
	results chan url.Values // what came back to it
}

func newHub(t *testing.T, dbURL string, opt app.Options, confirm bool) *hub {
	t.Helper()
	h := &hub{flow: newFlowWith(t, dbURL, opt), logins: make(chan url.Values, 4), results: make(chan url.Values, 4)}
	login := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/login" {
			http.NotFound(w, r) // a browser's /favicon.ico
			return
		}
		q := r.URL.Query()
		h.logins <- q
		if !confirm {
			w.Write([]byte("<p>log in</p>"))
			return
		}
		// The supplier logged its user in: it confirms, then sends the
		// browser back.
		resp, err := postLogin(h.st, h.key, q.Get("state"), "volt-7")
		if err != nil || resp.StatusCode != http.StatusOK {
			http.Error(w, "confirm failed", http.StatusBadGateway)
			return
		}
		var b struct {
			Data struct {
				RedirectURL string `json:"redirect_url"`
			}
		}
		json.NewDecoder(resp.Body).Decode(&b)
		resp.Body.Close()
		http.Redirect(w, r, b.Data.RedirectURL, http.StatusFound)
	}))
	t.Cleanup(login.Close)
	h.login = login.URL + "/login"
	if err := h.st.Server.DeviceLinks.SetLoginURL(t.Context(), h.supplierID, h.login); err != nil {
		t.Fatal(err)
	}
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/done" {
			http.NotFound(w, r)
			return
		}
		h.results <- r.URL.Query()
		w.Write([]byte("<p id=back>back at the manufacturer</p>"))
	}))
	t.Cleanup(back.Close)
	h.back = back.URL + "/done"
	return h
}

// postLogin is the supplier's POST /post-login-redirect.
func postLogin(st *apptest.Stack, key, state, user string) (*http.Response, error) {
	body, _ := json.Marshal(map[string]string{"state": state, "supplier_user_id": user})
	req, _ := http.NewRequest("POST", st.URL+"/post-login-redirect", strings.NewReader(string(body)))
	req.Header.Set("x-api-key", key)
	req.Header.Set("Content-Type", "application/json")
	return http.DefaultClient.Do(req)
}

// session starts a device session for device and returns its select_url.
func (h *hub) session(t *testing.T, device string) string {
	t.Helper()
	r := h.st.Call(t, "POST", "/device-sessions", "", map[string]string{"device_id": device, "redirect_uri": h.back}, "x-api-key", h.mfrKey)
	m := r.JSON(t)
	data, _ := m["data"].(map[string]any)
	if r.Status != http.StatusOK || m["success"] != true || data["device_session"] == "" ||
		data["select_url"] != h.st.URL+"/suppliers/select?device_session="+data["device_session"].(string) ||
		data["expires_at"].(float64)-m["timestamp"].(float64) != 900 {
		t.Fatalf("device session: %d %s", r.Status, r.Body)
	}
	return data["select_url"].(string)
}

func (h *hub) result(t *testing.T) url.Values {
	t.Helper()
	select {
	case v := <-h.results:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing came back to the manufacturer")
	}
	return nil
}

// TestManufacturerStartedFlow drives section 2 in Chromium: the
// manufacturer's session, the supplier selector, the supplier's login and
// confirmation, the mapping, the webhook, the way back.
func TestManufacturerStartedFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		h := newHub(t, dbURL, app.Options{}, true)
		b := apptest.Browser(t)
		if err := apptest.Do(b, chromedp.Navigate(h.session(t, "dev-42")+"&lang=nl")); err != nil {
			t.Fatal(err)
		}
		if title, err := apptest.Text(b, "#select-title"); err != nil || title != "Kies je energieleverancier" {
			t.Fatalf("title %q, %v", title, err)
		}
		if err := apptest.Do(b, chromedp.Click("#supplier-"+h.supplierID)); err != nil {
			t.Fatal(err)
		}
		if q := <-h.logins; q.Get("state") == "" || q.Get("redirect_uri") != h.st.URL+"/post-login-redirect" {
			t.Fatalf("the login page was asked %v", q)
		}
		v := h.result(t)
		nox := v.Get("nox_user_id")
		if v.Get("connection_status") != "connected" || nox == "" || v.Get("device_id") != "dev-42" ||
			v.Get("supplier") != h.supplierID || v.Get("connected_at") == "" {
			t.Fatalf("result %v", v)
		}
		d := h.hooks.next(t)
		if d.event.Type != devicelinks.EventConnected || d.data["supplier_user_id"] != "volt-7" || d.data["nox_user_id"] != nox {
			t.Fatalf("webhook %+v %v", d.event, d.data)
		}
		u := h.st.Call(t, "GET", "/users/volt-7", "", nil, "x-api-key", h.key).JSON(t)["data"].(map[string]any)
		if u["nox_user_id"] != nox || u["manufacturer"] != "fake" || u["devices"].([]any)[0].(map[string]any)["id"] != "dev-42" {
			t.Fatalf("mapping %v", u)
		}

		// The same supplier user again, another device: overwritten, the
		// nox user kept (section 1's rules).
		if err := apptest.Do(b, chromedp.Navigate(h.session(t, "dev-43")), chromedp.Click("#supplier-"+h.supplierID)); err != nil {
			t.Fatal(err)
		}
		<-h.logins
		if v := h.result(t); v.Get("nox_user_id") != nox || v.Get("device_id") != "dev-43" {
			t.Fatalf("relink: %v", v)
		}
		if d := h.hooks.next(t); d.event.Type != devicelinks.EventOverwritten {
			t.Fatalf("relink webhook %+v", d.event)
		}
	})
}

// chooseSupplier opens selectURL in c and picks the flow's supplier: the
// state its login page is sent.
func (h *hub) chooseSupplier(t *testing.T, c *http.Client, selectURL string) string {
	t.Helper()
	_, page := get(t, c, selectURL)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form: %.300s", page)
	}
	session := strings.TrimPrefix(selectURL, h.st.URL+"/suppliers/select?device_session=")
	resp, err := c.PostForm(h.st.URL+"/suppliers/select", url.Values{"csrf": {m[1]}, "device_session": {session}, "supplier": {h.supplierID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), h.login+"?") {
		t.Fatalf("supplier choice: %d %v", resp.StatusCode, loc)
	}
	return loc.Query().Get("state")
}

// TestPostLoginRefusals: every state that is not this browser's, confirmed
// and fresh maps nothing.
func TestPostLoginRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		clock := clocktest.New(time.Now())
		h := newHub(t, dbURL, app.Options{Now: clock.Now}, false)
		c := browser(t)
		state := h.chooseSupplier(t, c, h.session(t, "dev-1"))
		back := h.st.URL + "/post-login-redirect?state=" + url.QueryEscape(state)
		confirm := func(key, state, user string) apptest.Response {
			return h.st.Call(t, "POST", "/post-login-redirect", "", map[string]string{"state": state, "supplier_user_id": user}, "x-api-key", key)
		}

		// The browser before the supplier confirmed: a page, the state kept.
		if resp, _ := get(t, c, back); resp.StatusCode != http.StatusConflict {
			t.Fatalf("unconfirmed: %d", resp.StatusCode)
		}
		_, other, err := h.st.Server.DeviceLinks.CreateSupplier(t.Context(), "Other", []string{"https://other.example/cb"})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name, key, state, user string
			status                 int
			code                   string
		}{
			{"no key", "", state, "u", 401, "invalid_api_key"},
			{"a manufacturer's key", h.mfrKey, state, "u", 401, "invalid_api_key"},
			{"unknown state", h.key, "nope", "u", 404, "state_not_found"},
			{"another supplier's state", other, state, "u", 404, "state_not_found"},
			{"no state", h.key, "", "u", 400, "missing_field"},
			{"no supplier_user_id", h.key, state, "", 400, "missing_field"},
			{"long supplier_user_id", h.key, state, strings.Repeat("x", 256), 400, "invalid_field"},
		} {
			checkError(t, confirm(c.key, c.state, c.user), c.name, c.status, c.code)
		}
		if r := confirm(h.key, state, "volt-1"); r.Status != http.StatusOK || r.JSON(t)["data"].(map[string]any)["redirect_url"] != back {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		checkError(t, confirm(h.key, state, "volt-2"), "confirmed twice", 409, "state_used")

		// Another browser cannot spend it; then this one does, once.
		if resp, _ := get(t, browser(t), back); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("foreign browser: %d", resp.StatusCode)
		}
		if resp, _ := get(t, c, back); resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "connection_status=connected") {
			t.Fatalf("the browser's return: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, _ := get(t, c, back); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("replayed state: %d", resp.StatusCode)
		}
		if resp, _ := get(t, c, h.st.URL+"/post-login-redirect?state=nope"); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("unknown state: %d", resp.StatusCode)
		}

		// Past 15 minutes: the supplier's confirmation is refused, and a
		// state confirmed in time fails back to the manufacturer.
		late := h.chooseSupplier(t, c, h.session(t, "dev-2"))
		lateConfirmed := h.chooseSupplier(t, c, h.session(t, "dev-3"))
		if r := confirm(h.key, lateConfirmed, "volt-3"); r.Status != http.StatusOK {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		clock.Advance(15*time.Minute + time.Second)
		checkError(t, confirm(h.key, late, "volt-2"), "expired state", 410, "state_expired")
		resp, _ := get(t, c, h.st.URL+"/post-login-redirect?state="+url.QueryEscape(lateConfirmed))
		if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc.Query().Get("connection_status") != "failed" ||
			loc.Query().Get("error") != "session_expired" || loc.Query().Get("nox_user_id") != "" {
			t.Fatalf("expired return: %d %v", resp.StatusCode, loc)
		}
		if n, err := h.st.Server.DeviceLinks.Rows(t.Context(), "devicelinks_mappings"); err != nil || n != 1 {
			t.Fatalf("mappings: %d, %v", n, err)
		}
		// The selector of an expired session is a 410 page, an unknown one 404.
		if resp, _ := get(t, c, h.st.URL+"/suppliers/select?device_session=nope"); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown session: %d", resp.StatusCode)
		}
	})
}

func TestDeviceSessionBadInputs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		clock := clocktest.New(time.Now())
		h := newHub(t, dbURL, app.Options{Now: clock.Now}, false)
		good := map[string]string{"device_id": "d1", "redirect_uri": h.back}
		for _, c := range []struct {
			name, key string
			body      any
			status    int
			code      string
		}{
			{"no key", "", good, 401, "invalid_api_key"},
			{"a supplier's key", h.key, good, 401, "invalid_api_key"},
			{"bad JSON", h.mfrKey, `{"device_id":`, 400, "invalid_body"},
			{"not an object", h.mfrKey, `[]`, 400, "invalid_body"},
			{"wrong type", h.mfrKey, `{"device_id":1}`, 400, "invalid_field"},
			{"no device_id", h.mfrKey, map[string]string{"redirect_uri": h.back}, 400, "missing_field"},
			{"long device_id", h.mfrKey, map[string]string{"device_id": strings.Repeat("d", 256), "redirect_uri": h.back}, 400, "invalid_field"},
			{"no redirect_uri", h.mfrKey, map[string]string{"device_id": "d1"}, 400, "missing_field"},
			{"plain http redirect_uri", h.mfrKey, map[string]string{"device_id": "d1", "redirect_uri": "http://evil.example/back"}, 400, "invalid_field"},
			{"relative redirect_uri", h.mfrKey, map[string]string{"device_id": "d1", "redirect_uri": "/back"}, 400, "invalid_field"},
		} {
			checkError(t, h.st.Call(t, "POST", "/device-sessions", "", c.body, "x-api-key", c.key), c.name, c.status, c.code)
		}
		if n, err := h.st.Server.DeviceLinks.Rows(t.Context(), "devicelinks_device_sessions"); err != nil || n != 0 {
			t.Fatalf("sessions stored: %d, %v", n, err)
		}
		selectURL := h.session(t, "d1")
		clock.Advance(15 * time.Minute)
		if resp, _ := get(t, browser(t), selectURL); resp.StatusCode != http.StatusGone {
			t.Fatalf("expired selector: %d", resp.StatusCode)
		}
	})
}

// TestSupplierChoiceRefusals: a choice without its CSRF token, of an
// unknown supplier or one without a login page, or from an expired session
// is an error page, and stores no state.
func TestSupplierChoiceRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		clock := clocktest.New(time.Now())
		h := newHub(t, dbURL, app.Options{Now: clock.Now}, false)
		noLogin, _, err := h.st.Server.DeviceLinks.CreateSupplier(t.Context(), "No login", []string{"https://other.example/cb"})
		if err != nil {
			t.Fatal(err)
		}
		c := browser(t)
		selectURL := h.session(t, "dev-1")
		_, page := get(t, c, selectURL)
		if strings.Contains(page, noLogin.ID) {
			t.Fatalf("a supplier without a login page is listed: %.500s", page)
		}
		csrf := csrfField.FindStringSubmatch(page)[1]
		session := strings.TrimPrefix(selectURL, h.st.URL+"/suppliers/select?device_session=")
		choose := func(form url.Values) int {
			t.Helper()
			resp, err := c.PostForm(h.st.URL+"/suppliers/select", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for _, c := range []struct {
			name   string
			form   url.Values
			status int
		}{
			{"no CSRF token", url.Values{"device_session": {session}, "supplier": {h.supplierID}}, http.StatusForbidden},
			{"unknown supplier", url.Values{"csrf": {csrf}, "device_session": {session}, "supplier": {"sup_nope"}}, http.StatusNotFound},
			{"no login page", url.Values{"csrf": {csrf}, "device_session": {session}, "supplier": {noLogin.ID}}, http.StatusNotFound},
			{"unknown session", url.Values{"csrf": {csrf}, "device_session": {"nope"}, "supplier": {h.supplierID}}, http.StatusNotFound},
		} {
			if got := choose(c.form); got != c.status {
				t.Errorf("%s: %d, want %d", c.name, got, c.status)
			}
		}
		clock.Advance(15 * time.Minute)
		if got := choose(url.Values{"csrf": {csrf}, "device_session": {session}, "supplier": {h.supplierID}}); got != http.StatusGone {
			t.Errorf("expired session: %d, want 410", got)
		}
		if n, err := h.st.Server.DeviceLinks.Rows(t.Context(), "devicelinks_select_states"); err != nil || n != 0 {
			t.Fatalf("states stored: %d, %v", n, err)
		}
	})
}

// TestRacingLinksOfOneUser: two returns for the same supplier user at
// once both connect, to one mapping and one nox user.
func TestRacingLinksOfOneUser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		h := newHub(t, dbURL, app.Options{}, false)
		const racers = 4
		backs := make([]string, racers)
		browsers := make([]*http.Client, racers)
		for i := range racers {
			browsers[i] = browser(t)
			state := h.chooseSupplier(t, browsers[i], h.session(t, "dev-"+string(rune('a'+i))))
			if r := h.st.Call(t, "POST", "/post-login-redirect", "", map[string]string{"state": state, "supplier_user_id": "volt-9"},
				"x-api-key", h.key); r.Status != http.StatusOK {
				t.Fatalf("confirm: %d %s", r.Status, r.Body)
			}
			backs[i] = h.st.URL + "/post-login-redirect?state=" + url.QueryEscape(state)
		}
		type answer struct {
			status int
			nox    string
		}
		answers := make(chan answer, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				resp, err := browsers[i].Get(backs[i])
				if err != nil {
					answers <- answer{}
					return
				}
				resp.Body.Close()
				loc, _ := url.Parse(resp.Header.Get("Location"))
				answers <- answer{resp.StatusCode, loc.Query().Get("nox_user_id")}
			})
		}
		wg.Wait()
		close(answers)
		var first answer
		for a := range answers {
			if first.nox == "" {
				first = a
			}
			if a.status != http.StatusSeeOther || a.nox == "" || a.nox != first.nox {
				t.Errorf("a racing return: %+v, the first %+v", a, first)
			}
		}
		if n, err := h.st.Server.DeviceLinks.Rows(t.Context(), "devicelinks_mappings"); err != nil || n != 1 {
			t.Fatalf("mappings: %d, %v", n, err)
		}
	})
}
