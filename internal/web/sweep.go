package web

import (
	"context"
	"fmt"
)

// Sweep deletes expired page sessions, which sign-in sweeps only for the
// account signing in. The server runs it periodically.
func (k *Kit) Sweep(ctx context.Context) error {
	if _, err := k.db.SweepExpired(ctx, "web_sessions", "id_hash", "expires_at", k.now().UnixMilli()); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	return nil
}
