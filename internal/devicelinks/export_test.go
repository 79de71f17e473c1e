package devicelinks

import "context"

// Rows counts the rows of a table of the surface, for tests that check a
// refused request stored nothing.
func (s *Service) Rows(ctx context.Context, table string) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n)
	return n, err
}
