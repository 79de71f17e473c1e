package webhooks

import (
	"context"
	"fmt"
	"strings"
)

// ByPrefix gives the receivers of every surface: an owner is a client id,
// which starts with its kind's prefix ("app_", "sup_"), and the surface of
// that kind answers for it. An owner no surface claims has no endpoint.
type ByPrefix map[string]Endpoints

// Endpoint implements Endpoints.
func (m ByPrefix) Endpoint(ctx context.Context, owner string) (string, string, error) {
	for prefix, e := range m {
		if strings.HasPrefix(owner, prefix) {
			return e.Endpoint(ctx, owner)
		}
	}
	return "", "", fmt.Errorf("%w: no surface owns %q", ErrNoEndpoint, owner)
}
