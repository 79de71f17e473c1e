package pagetest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/devicelinks"
	"github.com/linkbox/linkbox/internal/devicelinks/manufacturertest"
	"github.com/linkbox/linkbox/internal/numbers"
	"github.com/linkbox/linkbox/internal/sms/smstest"
)

// fixture is a stack with what the pages show: an app (Connect), two
// suppliers with login pages and two manufacturers (Device links), an SMS
// gateway and a price (Numbers), and the receivers that the browser is
// sent back to.
type fixture struct {
	st        *apptest.Stack
	appKey    string
	returnURL string // the app's return URL prefix
	supKey    string
	back      string // the receivers' base URL
	fake      *manufacturertest.Server
	mfrKey    string // the manufacturer "fake"'s API key
	gateway   string
	gwSecret  string
}

func newFixture(t *testing.T, databaseURL string) *fixture {
	t.Helper()
	f := &fixture{st: apptest.Start(t, databaseURL, nil, app.Options{}), fake: manufacturertest.New(t)}
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!doctype html><html lang=en><title>Back</title><main><h1>Back at the app</h1></main>")
	}))
	t.Cleanup(back.Close)
	f.back, f.returnURL = back.URL, back.URL+"/return/"
	ctx := context.Background()
	var err error
	if _, f.appKey, err = f.st.Server.Connect.CreateApp(ctx, "Acme Shop", []string{f.returnURL}, 0); err != nil {
		t.Fatal(err)
	}
	dl := f.st.Server.DeviceLinks
	for i, name := range []string{"Volt Energy", "Green Power"} {
		sup, key, err := dl.CreateSupplier(ctx, name, []string{f.back + "/supplier"})
		if err != nil {
			t.Fatal(err)
		}
		if err := dl.SetLoginURL(ctx, sup.ID, f.back+"/supplier-login"); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.supKey = key
		}
	}
	for _, m := range [][2]string{{"fake", "Fake Heat"}, {"other", "Other Solar"}} {
		_, key, err := dl.AddManufacturer(ctx, devicelinks.NewManufacturer{Brand: m[0], Name: m[1],
			AuthorizeURL: f.fake.URL + "/authorize", TokenURL: f.fake.URL + "/token", DevicesURL: f.fake.URL + "/devices",
			SettingsURL: f.fake.URL + "/settings", ClientID: manufacturertest.ClientID, ClientSecret: manufacturertest.ClientSecret})
		if err != nil {
			t.Fatal(err)
		}
		if m[0] == "fake" {
			f.mfrKey = key
		}
	}
	f.fake.SetDevices(manufacturertest.Device{ID: "a1", Name: "Attic", Type: "heat_pump"},
		manufacturertest.Device{ID: "b2", Name: "Basement", Type: "battery"})
	n := f.st.Server.Numbers
	if err := n.SetPrice(ctx, numbers.Price{Service: "telegram", Country: "US", Operator: "verizon", Cost: 50000, RentPerHour: 10000}); err != nil {
		t.Fatal(err)
	}
	gw, secret, err := n.CreateGateway(ctx, "pixel")
	if err != nil {
		t.Fatal(err)
	}
	f.gateway, f.gwSecret = gw.ID, secret
	return f
}

// person is a verified account with a session token, as a tour's user.
type person struct {
	n                int // tells the tours' people apart, and is the SIM slot of their number
	phone, id, token string
}

// newPerson creates a verified account, the nth.
func (f *fixture) newPerson(t *testing.T, n int) person {
	t.Helper()
	ctx := context.Background()
	p := person{n: n, phone: fmt.Sprintf("+3161234%04d", n)}
	u, err := f.st.Server.Accounts.CreateUser(ctx, accounts.NewUser{Phone: p.phone, Password: apptest.Password,
		FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Username: fmt.Sprintf("ada%d", n)})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := f.st.Server.Accounts.IssueSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	p.id, p.token = u.ID, pair.AccessToken
	return p
}

// linkURL asks, as the app, to link the app's user userID, and returns
// the page that asks them.
func (f *fixture) linkURL(t *testing.T, userID string) string {
	t.Helper()
	r := f.st.Call(t, "POST", "/api/link-account", "", map[string]string{"user_id": userID, "return_url": f.returnURL + userID}, "x-api-key", f.appKey)
	u, _ := r.JSON(t)["url"].(string)
	if r.Status != http.StatusOK || u == "" {
		t.Fatalf("link-account: %d %s", r.Status, r.Body)
	}
	return u
}

