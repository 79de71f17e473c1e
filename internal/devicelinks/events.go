package devicelinks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
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

// Paging of GET /events.
const (
	eventsPage    = 100
	maxEventsPage = 1000
)

// eventsData is a page of GET /events: the events after since, oldest
// first; next is the since of the following page.
type eventsData struct {
	Events  []json.RawMessage `json:"events"`
	Next    int64             `json:"next"`
	HasMore bool              `json:"has_more"`
}

// handleEvents answers the supplier's events after ?since= (a seq; 0, the
// default, from the first), at most ?limit= of them.
func (s *Service) handleEvents(w http.ResponseWriter, r *http.Request, sup Supplier) error {
	q := r.URL.Query()
	since, limit := int64(0), eventsPage
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errInvalidSince
		}
		since = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEventsPage {
			return errInvalidLimit
		}
		limit = n
	}
	page, err := s.events(r.Context(), sup.ID, since, limit)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, okBody{Success: true, Timestamp: s.now().Unix(), Data: page})
	return nil
}

// events reads one page of the supplier's events after since.
func (s *Service) events(ctx context.Context, supplierID string, since int64, limit int) (eventsData, error) {
	type row struct {
		seq  int64
		body string
	}
	rows, err := db.QueryAll(ctx, s.db, func(rows *sql.Rows) (r row, err error) {
		return r, rows.Scan(&r.seq, &r.body)
	}, `SELECT seq, body FROM devicelinks_events WHERE supplier_id = ? AND seq > ? ORDER BY seq LIMIT ?`, supplierID, since, limit+1)
	if err != nil {
		return eventsData{}, fmt.Errorf("devicelinks: events of %s: %w", supplierID, err)
	}
	page := eventsData{Events: []json.RawMessage{}, Next: since, HasMore: len(rows) > limit}
	for _, r := range rows[:min(len(rows), limit)] {
		page.Events = append(page.Events, json.RawMessage(r.body))
		page.Next = r.seq
	}
	return page, nil
}
