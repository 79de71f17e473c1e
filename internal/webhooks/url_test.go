package webhooks_test

import (
	"testing"

	"github.com/linkbox/linkbox/internal/webhooks"
)

func TestCheckURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://hooks.example.com/linkbox":     true,
		"https://hooks.example.com:8443/a?b=c":  true,
		"http://localhost:9000/hook":            true,
		"http://127.0.0.1/hook":                 true,
		"http://[::1]:9000/hook":                true,
		"http://hooks.example.com/linkbox":      false,
		"ftp://hooks.example.com/":              false,
		"https://user:pw@hooks.example.com/":    false,
		"https://hooks.example.com/#frag":       false,
		"/relative":                             false,
		"":                                      false,
		"https://hooks.example.com/a b":         false,
		"https://hooks.example.com/\\evil":      false,
		"https://" + string(make([]byte, 2100)): false,
		"http://localhost.evil.example/":        false,
		"http://127.0.0.1.nip.io/":              false,
	} {
		if err := webhooks.CheckURL(raw); (err == nil) != ok {
			t.Errorf("CheckURL(%.40q) = %v, want ok %v", raw, err, ok)
		}
	}
}
