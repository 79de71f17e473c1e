package connect

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/linkbox/linkbox/internal/db"
)

// Shown is what /api/link-account tells a linked app of an account, as
// the consent page describes it: the masked email and the phone's last
// four digits, each after the fingerprint the app also gets.
func Shown(email, phone string) (maskedEmail, phoneLast4 string) {
	_, maskedEmail, _ = strings.Cut(maskEmail(email), "-")
	_, phoneLast4, _ = strings.Cut(maskPhone(phone), "-")
	return maskedEmail, phoneLast4
}

// LinkApp returns the app and return URL of a link token, live, used or
// expired, so that a page saying the link is no longer valid can lead back
// to the app. Errors: NotFound "link_not_found" for an unknown token or a
// deleted app.
func (s *Service) LinkApp(ctx context.Context, token string) (LinkRequest, error) {
	if token == "" || len(token) > maxLinkToken {
		return LinkRequest{}, errLinkNotFound
	}
	var lr LinkRequest
	err := s.db.QueryRow(ctx, `SELECT t.app_id, c.name, t.return_url FROM link_tokens t JOIN clients c ON c.id = t.app_id
		WHERE t.token_hash = ? AND c.deleted_at IS NULL`, s.tokenHash(token)).Scan(&lr.AppID, &lr.AppName, &lr.ReturnURL)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return LinkRequest{}, errLinkNotFound
	case err != nil:
		return LinkRequest{}, fmt.Errorf("connect: read link token: %w", err)
	}
	return lr, nil
}
