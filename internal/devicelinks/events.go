package devicelinks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// The types of the events a supplier receives, as webhooks and from GET
// /events.
const (
	EventConnected     = "link.connected"      // a supplier user's first mapping
	EventOverwritten   = "link.overwritten"    // a relink: devices replaced, nox_user_id kept
	EventFailed        = "link.failed"         // a link session that ended without a mapping
	EventDeviceRemoved = "link.device_removed" // DELETE …/devices/{id}; no devices left: the mapping is gone
	EventSettings      = "settings.updated"    // PUT /users/{id}/settings
)

// Event is one event of a supplier: the body of its webhook, byte for
// byte, and an item of GET /events. Seq numbers the supplier's events 1,
// 2, 3… in the order they committed.
type Event struct {
	ID        string `json:"id"`
	Seq       int64  `json:"seq"`
	Type      string `json:"type"`
	CreatedAt int64  `json:"created_at"`
	Data      any    `json:"data"`
}

// linkResult is the data of the link events: the seed's result of a link.
type linkResult struct {
	NoxUserID        string   `json:"nox_user_id,omitempty"`
	SupplierUserID   string   `json:"supplier_user_id"`
	Manufacturer     string   `json:"manufacturer"`
	ConnectionStatus string   `json:"connection_status,omitempty"`
	Error            string   `json:"error,omitempty"`
	ConnectedAt      int64    `json:"connected_at,omitempty"`
	Devices          []Device `json:"devices,omitempty"`
	DeviceID         string   `json:"device_id,omitempty"` // link.device_removed: the device removed
}

// SupplierPrefix starts the id of every supplier: the webhooks' owners
// that Service answers for (webhooks.ByPrefix).
const SupplierPrefix = "sup_"

var _ webhooks.Endpoints = (*Service)(nil)

// emit records an event of the supplier in tx and, when the supplier has a
// webhook URL, queues its webhook in the same transaction: it is sent once
// tx commits, never if it rolls back. The supplier's counter row, updated
// first, orders its events as they commit.
func (s *Service) emit(ctx context.Context, tx *db.Tx, supplierID, typ string, data any) error {
	var seq int64
	var hook sql.NullString
	err := tx.QueryRow(ctx, `UPDATE devicelinks_suppliers SET event_seq = event_seq + 1 WHERE client_id = ?
		RETURNING event_seq, webhook_url`, supplierID).Scan(&seq, &hook)
	if err != nil {
		return fmt.Errorf("devicelinks: event of %s: %w", supplierID, err)
	}
	now := s.now()
	ev := Event{ID: ids.New("evt_"), Seq: seq, Type: typ, CreatedAt: now.Unix(), Data: data}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO devicelinks_events (id, supplier_id, seq, created_at, body) VALUES (?, ?, ?, ?, ?)`,
		ev.ID, supplierID, seq, now.UnixMilli(), string(body))
	if err != nil {
		return fmt.Errorf("devicelinks: event of %s: %w", supplierID, err)
	}
	if !hook.Valid || hook.String == "" {
		return nil
	}
	return s.hooks.Enqueue(ctx, tx, supplierID, json.RawMessage(body))
}

// Endpoint implements webhooks.Endpoints: a supplier's webhook URL and
// secret, asked at every attempt, so that a new secret or URL applies to
// the retries too.
func (s *Service) Endpoint(ctx context.Context, owner string) (string, string, error) {
	sup, err := s.supplier(ctx, owner)
	if errors.Is(err, errSupplierNotFound) {
		return "", "", fmt.Errorf("%w: supplier %s is gone", webhooks.ErrNoEndpoint, owner)
	}
	if err != nil {
		return "", "", err
	}
	secret, err := s.webhookSecretOf(sup)
	if err != nil {
		return "", "", err
	}
	if sup.WebhookURL == "" || secret == "" {
		return "", "", fmt.Errorf("%w: supplier %s has no webhook", webhooks.ErrNoEndpoint, owner)
	}
	return sup.WebhookURL, secret, nil
}