// connect calls a Connect endpoint as the app, for its user userID.
func (f *fixture) connect(t *testing.T, path string, body map[string]string) map[string]any {
	t.Helper()
	r := f.st.Call(t, "POST", path, "", body, "x-api-key", f.appKey)
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d %s", path, r.Status, r.Body)
	}
	return r.JSON(t)
}

// fillInbox sends the linked app's user userID a code that is then used,
// a notification, read, and a live code, and p an SMS on a rented number.
func (f *fixture) fillInbox(t *testing.T, p person, userID string) {
	t.Helper()
	f.connect(t, "/api/otp", map[string]string{"user_id": userID, "reference": "signup", "message": "Your Acme Shop sign-up code"})
	code := f.newest(t, p)["code"].(string)
	f.connect(t, "/api/otp/verify", map[string]string{"user_id": userID, "reference": "signup", "code": code})
	f.connect(t, "/api/notification", map[string]string{"user_id": userID, "message": "Your order #1042 has shipped and arrives on Friday."})
	if r := f.st.Call(t, "POST", "/v1/inbox/messages/"+f.newest(t, p)["id"].(string)+"/read", p.token, nil); r.Status != http.StatusOK {
		t.Fatalf("read: %d %s", r.Status, r.Body)
	}
	f.rentAndReceive(t, p)
	f.connect(t, "/api/otp", map[string]string{"user_id": userID, "reference": "login", "message": "Use this code to log in to Acme Shop"})
}

// code waits for the SMS sent to phone and returns its code.
func (f *fixture) code(t *testing.T, phone string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := f.st.SMS.Wait(ctx, phone)
	if err != nil {
		t.Fatal(err)
	}
	return smstest.Code(m.Body)
}

// newest reads p's newest inbox message.
func (f *fixture) newest(t *testing.T, p person) map[string]any {
	t.Helper()
	r := f.st.Call(t, "GET", "/v1/inbox/messages", p.token, nil)
	msgs, _ := r.JSON(t)["data"].([]any)
	if len(msgs) == 0 {
		t.Fatalf("empty inbox: %s", r.Body)
	}
	return msgs[0].(map[string]any)
}

// rentAndReceive rents p a number, on its own SIM of the gateway, and has
// the gateway deliver an SMS with a code to it.
func (f *fixture) rentAndReceive(t *testing.T, p person) {
	t.Helper()
	ctx := context.Background()
	n := f.st.Server.Numbers
	if _, err := n.AddNumber(ctx, numbers.Number{Number: fmt.Sprintf("+1202555%04d", p.n), Country: "US", Operator: "verizon",
		Services: []string{"telegram"}, GatewayID: f.gateway, SIM: p.n}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Approve(ctx, p.phone); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Grant(ctx, p.phone, 1000000, "pages"); err != nil {
		t.Fatal(err)
	}
	if r := f.st.Call(t, "POST", "/api/internal/rent", p.token, map[string]string{"service": "telegram", "country": "US"}); r.Status != http.StatusOK {
		t.Fatalf("rent: %d %s", r.Status, r.Body)
	}
	body := fmt.Sprintf(`{"deviceId":"dev1","event":"sms:received","id":"ev-%d","payload":{"messageId":"m%d","message":"Telegram code: 48213. Do not give this code to anyone.","phoneNumber":"Telegram","simNumber":%d,"receivedAt":%q},"webhookId":"wh1"}`,
		p.n, p.n, p.n, time.Now().UTC().Format(time.RFC3339))
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(f.gwSecret))
	m.Write([]byte(body + stamp))
	req, err := http.NewRequest("POST", f.st.URL+"/api/webhooks/smsgate/"+f.gateway, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Timestamp", stamp)
	req.Header.Set("X-Signature", hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SMS webhook: %d", resp.StatusCode)
	}
}

// deviceLinkURL starts a Device links session for the supplier's user
// userID and returns its page.
func (f *fixture) deviceLinkURL(t *testing.T, userID string) string {
	t.Helper()
	r := f.st.Call(t, "POST", "/users/"+userID+"/link", "", map[string]string{"redirect_uri": f.back + "/supplier", "language": "en"}, "x-api-key", f.supKey)
	if r.Status != http.StatusOK {
		t.Fatalf("device link: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["data"].(map[string]any)["link_url"].(string)
}

// selectURL starts, as the manufacturer, a device session for device and
// returns its supplier selector.
func (f *fixture) selectURL(t *testing.T, device string) string {
	t.Helper()
	r := f.st.Call(t, "POST", "/device-sessions", "", map[string]string{"device_id": device, "redirect_uri": f.back + "/manufacturer"}, "x-api-key", f.mfrKey)
	if r.Status != http.StatusOK {
		t.Fatalf("device session: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["data"].(map[string]any)["select_url"].(string)
}
