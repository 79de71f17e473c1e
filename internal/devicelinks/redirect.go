package devicelinks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/linkbox/linkbox/internal/web"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// back sends the browser to the supplier's redirect_uri with the seed's
// result as query parameters, signed (see Sign).
func (s *Service) back(w http.ResponseWriter, r *http.Request, st oauthState, nox, failure string) error {
	v := url.Values{}
	v.Set("supplier_user_id", st.se.supplierUserID)
	v.Set("manufacturer", st.m.Brand)
	v.Set("connected_at", strconv.FormatInt(s.now().Unix(), 10))
	if failure == "" {
		v.Set("nox_user_id", nox)
		v.Set("connection_status", "connected")
	} else {
		v.Set("connection_status", "failed")
		v.Set("error", failure)
		if err := s.linkFailed(r.Context(), st.target(), failure); err != nil {
			return err
		}
	}
	sup, err := s.supplier(r.Context(), st.se.supplierID)
	if err != nil {
		return err
	}
	secret, err := s.webhookSecretOf(sup)
	if err != nil {
		return err
	}
	if secret != "" {
		sig, err := Sign(secret, v)
		if err != nil {
			return err
		}
		v.Set("signature", sig)
	}
	web.SeeOther(w, withQuery(st.se.redirectURI, v))
	return nil
}

// Sign is the signature of the redirect's result parameters v (all but
// signature): the lower-case hex of HMAC-SHA256, keyed with the bytes of
// the supplier's webhook secret (the base64 after "whsec_"), of
// v.Encode() — the parameters sorted by name, each name=value
// URL-encoded, joined by "&".
func Sign(secret string, v url.Values) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, webhooks.SecretPrefix))
	if err != nil {
		return "", fmt.Errorf("devicelinks: webhook secret: %w", err)
	}
	v = cloneValues(v)
	v.Del("signature")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(v.Encode()))
	return hex.EncodeToString(mac.Sum(nil)), nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// withQuery is target with v added to its query.
func withQuery(target string, v url.Values) string {
	if len(v) == 0 {
		return target
	}
	sep := "?"
	if u, err := url.Parse(target); err == nil && u.RawQuery != "" {
		sep = "&"
	}
	return target + sep + v.Encode()
}
