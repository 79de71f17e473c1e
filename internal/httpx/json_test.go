package httpx_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
)

type signup struct {
	Name  string   `json:"name"`
	Age   int      `json:"age"`
	Tags  []string `json:"tags"`
	Admin bool     `json:"admin"`
	Addr  struct {
		City string `json:"city"`
	} `json:"addr"`
}

// decode runs httpx.Decode on a POST with body and Content-Type ct ("" sends
// none).
func decode(t *testing.T, ct, body string) (signup, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/signup", strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	var v signup
	err := httpx.Decode(httptest.NewRecorder(), r, &v)
	return v, err
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name, ct, body string
	}{
		{"plain", "application/json", `{"name":"Ada","age":36,"tags":["x"]}`},
		{"unknown fields ignored", "application/json", `{"name":"Ada","age":36,"role":"root","extra":{"a":[1]}}`},
		{"charset parameter", "application/json; charset=utf-8", `{"name":"Ada","age":36}`},
		{"+json suffix", "application/merge-patch+json", `{"name":"Ada","age":36}`},
		{"no content type", "", `{"name":"Ada","age":36}`},
		{"trailing whitespace", "application/json", "{\"name\":\"Ada\",\"age\":36}\r\n\t "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := decode(t, tt.ct, tt.body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if v.Name != "Ada" || v.Age != 36 {
				t.Errorf("decoded %+v, want name Ada, age 36", v)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, ct, body string
		kind           errs.Kind
		code           string
		msgHas         string
	}{
		{"empty body", "application/json", "", errs.Invalid, "invalid_json", "empty"},
		{"truncated", "application/json", `{"name":"Ada"`, errs.Invalid, "invalid_json", "not valid JSON"},
		{"syntax error", "application/json", `{name:"Ada"}`, errs.Invalid, "invalid_json", "not valid JSON"},
		{"trailing garbage", "application/json", `{"name":"Ada"} x`, errs.Invalid, "invalid_json", "single JSON object"},
		{"two objects", "application/json", `{"name":"Ada"}{"name":"Bob"}`, errs.Invalid, "invalid_json", "single JSON object"},
		{"array", "application/json", `[{"name":"Ada"}]`, errs.Invalid, "invalid_json", "JSON object"},
		{"string", "application/json", `"Ada"`, errs.Invalid, "invalid_json", "JSON object"},
		{"number for string", "application/json", `{"name":5}`, errs.Invalid, "invalid_field", `"name" must be of type string`},
		{"string for number", "application/json", `{"age":"36"}`, errs.Invalid, "invalid_field", `"age" must be of type number`},
		{"string for array", "application/json", `{"tags":"x"}`, errs.Invalid, "invalid_field", `"tags" must be of type array`},
		{"string for boolean", "application/json", `{"admin":"yes"}`, errs.Invalid, "invalid_field", `"admin" must be of type boolean`},
		{"array for object", "application/json", `{"addr":[]}`, errs.Invalid, "invalid_field", `"addr" must be of type object`},
		{"nested field", "application/json", `{"addr":{"city":1}}`, errs.Invalid, "invalid_field", `"addr.city" must be of type string`},
		{"text/plain", "text/plain", `{"name":"Ada"}`, errs.Invalid, "unsupported_media_type", "application/json"},
		{"form", "application/x-www-form-urlencoded", `name=Ada`, errs.Invalid, "unsupported_media_type", "application/json"},
		{"malformed content type", "application/json; ;", `{"name":"Ada"}`, errs.Invalid, "unsupported_media_type", "application/json"},
		{"over the cap", "application/json", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, errs.TooLarge, "body_too_large", "1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, tt.ct, tt.body)
			var e *errs.Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode: got %v, want *errs.Error", err)
			}
			if e.Kind != tt.kind || e.Code != tt.code {
				t.Errorf("got kind %d code %q, want kind %d code %q", e.Kind, e.Code, tt.kind, tt.code)
			}
			if !strings.Contains(e.Message, tt.msgHas) {
				t.Errorf("message %q does not contain %q", e.Message, tt.msgHas)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestDecodeReadError(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/signup", failingReader{})
	var v signup
	err := httpx.Decode(httptest.NewRecorder(), r, &v)
	if !errs.Is(err, errs.Invalid, "invalid_json") {
		t.Fatalf("Decode of a failing body: got %v, want invalid_json", err)
	}
}

// TestDecodeCapBoundary shows the cap is MaxBody bytes exactly: a body of
// that size decodes, one byte more does not.
func TestDecodeCapBoundary(t *testing.T) {
	body := func(size int) string {
		const frame = `{"name":""}`
		return `{"name":"` + strings.Repeat("a", size-len(frame)) + `"}`
	}
	v, err := decode(t, "application/json", body(httpx.MaxBody))
	if err != nil {
		t.Fatalf("body of MaxBody bytes: %v", err)
	}
	if len(v.Name) != httpx.MaxBody-len(`{"name":""}`) {
		t.Errorf("decoded name of %d bytes, want %d", len(v.Name), httpx.MaxBody-len(`{"name":""}`))
	}
	_, err = decode(t, "application/json", body(httpx.MaxBody+1))
	if !errs.Is(err, errs.TooLarge, "body_too_large") {
		t.Fatalf("body of MaxBody+1 bytes: got %v, want body_too_large", err)
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"id": "u1", "n": 2})
	if w.Code != http.StatusCreated {
		t.Errorf("status %d, want %d", w.Code, http.StatusCreated)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if got["id"] != "u1" || got["n"] != 2.0 {
		t.Errorf("body %v, want id u1 and n 2", got)
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		kind errs.Kind
		want int
	}{
		{errs.Internal, http.StatusInternalServerError},
		{errs.Invalid, http.StatusBadRequest},
		{errs.Unauthorized, http.StatusUnauthorized},
		{errs.Forbidden, http.StatusForbidden},
		{errs.NotFound, http.StatusNotFound},
		{errs.Conflict, http.StatusConflict},
		{errs.Gone, http.StatusGone},
		{errs.TooLarge, http.StatusRequestEntityTooLarge},
		{errs.TooMany, http.StatusTooManyRequests},
		{errs.Unavailable, http.StatusServiceUnavailable},
		{errs.Kind(99), http.StatusInternalServerError},
		{errs.Kind(-1), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		if got := httpx.Status(tt.kind); got != tt.want {
			t.Errorf("Status(%d) = %d, want %d", tt.kind, got, tt.want)
		}
	}
}
