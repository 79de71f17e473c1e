package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestCORSOrigins: with LINKBOX_CORS_ORIGINS, a page on a listed origin may
// sign in and read the inbox through the real server; an unlisted origin,
// Connect's server-to-server API and a server without the setting get no
// CORS headers.
func TestCORSOrigins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		const origin = "https://app.example.com"
		st := apptest.Start(t, url, map[string]string{"LINKBOX_CORS_ORIGINS": origin + ",http://localhost:3000"}, app.Options{})
		token := st.SignUp(t, "+25761234567")

		pre := st.Call(t, "OPTIONS", "/v1/inbox/messages", "", nil, "Origin", origin,
			"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
		if pre.Status != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.EqualFold(pre.Header.Get("Access-Control-Allow-Headers"), "authorization") {
			t.Errorf("preflight: %d %v", pre.Status, pre.Header)
		}
		list := st.Call(t, "GET", "/v1/inbox/messages", token, nil, "Origin", origin)
		if list.Status != http.StatusOK || list.Header.Get("Access-Control-Allow-Origin") != origin ||
			list.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("inbox from %s: %d %v", origin, list.Status, list.Header)
		}
		login := st.Call(t, "POST", "/v1/auth/login", "", map[string]string{"phone": "+25761234567", "password": apptest.Password},
			"Origin", origin)
		if login.Status != http.StatusOK || login.Header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(login.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
			t.Errorf("login from %s: %d %v", origin, login.Status, login.Header)
		}
		for name, r := range map[string]apptest.Response{
			"unlisted origin": st.Call(t, "GET", "/v1/inbox/messages", token, nil, "Origin", "https://evil.example"),
			"connect API": st.Call(t, "OPTIONS", "/api/otp", "", nil, "Origin", origin,
				"Access-Control-Request-Method", "POST"),
		} {
			if v := r.Header.Get("Access-Control-Allow-Origin"); v != "" {
				t.Errorf("%s: Access-Control-Allow-Origin %q", name, v)
			}
		}

		plain := apptest.Start(t, url, nil, app.Options{})
		if r := plain.Call(t, "GET", "/.well-known/jwks.json", "", nil, "Origin", origin); r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("without the setting: Access-Control-Allow-Origin %q", r.Header.Get("Access-Control-Allow-Origin"))
		}
	})
}
