package inbox

import (
	"context"
	"fmt"
)

// Unread returns how many of userID's messages are unread: the count the
// inbox page puts in its title.
func (s *Service) Unread(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM inbox_messages WHERE user_id = ? AND read_at IS NULL`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("inbox: count unread: %w", err)
	}
	return n, nil
}
