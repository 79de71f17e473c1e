package numbers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/inbox"
)

// SMS Gateway for Android (github.com/capcom6/android-sms-gateway) posts
// each received SMS to POST /api/webhooks/smsgate/{gateway_id}, signed:
// X-Signature is hex HMAC-SHA256(secret, raw body followed by the
// X-Timestamp value), X-Timestamp Unix seconds.
const (
	gatewaySeal     = "numbers-gateway-secret"
	signatureWindow = 5 * time.Minute
	maxWebhookBody  = 64 << 10
)

// Gateway is an SMS Gateway for Android device.
type Gateway struct {
	ID, Name  string
	CreatedAt time.Time
}

// CreateGateway registers a gateway and returns its signing secret, shown once.
func (s *Service) CreateGateway(ctx context.Context, name string) (Gateway, string, error) {
	if name == "" || len(name) > 100 {
		return Gateway{}, "", errGatewayName
	}
	g := Gateway{ID: ids.New("gw_"), Name: name, CreatedAt: s.now()}
	secret := ids.Token("", 24)
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO numbers_gateways (id, name, secret_sealed, created_at) VALUES (?, ?, ?, ?)`,
			g.ID, g.Name, s.keys.Seal(gatewaySeal+":"+g.ID, []byte(secret)), g.CreatedAt.UnixMilli())
		return err
	})
	return g, secret, err
}

// ListGateways lists the gateways.
func (s *Service) ListGateways(ctx context.Context) ([]Gateway, error) {
	return db.QueryAll(ctx, s.db, func(rows *sql.Rows) (g Gateway, err error) {
		var at int64
		err = rows.Scan(&g.ID, &g.Name, &at)
		g.CreatedAt = time.UnixMilli(at).UTC()
		return g, err
	}, `SELECT id, name, created_at FROM numbers_gateways ORDER BY created_at, id`)
}

// RemoveGateway removes a gateway; its numbers stay in the pool, without it.
func (s *Service) RemoveGateway(ctx context.Context, id string) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE numbers_pool SET gateway_id = NULL, sim = NULL WHERE gateway_id = ?`, id); err != nil {
			return err
		}
		err := db.ExecOne(ctx, tx, `DELETE FROM numbers_gateways WHERE id = ?`, id)
		if err == db.ErrNotFound {
			return errNoSuchGateway
		}
		return err
	})
}

// smsgateEvent is the app's webhook body.
type smsgateEvent struct {
	DeviceID string `json:"deviceId"`
	Event    string `json:"event"`
	ID       string `json:"id"`
	Payload  struct {
		MessageID   string    `json:"messageId"`
		Message     string    `json:"message"`
		PhoneNumber string    `json:"phoneNumber"`
		SimNumber   int       `json:"simNumber"`
		ReceivedAt  time.Time `json:"receivedAt"`
	} `json:"payload"`
	WebhookID string `json:"webhookId"`
}

func (s *Service) handleSMSGate(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		return errs.E(errs.TooLarge, "body_too_large", "Request body too large")
	}
	gwID := r.PathValue("gateway_id")
	var sealed string
	err = s.db.QueryRow(r.Context(), `SELECT secret_sealed FROM numbers_gateways WHERE id = ?`, gwID).Scan(&sealed)
	if err == db.ErrNotFound {
		return errNoGateway
	}
	if err != nil {
		return err
	}
	stamp := r.Header.Get("X-Timestamp")
	ts, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil || s.now().Sub(time.Unix(ts, 0)).Abs() > signatureWindow {
		return errStaleStamp
	}
	secret, err := s.keys.Open(gatewaySeal+":"+gwID, sealed)
	if err != nil {
		return err
	}
	sig, err := hex.DecodeString(r.Header.Get("X-Signature"))
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	mac.Write([]byte(stamp))
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return errBadSignature
	}
	var ev smsgateEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.Event == "" {
		return errBadEvent
	}
	if ev.Event != "sms:received" {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "ignored": true})
		return nil
	}
	if ev.Payload.Message == "" || ev.Payload.SimNumber < 1 {
		return errBadEvent
	}
	if err := s.receive(r.Context(), gwID, ev); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"success": true})
	return nil
}

// receive stores an SMS event once: on the number's live rental, or, when
// it came late, on the number's last rental (shown, never refunded again
// nor charged); an SMS for no rental is only recorded as seen.
func (s *Service) receive(ctx context.Context, gwID string, ev smsgateEvent) error {
	now := s.now()
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO numbers_events (gateway_id, event_id, received_at) VALUES (?, ?, ?)
			ON CONFLICT (gateway_id, event_id) DO NOTHING`, gwID, ev.ID, now.UnixMilli())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // a retry: stored the first time
		}
		r, err := scanRental(tx.QueryRow(ctx, `SELECT `+rentalCols+` FROM numbers_rentals WHERE number_id =
			(SELECT id FROM numbers_pool WHERE gateway_id = ? AND sim = ?) ORDER BY created_at DESC, id DESC LIMIT 1`,
			gwID, ev.Payload.SimNumber))
		if err == db.ErrNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		at := ev.Payload.ReceivedAt
		if at.IsZero() {
			at = now
		}
		return s.storeSMS(ctx, tx, r, ev.Payload.PhoneNumber, ev.Payload.Message, ExtractCode(ev.Payload.Message), at)
	})
}

// storeSMS stores an SMS of rental r with its code, moves a waiting rental
// to received (no cancel then) and puts the SMS in the renter's inbox, in
// tx: the gateway's and the upstream's SMS alike.
func (s *Service) storeSMS(ctx context.Context, tx *db.Tx, r Rental, sender, text, code string, at time.Time) error {
	if _, err := tx.Exec(ctx, `INSERT INTO numbers_sms (id, rental_id, sender, text, code, received_at) VALUES (?, ?, ?, ?, ?, ?)`,
		ids.New("sms_"), r.ID, sender, text, code, at.UnixMilli()); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE numbers_rentals SET status = ? WHERE id = ? AND status = ?`, StatusReceived, r.ID, StatusWaiting); err != nil {
		return err
	}
	_, err := s.inbox.Add(ctx, tx, inbox.NewMessage{
		UserID: r.UserID, Source: inbox.Source{Kind: "rental", ID: r.ID, Name: r.Service + " " + r.Number},
		Type: "sms", Message: text, Code: code,
	})
	return err
}
