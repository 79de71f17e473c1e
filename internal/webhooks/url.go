package webhooks

import (
	"fmt"
	"net/url"
	"strings"
)

// CheckURL accepts a receiver's URL: absolute https, or http on the local
// machine only (a receiver in development), without user info or fragment,
// at most 2048 bytes.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || len(raw) > 2048 || u.Host == "" || u.User != nil || u.Fragment != "" || strings.ContainsAny(raw, "# \t\r\n\\") {
		return fmt.Errorf("webhook URL %q: want an absolute https URL (http only on localhost), without user info or fragment", raw)
	}
	switch h := u.Hostname(); {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && (h == "localhost" || h == "127.0.0.1" || h == "::1"):
		return nil
	}
	return fmt.Errorf("webhook URL %q: want https (http only on localhost)", raw)
}
