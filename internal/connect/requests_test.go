package connect_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// endpoint is a Connect route with a valid body for the linked user "100".
type endpoint struct {
	path   string
	valid  map[string]any
	limits map[string]int // the body's fields and their length limits
}

func endpoints(code string) []endpoint {
	return []endpoint{
		{"/api/link-account", map[string]any{"user_id": "100", "return_url": "https://your-app.com/nofbox-return/100"},
			map[string]int{"user_id": 255, "return_url": 2048}},
		{"/api/link-account/unlink", map[string]any{"user_id": "100"}, map[string]int{"user_id": 255}},
		{"/api/otp", map[string]any{"user_id": "100", "reference": "login", "message": "Your code"},
			map[string]int{"user_id": 255, "reference": 64, "message": 1000}},
		{"/api/otp/verify", map[string]any{"user_id": "100", "reference": "login", "code": code},
			map[string]int{"user_id": 255, "reference": 64, "code": 16}},
		{"/api/notification", map[string]any{"user_id": "100", "message": "Hello"},
			map[string]int{"user_id": 255, "message": 1000}},
	}
}

// with returns a copy of m with field set to v; a nil v removes it.
func with(m map[string]any, field string, v any) map[string]any {
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = x
	}
	if v == nil {
		delete(out, field)
	} else {
		out[field] = v
	}
	return out
}

func encode(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// long returns a string of n characters of c, for the given field: a
// return_url keeps its registered prefix so that only its length is wrong.
func long(field string, n int, c string) string {
	if field == "return_url" {
		p := "https://your-app.com/nofbox-return/"
		return p + strings.Repeat(c, n-len([]rune(p)))
	}
	return strings.Repeat(c, n)
}

// badInput is a request body that must be refused.
type badInput struct {
	name, body string
	status     int
	message    string
}

// badInputs lists, for an endpoint, each bad value of each field, then each
// bad body.
func badInputs(t *testing.T, ep endpoint) []badInput {
	var cases []badInput
	set := func(field string, v any) string { return encode(t, with(ep.valid, field, v)) }
	literal := func(field, json string) string { return strings.Replace(set(field, "X"), `"X"`, json, 1) }
	for field, limit := range ep.limits {
		wrongType := "Invalid " + field
		cases = append(cases,
			badInput{field + " missing", set(field, nil), 400, "Missing required field"},
			badInput{field + " null", literal(field, "null"), 400, "Missing required field"},
			badInput{field + " empty", set(field, ""), 400, "Missing required field"},
			badInput{field + " boolean", set(field, true), 400, wrongType},
			badInput{field + " object", set(field, map[string]any{"v": "100"}), 400, wrongType},
			badInput{field + " array", set(field, []string{"100"}), 400, wrongType},
			badInput{field + " fraction", set(field, 100.5), 400, wrongType},
			badInput{field + " exponent", literal(field, "1e2"), 400, wrongType},
			badInput{field + " NUL", set(field, "a\x00b"), 400, wrongType},
			badInput{field + " too long", set(field, long(field, limit+1, "a")), 400, "Field too long"},
			badInput{field + " too long in characters", set(field, long(field, limit+1, "é")), 400, "Field too long"},
		)
		if field != "message" { // a message may hold tabs and line breaks
			cases = append(cases, badInput{field + " control character", set(field, "a\tb"), 400, wrongType})
		}
		if field != "user_id" { // user_id may be a JSON integer
			cases = append(cases, badInput{field + " number", set(field, 7), 400, wrongType})
		}
	}
	return append(cases,
		badInput{"invalid JSON", `{"user_id": "100",`, 400, "Invalid request body"},
		badInput{"empty body", ``, 400, "Invalid request body"},
		badInput{"array body", `[` + encode(t, ep.valid) + `]`, 400, "Invalid request body"},
		badInput{"string body", `"100"`, 400, "Invalid request body"},
		badInput{"two objects", encode(t, ep.valid) + encode(t, ep.valid), 400, "Invalid request body"},
		badInput{"null body", `null`, 400, "Missing required field"},
		badInput{"2 MiB body", set("padding", strings.Repeat("a", 2<<20)), 413, "Request body too large"},
	)
}

// TestBadInput sends each bad input of each field of each endpoint: every
// one gets its 4xx and writes nothing.
func TestBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		code := e.sendOTP(key, "100", "login", a)
		for _, ep := range endpoints(code) {
			for _, c := range badInputs(t, ep) {
				before := e.snapshot()
				wantError(t, ep.path+": "+c.name, e.post(key, ep.path, c.body), c.status, c.message)
				if after := e.snapshot(); after != before {
					t.Errorf("%s: %s wrote to the store:\nbefore:\n%s\nafter:\n%s", ep.path, c.name, before, after)
				}
			}
		}
	})
}

// TestFieldLimits checks that a field at its limit, counted in characters,
// passes validation (the answer is then about the store, not the field).
func TestFieldLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		for _, ep := range endpoints("123456") {
			for field, limit := range ep.limits {
				r := e.postJSON(key, ep.path, with(ep.valid, field, long(field, limit, "é")))
				if r.status == http.StatusBadRequest {
					t.Errorf("%s with %s of %d characters: %d %v, want it accepted", ep.path, field, limit, r.status, r.body)
				}
			}
		}
	})
}

// TestUserIDTypes accepts user_id as a string or a JSON integer, the same
// user either way.
func TestUserIDTypes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		tests := []struct {
			userID string // JSON text
			status int
		}{
			{`"100"`, 200},
			{`100`, 200},
			{`-100`, 404},
			{`"0100"`, 404},
			{`0`, 404},
		}
		for _, tt := range tests {
			r := e.post(key, "/api/notification", fmt.Sprintf(`{"user_id": %s, "message": "hi"}`, tt.userID))
			if r.status != tt.status {
				t.Errorf("user_id %s: %d %v, want %d", tt.userID, r.status, r.body, tt.status)
			}
		}
	})
}

// TestContentType refuses bodies declared as something other than JSON.
func TestContentType(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		req, err := http.NewRequest(http.MethodPost, e.server.URL+"/api/link-account/unlink", strings.NewReader(`{"user_id":"100"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("X-Api-Key", key)
		wantError(t, "text/plain", e.do(req), http.StatusBadRequest, "Content-Type must be application/json")
	})
}

// TestMessageText: a message keeps its line breaks, tabs and any script.
func TestMessageText(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil)
		_, key := e.createApp("App")
		a := e.createUser("a@example.org", "")
		e.link(key, "100", a)
		text := "Dépôt reçu: 1,0 €\nMerci\t🙂"
		wantBody(t, "notification", e.postJSON(key, "/api/notification", map[string]any{"user_id": "100", "message": text}),
			http.StatusOK, success)
		if got := e.newest(a).Message; got != text {
			t.Errorf("inbox message = %q, want %q", got, text)
		}
	})
}
