package accounts_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// badValue is a value of a field and the error it must get.
type badValue struct {
	v      any
	status int
	code   string
}

// endpoint describes the body of one POST endpoint: a valid body, its
// required and optional fields, and the bad values each field must refuse.
type endpoint struct {
	path     string
	base     map[string]any
	required []string
	optional []string
	bad      map[string][]badValue
}

// badCase is one request that must be refused without writing anything.
type badCase struct {
	name, path, body string
	headers          []string
	status           int
	code             string
}

func invalidPhones(field string) []badValue {
	var out []badValue
	for _, p := range []string{"25761234567", "+1", "+999123456789", "+2576123456", "phone", "+257612345678",
		"+25761234567" + strings.Repeat("0", 30), "++25761234567", "+257-61-23-45-67-89", "+1-800-FLOWERS", "+257 61 23 45 6x"} {
		out = append(out, badValue{p, 400, "invalid_phone"})
	}
	return out
}

func badPasswords() []badValue {
	return []badValue{
		{"short", 400, "invalid_password"},
		{"seven77", 400, "invalid_password"},
		{strings.Repeat("p", 129), 400, "invalid_password"},
		{strings.Repeat("é", 129), 400, "invalid_password"},
	}
}

func badCodes() []badValue {
	return []badValue{{"12345", 400, "invalid_code"}, {"1234567", 400, "invalid_code"},
		{"abcdef", 400, "invalid_code"}, {"12 456", 400, "invalid_code"}, {"١٢٣٤٥٦", 400, "invalid_code"}}
}

func badNames() []badValue {
	return []badValue{{"   ", 400, "missing_field"}, {strings.Repeat("n", 101), 400, "invalid_name"},
		{"John\nDoe", 400, "invalid_name"}, {"a\x00", 400, "invalid_name"}}
}

