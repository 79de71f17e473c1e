package inbox

import (
	"regexp"
	"strings"
	"testing"
)

func TestIDs(t *testing.T) {
	c := newIDCodec([]byte(strings.Repeat("k", 32)))
	shape := regexp.MustCompile(`^msg_[A-Za-z0-9_-]{22}$`)
	seen := map[string]bool{}
	for _, n := range []int64{1, 2, 3, 255, 256, 1 << 32, 1<<63 - 1} {
		id := c.format(n)
		if !shape.MatchString(id) || seen[id] {
			t.Fatalf("id of %d = %q: want msg_ and 22 base64url characters, unlike the others", n, id)
		}
		seen[id] = true
		if got, ok := c.parse(id); !ok || got != n {
			t.Errorf("parse(format(%d)) = %d, %v", n, got, ok)
		}
	}
	// Consecutive numbers share no visible part: ids do not count messages.
	if a, b := c.format(1), c.format(2); commonPrefix(a, b) > len("msg_")+1 {
		t.Errorf("ids of 1 and 2 (%s, %s) share a prefix", a, b)
	}
	other := newIDCodec([]byte(strings.Repeat("o", 32)))
	id := c.format(42)
	for _, bad := range []string{
		"", "msg_", "42", "msg_42", id[:len(id)-1], id + "A", strings.ToUpper(id[:4]) + id[4:],
		other.format(42), // another key: another store's id
		c.format(0), c.format(-1),
		"msg_" + strings.Repeat("*", 22),
		id[:len(id)-1] + "B", // only the last character's unused bits differ
	} {
		if n, ok := c.parse(bad); ok {
			t.Errorf("parse(%q) = %d, want refused", bad, n)
		}
	}
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
