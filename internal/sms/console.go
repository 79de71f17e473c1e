package sms

import (
	"context"
	"log/slog"
)

// Console "sends" a message by logging it, for development and tests: one
// Info line "sms" with the attributes id, to and body.
type Console struct {
	Log *slog.Logger // nil means slog.Default()
}

var _ Sender = (*Console)(nil)

// Send logs m.
func (c *Console) Send(ctx context.Context, m Message) error {
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "sms", "id", m.ID, "to", m.To, "body", m.Body)
	return nil
}
