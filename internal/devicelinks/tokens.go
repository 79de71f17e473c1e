package devicelinks

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"golang.org/x/oauth2"

	"github.com/linkbox/linkbox/internal/db"
)

// storedToken is a mapping's manufacturer token as the store keeps it.
type storedToken struct {
	m                  Manufacturer
	sealedAccess       string
	sealedRefresh      string
	tok                *oauth2.Token
	supplierID, userID string
}

// token returns a live access token of the supplier user's mapping and
// its manufacturer. A token expired, or within oauth2's 10 s of it, is
// refreshed through the manufacturer (golang.org/x/oauth2's TokenSource)
// and the new one sealed and stored, in place of the one it was refreshed
// from only: a relink meanwhile wins. Refreshes of one mapping are taken
// one at a time in this process; when another instance refreshed first
// (and the manufacturer rotated the refresh token), the token it stored is
// used.
func (s *Service) token(ctx context.Context, supplierID, userID string) (*oauth2.Token, Manufacturer, error) {
	mu := &s.refreshing[stripe(supplierID, userID)]
	mu.Lock()
	defer mu.Unlock()
	st, err := s.storedToken(ctx, supplierID, userID)
	if err != nil {
		return nil, Manufacturer{}, err
	}
	tok, err := s.refresh(ctx, st)
	if err != nil {
		again, rerr := s.storedToken(ctx, supplierID, userID)
		if rerr != nil || again.sealedAccess == st.sealedAccess {
			return nil, st.m, err
		}
		if tok, err = s.refresh(ctx, again); err != nil {
			return nil, st.m, err
		}
		st = again
	}
	return tok, st.m, nil
}

// refresh returns st's token, refreshed and stored when it has expired.
func (s *Service) refresh(ctx context.Context, st storedToken) (*oauth2.Token, error) {
	conf, err := s.oauthConfig(st.m)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tok, err := conf.TokenSource(ctx, st.tok).Token()
	if err != nil {
		return nil, fmt.Errorf("devicelinks: refresh the token of %s/%s at %s: %w", st.supplierID, st.userID, st.m.Brand, err)
	}
	if tok.AccessToken == st.tok.AccessToken {
		return tok, nil
	}
	refresh := st.sealedRefresh
	if tok.RefreshToken != st.tok.RefreshToken {
		refresh = s.keys.Seal(sealToken, []byte(tok.RefreshToken))
	}
	err = s.db.InTx(context.WithoutCancel(ctx), func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE devicelinks_mappings SET access_token = ?, refresh_token = ?, token_expiry = ?
			WHERE supplier_id = ? AND supplier_user_id = ? AND access_token = ?`,
			s.keys.Seal(sealToken, []byte(tok.AccessToken)), refresh, tok.Expiry.UnixMilli(), st.supplierID, st.userID, st.sealedAccess)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("devicelinks: store the refreshed token of %s/%s: %w", st.supplierID, st.userID, err)
	}
	return tok, nil
}

// storedToken reads and opens the mapping's token.
func (s *Service) storedToken(ctx context.Context, supplierID, userID string) (storedToken, error) {
	st := storedToken{supplierID: supplierID, userID: userID}
	var mid string
	var expiry int64
	err := s.db.QueryRow(ctx, `SELECT manufacturer_id, access_token, refresh_token, token_expiry FROM devicelinks_mappings
		WHERE supplier_id = ? AND supplier_user_id = ?`, supplierID, userID).Scan(&mid, &st.sealedAccess, &st.sealedRefresh, &expiry)
	if errors.Is(err, db.ErrNotFound) {
		return storedToken{}, errUserNotFound
	}
	if err != nil {
		return storedToken{}, err
	}
	if st.sealedAccess == "" {
		return storedToken{}, errNoToken
	}
	if st.m, err = s.manufacturer(ctx, mid); err != nil {
		return storedToken{}, err
	}
	st.tok = &oauth2.Token{TokenType: "Bearer", Expiry: time.UnixMilli(expiry)}
	access, err := s.keys.Open(sealToken, st.sealedAccess)
	if err != nil {
		return storedToken{}, err
	}
	st.tok.AccessToken = string(access)
	if st.sealedRefresh != "" {
		refresh, err := s.keys.Open(sealToken, st.sealedRefresh)
		if err != nil {
			return storedToken{}, err
		}
		st.tok.RefreshToken = string(refresh)
	}
	return st, nil
}

// refreshStripes bounds the locks that keep a mapping's refreshes apart.
const refreshStripes = 64

func stripe(supplierID, userID string) int {
	h := fnv.New32a()
	h.Write([]byte(supplierID))
	h.Write([]byte{0})
	h.Write([]byte(userID))
	return int(h.Sum32() % refreshStripes)
}
