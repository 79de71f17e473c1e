package devicelinks

import "context"

// Rows counts the rows of a table of the surface, for tests that check a
// refused request stored nothing.
func (s *Service) Rows(ctx context.Context, table string) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n)
	return n, err
}

// AccessToken is the live access token of the supplier user's mapping,
// refreshed (and stored) when it has expired.
func (s *Service) AccessToken(ctx context.Context, supplierID, userID string) (string, error) {
	tok, _, err := s.token(ctx, supplierID, userID)
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// StoredTokens are the access and refresh tokens the mapping holds, opened.
func (s *Service) StoredTokens(ctx context.Context, supplierID, userID string) (access, refresh string, err error) {
	st, err := s.storedToken(ctx, supplierID, userID)
	if err != nil {
		return "", "", err
	}
	return st.tok.AccessToken, st.tok.RefreshToken, nil
}
