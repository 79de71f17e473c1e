package connect

import (
	"context"
	"fmt"
	"net/http"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/inbox"
)

// handleNotification is POST /api/notification.
func (s *Service) handleNotification(w http.ResponseWriter, r *http.Request, app App) error {
	b, err := decode(w, r)
	if err != nil {
		return err
	}
	q, err := b.notification()
	if err != nil {
		return err
	}
	if err := s.notify(r.Context(), app, q); err != nil {
		return err
	}
	writeSuccess(w)
	return nil
}

// notify commits the message to the linked account's inbox, which
// announces it: the app hears "success" only once the message is stored.
func (s *Service) notify(ctx context.Context, app App, q notificationRequest) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		userID, err := linkedUser(ctx, tx, app.ID, q.UserID)
		if err != nil {
			return err
		}
		_, err = s.inbox.Add(ctx, tx, inbox.NewMessage{
			UserID: userID, Source: inbox.Source{Kind: inbox.SourceApp, ID: app.ID, Name: app.Name},
			Type: inbox.TypeNotification, Message: q.Message,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("connect: notify: %w", err)
	}
	return nil
}
