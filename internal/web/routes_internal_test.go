package web

import (
	"strings"
	"testing"
)

func TestLocalPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/inbox", "/inbox"},
		{"/linking/abc?x=1&y=%2F", "/linking/abc?x=1&y=%2F"},
		{"/", "/"},
		{"", ""},
		{"inbox", ""},
		{"//evil.com", ""},
		{"///evil.com", ""},
		{`/\evil.com`, ""},
		{`/a\b`, ""},
		{"https://evil.com", ""},
		{"javascript:alert(1)", ""},
		{"/\t/evil.com", ""},
		{"/\n/evil.com", ""},
		{"/%zz", ""},
		{"/" + strings.Repeat("a", 2048), ""},
	}
	for _, tt := range tests {
		if got := localPath(tt.in); got != tt.want {
			t.Errorf("localPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormActionCSP(t *testing.T) {
	tests := []struct {
		targets []string
		want    string
	}{
		{[]string{"https://your-app.com/return/?a=b"}, csp + " https://your-app.com"},
		{[]string{"http://localhost:3000/cb"}, csp + " http://localhost:3000"},
		{[]string{"https://x.com;script-src *"}, strings.TrimSuffix(csp, "; form-action 'self'")},
		{[]string{"ftp://x.com/"}, strings.TrimSuffix(csp, "; form-action 'self'")},
		{nil, csp},
		{[]string{"https://a.example/oauth", "https://b.example:8443/x"}, csp + " https://a.example https://b.example:8443"},
		{[]string{"https://a.example/", "https://b.example;script-src *"}, strings.TrimSuffix(csp, "; form-action 'self'")},
	}
	for _, tt := range tests {
		if got := FormActionCSP(tt.targets...); got != tt.want {
			t.Errorf("FormActionCSP(%q) = %q, want %q", tt.targets, got, tt.want)
		}
	}
}
