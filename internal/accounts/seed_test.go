package accounts_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
)

var userID = regexp.MustCompile(`^user_[0-9A-Za-z]{12}$`)

// TestSeedExamples runs the seed's three curl examples, in order, then /me,
// asserting every documented field.
func TestSeedExamples(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		id := seedSignup(t, e)
		msg := seedSMS(t, e)
		e.clock.Advance(5 * time.Minute) // the seed verifies at 10:35
		seedVerify(t, e, id, msg)
		access := seedLogin(t, e, id)
		seedMe(t, e, id, access)
	})
}

func seedSignup(t *testing.T, e *env) string {
	r := e.do("POST", "/v1/auth/signup", `{
		"phone": "+25761234567",
		"password": "your_secure_password",
		"first_name": "John",
		"last_name": "Doe",
		"email": "john.doe@example.com",
		"role": "user"
	}`)
	m := r.want(t, http.StatusCreated, "")
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	wantKeys(t, "signup answer", m, "id", "object", "phone", "first_name", "last_name", "email",
		"role", "status", "created_at", "verification_required")
	if !userID.MatchString(m["id"].(string)) {
		t.Errorf("id %q, want user_ and 12 base62 characters", m["id"])
	}
	want := map[string]any{"object": "user", "phone": "+25761234567", "first_name": "John", "last_name": "Doe",
		"email": "john.doe@example.com", "role": "user", "status": "pending",
		"created_at": "2024-01-15T10:30:00Z", "verification_required": true}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("signup %s = %#v, want %#v", k, m[k], v)
		}
	}
	return m["id"].(string)
}

func seedSMS(t *testing.T, e *env) string {
	code := e.code("+25761234567")
	if len(code) != 6 {
		t.Fatalf("code %q, want 6 digits", code)
	}
	msgs := e.gw.Messages()
	want := "Your Linkbox verification code is " + code + ". It expires in 10 minutes."
	if len(msgs) != 1 || msgs[0].Body != want {
		t.Fatalf("SMS %+v, want one: %q", msgs, want)
	}
	return code
}

func seedVerify(t *testing.T, e *env, id, code string) {
	m := e.do("POST", "/v1/auth/verify", `{
		"phone": "+25761234567",
		"verification_code": "`+code+`"
	}`).want(t, http.StatusOK, "")
	wantKeys(t, "verify answer", m, "message", "user")
	if m["message"] != "Account verified successfully" {
		t.Errorf("message %q, want Account verified successfully", m["message"])
	}
	u := m["user"].(map[string]any)
	wantKeys(t, "verify user", u, "id", "status", "verified_at")
	if u["id"] != id || u["status"] != "active" || u["verified_at"] != "2024-01-15T10:35:00Z" {
		t.Errorf("verify user %v, want id %s, status active, verified_at 2024-01-15T10:35:00Z", u, id)
	}
}

func seedLogin(t *testing.T, e *env, id string) string {
	r := e.do("POST", "/v1/auth/login", `{
		"phone": "+25761234567",
		"password": "your_secure_password"
	}`)
	m := r.want(t, http.StatusOK, "")
	wantKeys(t, "login answer", m, "access_token", "token_type", "expires_in", "refresh_token", "user")
	if m["token_type"] != "bearer" || m["expires_in"] != 3600.0 {
		t.Errorf("token_type %v, expires_in %v; want bearer, 3600", m["token_type"], m["expires_in"])
	}
	access := m["access_token"].(string)
	if !strings.HasPrefix(access, "eyJ") || strings.Count(access, ".") != 2 {
		t.Errorf("access_token %q is not a JWS compact JWT", access)
	}
	if rt := m["refresh_token"].(string); !strings.HasPrefix(rt, "rt_") || len(rt) != 46 {
		t.Errorf("refresh_token %q, want rt_ and 43 base64url characters", rt)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	u := m["user"].(map[string]any)
	wantKeys(t, "login user", u, "id", "phone", "first_name", "last_name", "email", "role", "status")
	want := map[string]any{"id": id, "phone": "+25761234567", "first_name": "John", "last_name": "Doe",
		"email": "john.doe@example.com", "role": "user", "status": "active"}
	for k, v := range want {
		if u[k] != v {
			t.Errorf("login user %s = %#v, want %#v", k, u[k], v)
		}
	}
	return access
}

func seedMe(t *testing.T, e *env, id, access string) {
	m := e.me(access).want(t, http.StatusOK, "")
	wantKeys(t, "me", m, "id", "object", "phone", "first_name", "last_name", "email", "role", "status",
		"created_at", "verification_required", "verified_at")
	want := map[string]any{"id": id, "object": "user", "phone": "+25761234567", "status": "active",
		"created_at": "2024-01-15T10:30:00Z", "verified_at": "2024-01-15T10:35:00Z", "verification_required": false}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("me %s = %#v, want %#v", k, m[k], v)
		}
	}
}
