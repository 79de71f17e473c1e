package ratelimit_test

import (
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/ratelimit"
)

func TestName(t *testing.T) {
	for key, want := range map[string]string{
		"auth:login:ip:192.0.2.1":      "auth:login",
		"login:phone:+15555550100":     "login:phone",
		"numbers:rent:usr_1":           "numbers:rent",
		"sms:all":                      "sms:all",
		"sms:country:GB":               "sms:country",
		"clients:badkey:ip:2001:db8::": "clients:badkey",
		"plain":                        "plain",
	} {
		if got := ratelimit.Name(key); got != want {
			t.Errorf("Name(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestObservedCountsRefusalsOnly: a take that passes is not reported; a
// refused take and a refused peek are, by their limit's name.
func TestObservedCountsRefusalsOnly(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var refused []string
	l := ratelimit.Observed(ratelimit.NewMemory(func() time.Time { return now }), func(name string) { refused = append(refused, name) })
	lim := ratelimit.Limit{Events: 2, Per: time.Minute}
	for i, want := range []bool{true, true, false} {
		res, err := l.Take(t.Context(), "auth:login:ip:192.0.2.1", lim, 1)
		if err != nil || res.Allowed != want {
			t.Fatalf("take %d: allowed %v (%v), want %v", i, res.Allowed, err, want)
		}
	}
	if res, err := l.Take(t.Context(), "auth:login:ip:192.0.2.1", lim, 0); err != nil || res.Allowed {
		t.Fatalf("peek: allowed %v (%v)", res.Allowed, err)
	}
	if _, err := l.Take(t.Context(), "auth:login:ip:192.0.2.2", lim, 1); err != nil {
		t.Fatal(err)
	}
	if len(refused) != 2 || refused[0] != "auth:login" || refused[1] != "auth:login" {
		t.Errorf("refused = %q, want two auth:login", refused)
	}
}
