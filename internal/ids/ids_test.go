package ids

import (
	"regexp"
	"testing"
)

func TestShapes(t *testing.T) {
	cases := []struct {
		got  string
		want *regexp.Regexp
	}{
		{New("user_"), regexp.MustCompile(`^user_[0-9A-Za-z]{12}$`)},
		{Digits(6), regexp.MustCompile(`^[0-9]{6}$`)},
		{Token("rt_", 32), regexp.MustCompile(`^rt_[A-Za-z0-9_-]{43}$`)},
	}
	for _, c := range cases {
		if !c.want.MatchString(c.got) {
			t.Errorf("got %q, want match of %s", c.got, c.want)
		}
	}
}

func TestUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := New("x_")
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
}

func TestDigitsUniform(t *testing.T) {
	var counts [10]int
	const n = 100000
	for range n / 10 {
		for _, c := range Digits(10) {
			counts[c-'0']++
		}
	}
	for d, c := range counts {
		if c < n/10*9/10 || c > n/10*11/10 {
			t.Errorf("digit %d appeared %d times in %d, want about %d", d, c, n, n/10)
		}
	}
}