// endpoints lists every POST endpoint with a body; pending and active are
// phones of existing accounts, so that only the bad field is wrong.
func endpoints(pending, active string) []endpoint {
	refresh := []badValue{{"garbage", 401, "invalid_token"}, {"rt_" + strings.Repeat("A", 200), 401, "invalid_token"},
		{"rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 401, "invalid_token"}}
	return []endpoint{
		{path: "/v1/auth/signup", base: signupBody(phone(999)),
			required: []string{"phone", "password", "first_name", "last_name", "email"},
			optional: []string{"username", "role"},
			bad: map[string][]badValue{
				"phone":      append(invalidPhones("phone"), badValue{pending, 409, "phone_taken"}, badValue{active, 409, "phone_taken"}),
				"password":   badPasswords(),
				"first_name": badNames(),
				"last_name":  badNames(),
				"email": {{"not-an-email", 400, "invalid_email"}, {"John <john@example.com>", 400, "invalid_email"},
					{"john@", 400, "invalid_email"}, {strings.Repeat("j", 250) + "@example.com", 400, "invalid_email"}},
				"username": {{"ab", 400, "invalid_username"}, {"has space", 400, "invalid_username"},
					{strings.Repeat("u", 33), 400, "invalid_username"}, {"émile", 400, "invalid_username"}},
				"role": {{"superuser", 400, "invalid_role"}, {"User", 400, "invalid_role"},
					{"admin", 403, "role_not_allowed"}, {"agent", 403, "role_not_allowed"}},
			}},
		{path: "/v1/auth/verify", base: map[string]any{"phone": pending, "verification_code": "123456"},
			required: []string{"phone", "verification_code"},
			bad: map[string][]badValue{"phone": append(invalidPhones("phone"), badValue{phone(998), 400, "invalid_code"}),
				"verification_code": badCodes()}},
		{path: "/v1/auth/resend", base: map[string]any{"phone": pending}, required: []string{"phone"},
			bad: map[string][]badValue{"phone": invalidPhones("phone")}},
		{path: "/v1/auth/login", base: map[string]any{"phone": active, "password": password},
			required: []string{"phone", "password"},
			bad: map[string][]badValue{"phone": invalidPhones("phone"),
				"password": {{"wrong password", 401, "invalid_credentials"}}}},
		{path: "/v1/auth/refresh", base: map[string]any{"refresh_token": "rt_x"}, required: []string{"refresh_token"},
			bad: map[string][]badValue{"refresh_token": refresh}},
		{path: "/v1/auth/logout", base: map[string]any{"refresh_token": "rt_x"}, required: []string{"refresh_token"},
			bad: map[string][]badValue{"refresh_token": refresh}},
		{path: "/v1/auth/password/forgot", base: map[string]any{"phone": active}, required: []string{"phone"},
			bad: map[string][]badValue{"phone": invalidPhones("phone")}},
		{path: "/v1/auth/password/reset", base: map[string]any{"phone": active, "code": "123456", "new_password": "a new password"},
			required: []string{"phone", "code", "new_password"},
			bad:      map[string][]badValue{"phone": invalidPhones("phone"), "code": badCodes(), "new_password": badPasswords()}},
	}
}

func body(t testing.TB, base map[string]any, field string, v any, drop bool) string {
	m := maps.Clone(base)
	if drop {
		delete(m, field)
	} else {
		m[field] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cases expands the endpoints into bad requests.
func cases(t testing.TB, eps []endpoint) []badCase {
	var out []badCase
	for _, ep := range eps {
		p := ep.path
		out = append(out,
			badCase{p + " invalid JSON", p, `{"phone":`, nil, 400, "invalid_json"},
			badCase{p + " empty body", p, "", nil, 400, "invalid_json"},
			badCase{p + " array body", p, `[]`, nil, 400, "invalid_json"},
			badCase{p + " two objects", p, `{}{}`, nil, 400, "invalid_json"},
			badCase{p + " 2 MiB body", p, bigBody(), nil, 413, "body_too_large"},
			badCase{p + " text body", p, body(t, ep.base, "", nil, true), []string{"Content-Type: text/plain"}, 400, "unsupported_media_type"},
		)
		for _, f := range ep.required {
			out = append(out,
				badCase{p + " missing " + f, p, body(t, ep.base, f, nil, true), nil, 400, "missing_field"},
				badCase{p + " empty " + f, p, body(t, ep.base, f, "", false), nil, 400, "missing_field"},
				badCase{p + " null " + f, p, body(t, ep.base, f, nil, false), nil, 400, "missing_field"})
		}
		for _, f := range append(ep.required, ep.optional...) {
			out = append(out,
				badCase{p + " number " + f, p, body(t, ep.base, f, 12, false), nil, 400, "invalid_field"},
				badCase{p + " object " + f, p, body(t, ep.base, f, map[string]any{}, false), nil, 400, "invalid_field"})
		}
		for f, vals := range ep.bad {
			for _, v := range vals {
				name := fmt.Sprintf("%s %s=%.20q", p, f, v.v)
				out = append(out, badCase{name, p, body(t, ep.base, f, v.v, false), nil, v.status, v.code})
			}
		}
	}
	return out
}

// TestBadInput sends every bad request of every endpoint and checks the
// answer and that no table changed.
func TestBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		active, pending := phone(1), phone(2)
		e.active(active)
		e.signup(pending)
		e.code(pending)
		before := e.counts()
		all := cases(t, endpoints(pending, active))
		all = append(all,
			badCase{"me without token", "", "", nil, 401, "missing_token"},
			badCase{"me with basic auth", "", "", []string{"Authorization: Basic dXNlcjpwYXNz"}, 401, "missing_token"},
			badCase{"me with garbage", "", "", []string{"Authorization: Bearer garbage"}, 401, "invalid_token"},
			badCase{"me with empty bearer", "", "", []string{"Authorization: Bearer "}, 401, "missing_token"})
		for _, c := range all {
			method, path := "POST", c.path
			if path == "" {
				method, path = "GET", "/v1/auth/me"
			}
			r := e.do(method, path, c.body, c.headers...)
			if r.status != c.status || !strings.Contains(string(r.body), `"code":"`+c.code+`"`) {
				t.Errorf("%s: got %d %s, want %d %s", c.name, r.status, r.body, c.status, c.code)
				continue
			}
			r.want(t, c.status, c.code)
			if after := e.counts(); !maps.Equal(after, before) {
				t.Fatalf("%s: rows %v, want unchanged %v", c.name, after, before)
			}
		}
		t.Logf("%d bad requests refused", len(all))
	})
}
