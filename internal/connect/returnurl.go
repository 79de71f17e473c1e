package connect

import (
	"net/url"
	"strings"
)

// allows reports whether returnURL is registered for the app: equal to a
// registered URL, or under a registered prefix ending in "/".
//
// A prefix is compared the way a browser will read the URL, not as text:
// on the parsed URL, with the same scheme and host (port included), no user
// info, and the path's dot segments resolved — plain or percent-encoded, as
// browsers decode "%2e" — before the prefix test, so that
// ".../return/../../elsewhere" is not "under" .../return/. A prefix ends in
// "/", so the test falls on a segment boundary. Backslashes (which browsers
// read as "/"), encoded slashes and empty segments are refused outright:
// the app's own server may read them differently again.
func (a App) allows(returnURL string) bool {
	u, err := url.Parse(returnURL)
	if err != nil {
		return false
	}
	for _, r := range a.ReturnURLs {
		if returnURL == r {
			return true
		}
		if strings.HasSuffix(r, "/") && underPrefix(returnURL, u, r) {
			return true
		}
	}
	return false
}

// underPrefix reports whether u, parsed from raw, lies under the registered
// prefix.
func underPrefix(raw string, u *url.URL, prefix string) bool {
	p, err := url.Parse(prefix)
	if err != nil || strings.Contains(raw, `\`) || u.Opaque != "" || u.User != nil ||
		u.Scheme != p.Scheme || !strings.EqualFold(u.Host, p.Host) {
		return false
	}
	got, ok := resolvePath(u.EscapedPath())
	return ok && strings.HasPrefix(got, p.EscapedPath())
}

// resolvePath returns the escaped path with its dot segments, plain or
// percent-encoded, removed as RFC 3986 section 5.2.4 does; ok is false when
// the path holds an encoded slash or backslash, or an empty segment.
func resolvePath(escaped string) (string, bool) {
	lower := strings.ToLower(escaped)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(escaped, "//") {
		return "", false
	}
	segs := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		switch strings.ReplaceAll(strings.ToLower(s), "%2e", ".") {
		case ".":
		case "..":
			out = out[:max(0, len(out)-1)]
		default:
			out = append(out, s)
			continue
		}
		if i == len(segs)-1 {
			out = append(out, "") // ".../a/.." names the directory: keep its slash
		}
	}
	return "/" + strings.Join(out, "/"), true
}

// isClean reports whether the escaped path of a URL being registered is
// already resolved: no dot segments, encoded slashes, backslashes or empty
// segments, so that what is registered is what a browser reads.
func isClean(escaped string) bool {
	if escaped == "" {
		return true
	}
	got, ok := resolvePath(escaped)
	return ok && got == escaped
}
