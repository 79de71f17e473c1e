package connect

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/linkbox/linkbox/internal/clients"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/outbox"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// The events an app's webhook receives; each names the app's own user_id.
const (
	EventLinkApproved = "link.approved"          // the user approved the link on the hosted page
	EventLinkDenied   = "link.denied"            // the user denied it
	EventLinkUnlinked = "link.unlinked"          // unlinked by the user (/account) or the app (the API), or the account was deleted
	EventOTPExpired   = "otp.expired_unverified" // an OTP's lifetime ended before a right code came
)

// AppPrefix starts the id of every app: the webhooks' owners that Service
// answers for (webhooks.ByPrefix).
const AppPrefix = "app_"

// event is the body of an app's webhook.
type event struct {
	Type      string `json:"type"`
	CreatedAt int64  `json:"created_at"` // Unix seconds
	Data      any    `json:"data"`
}

// Who unlinked, in link.unlinked's data.
const (
	byUser    = "user"
	byApp     = "app"
	byDeleted = "account_deleted" // the account was deleted
)

type linkEventData struct {
	UserID   string `json:"user_id"`
	Email    string `json:"email,omitempty"` // link.approved: as /api/link-account shows them
	Phone    string `json:"phone,omitempty"`
	Username string `json:"username,omitempty"`
	By       string `json:"by,omitempty"` // link.unlinked
}

type otpEventData struct {
	UserID    string `json:"user_id"`
	Reference string `json:"reference"`
	ExpiredAt int64  `json:"expired_at"` // Unix seconds
	Attempts  int    `json:"attempts"`   // wrong codes tried
}

const sealWebhook = "connect-webhook-secret"

// SetWebhook sets the URL the app's webhooks go to and returns its new
// "whsec_…" secret, shown only now (the store keeps it sealed under the
// master secret). An empty target removes the webhook: what is queued for
// it is given up.
func (s *Service) SetWebhook(ctx context.Context, id, target string) (string, error) {
	var secret, sealed string
	if target != "" {
		if err := webhooks.CheckURL(target); err != nil {
			return "", errs.E(errs.Invalid, "invalid_url", err.Error())
		}
		var err error
		if secret, err = webhooks.NewSecret(); err != nil {
			return "", err
		}
		sealed = s.keys.Seal(sealWebhook, []byte(secret))
	}
	err := s.apps.Update(ctx, id, "", func(ctx context.Context, tx *db.Tx, c clients.Client) error {
		return db.ExecOne(ctx, tx, `UPDATE connect_apps SET webhook_url = ?, webhook_secret = ? WHERE client_id = ?`, target, sealed, c.ID)
	})
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	return secret, nil
}

var _ webhooks.Endpoints = (*Service)(nil)

// Endpoint implements webhooks.Endpoints for the apps, read afresh at each
// attempt: a moved URL or a new secret applies to the retries.
func (s *Service) Endpoint(ctx context.Context, owner string) (string, string, error) {
	var target, sealed string
	err := s.db.QueryRow(ctx, `SELECT o.webhook_url, o.webhook_secret FROM connect_apps o JOIN clients c ON c.id = o.client_id
		WHERE o.client_id = ? AND c.deleted_at IS NULL`, owner).Scan(&target, &sealed)
	switch {
	case errors.Is(err, db.ErrNotFound) || err == nil && target == "":
		return "", "", fmt.Errorf("%w: app %s has no webhook", webhooks.ErrNoEndpoint, owner)
	case err != nil:
		return "", "", fmt.Errorf("connect: webhook of %s: %w", owner, err)
	}
	secret, err := s.keys.Open(sealWebhook, sealed)
	if err != nil {
		return "", "", fmt.Errorf("connect: webhook secret of %s: %w", owner, err)
	}
	return target, string(secret), nil
}

// emit queues, in tx, the webhook of an event of the app, when the app has
// a webhook: it is sent once tx commits, never if it rolls back.
func (s *Service) emit(ctx context.Context, tx *db.Tx, appID, typ string, data any) error {
	if s.cfg.Webhooks == nil {
		return nil
	}
	var target string
	if err := tx.QueryRow(ctx, `SELECT webhook_url FROM connect_apps WHERE client_id = ?`, appID).Scan(&target); err != nil || target == "" {
		if errors.Is(err, db.ErrNotFound) {
			return nil
		}
		return err
	}
	return s.cfg.Webhooks.Enqueue(ctx, tx, appID, event{Type: typ, CreatedAt: s.now().Unix(), Data: data})
}

// otpExpiryKind is the outbox kind of the check, due when an OTP of an app
// with a webhook expires, of whether it expired unverified.
const otpExpiryKind = "otpexpiry"

// otpExpiry names one OTP: the message number tells it from the OTPs sent
// before and after it under the same reference.
type otpExpiry struct {
	AppID     string `json:"app_id"`
	UserID    string `json:"user_id"`
	Reference string `json:"reference"`
	Message   int64  `json:"message"`
}

// scheduleExpiry queues, in tx, the check of OTP o at its expiry, when its
// app has a webhook.
func (s *Service) scheduleExpiry(ctx context.Context, tx *db.Tx, app App, o otpExpiry, at time.Time) error {
	if s.cfg.Outbox == nil || app.WebhookURL == "" {
		return nil
	}
	return s.cfg.Outbox.EnqueueAt(ctx, tx, otpExpiryKind, o, at)
}

// expiryChecker is the outbox's deliverer of otpexpiry checks: an OTP still
// there once its time is up was never verified (a right code deletes it; a
// new one under the same reference or an unlink drops it), and its app is
// told.
type expiryChecker struct{ s *Service }

func (c expiryChecker) Deliver(ctx context.Context, m outbox.Message) error {
	var o otpExpiry
	if err := json.Unmarshal(m.Payload, &o); err != nil {
		return outbox.Permanent(fmt.Errorf("connect: otpexpiry %s: %w", m.ID, err))
	}
	s := c.s
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var expires int64
		var attempts int
		err := tx.QueryRow(ctx, `SELECT expires_at, attempts FROM otps
			WHERE app_id = ? AND external_user_id = ? AND reference = ? AND message_id = ?`,
			o.AppID, o.UserID, o.Reference, o.Message).Scan(&expires, &attempts)
		switch {
		case errors.Is(err, db.ErrNotFound):
			return nil
		case err != nil:
			return err
		case expires > s.now().UnixMilli():
			return outbox.RetryAfter(errors.New("connect: OTP not expired yet"), time.UnixMilli(expires).Sub(s.now()))
		}
		return s.emit(ctx, tx, o.AppID, EventOTPExpired, otpEventData{UserID: o.UserID, Reference: o.Reference,
			ExpiredAt: time.UnixMilli(expires).Unix(), Attempts: attempts})
	})
}

// EraseUser tells each app linked to the account that its link is gone,
// inside the transaction that deletes the account (accounts.Eraser); the
// links, their OTPs and the inbox go with the account's cascade.
func (s *Service) EraseUser(ctx context.Context, tx *db.Tx, userID string) error {
	type link struct{ appID, extID string }
	links, err := db.QueryAll(ctx, tx, func(rows *sql.Rows) (link, error) {
		var l link
		err := rows.Scan(&l.appID, &l.extID)
		return l, err
	}, `SELECT app_id, external_user_id FROM links WHERE user_id = ? ORDER BY app_id, external_user_id`, userID)
	if err != nil {
		return err
	}
	for _, l := range links {
		if err := s.emit(ctx, tx, l.appID, EventLinkUnlinked, linkEventData{UserID: l.extID, By: byDeleted}); err != nil {
			return err
		}
	}
	return nil
}
