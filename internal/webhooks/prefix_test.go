package webhooks_test

import (
	"context"
	"errors"
	"testing"

	"github.com/linkbox/linkbox/internal/webhooks"
)

type fixed string

func (f fixed) Endpoint(_ context.Context, owner string) (string, string, error) {
	return string(f) + "/" + owner, "whsec_x", nil
}

func TestByPrefix(t *testing.T) {
	m := webhooks.ByPrefix{"app_": fixed("https://apps"), "sup_": fixed("https://suppliers")}
	for owner, want := range map[string]string{"app_1": "https://apps/app_1", "sup_2": "https://suppliers/sup_2"} {
		if url, _, err := m.Endpoint(context.Background(), owner); err != nil || url != want {
			t.Errorf("Endpoint(%s) = %q, %v; want %q", owner, url, err, want)
		}
	}
	if _, _, err := m.Endpoint(context.Background(), "man_3"); !errors.Is(err, webhooks.ErrNoEndpoint) {
		t.Errorf("an owner no surface claims: %v, want ErrNoEndpoint", err)
	}
}
