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

func TestConsentCSP(t *testing.T) {
	tests := []struct{ returnURL, want string }{
		{"https://your-app.com/return/?a=b", csp + " https://your-app.com"},
		{"http://localhost:3000/cb", csp + " http://localhost:3000"},
		{"https://x.com;script-src *", strings.TrimSuffix(csp, "; form-action 'self'")},
		{"ftp://x.com/", strings.TrimSuffix(csp, "; form-action 'self'")},
	}
	for _, tt := range tests {
		if got := consentCSP(tt.returnURL); got != tt.want {
			t.Errorf("consentCSP(%q) = %q, want %q", tt.returnURL, got, tt.want)
		}
	}
}
