package accounts_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/golang-jwt/jwt/v5"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/dbtest"
)

func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		id := e.active(phone(1))
		access1, rt1 := e.login(phone(1))
		_, otherSession := e.login(phone(1))
		m := e.refresh(rt1).want(t, http.StatusOK, "")
		wantKeys(t, "refresh answer", m, "access_token", "token_type", "expires_in", "refresh_token", "user")
		rt2, access2 := m["refresh_token"].(string), m["access_token"].(string)
		if rt2 == rt1 || access2 == access1 || m["user"].(map[string]any)["id"] != id {
			t.Fatalf("refresh gave %v; want new tokens for %s", m, id)
		}
		e.me(access2).want(t, http.StatusOK, "")
		e.clock.Advance(31 * time.Second) // past the rotation's grace
		e.refresh(rt1).want(t, http.StatusUnauthorized, "refresh_token_reused")
		e.refresh(rt2).want(t, http.StatusUnauthorized, "invalid_token") // its family is revoked
		e.refresh(otherSession).want(t, http.StatusOK, "")               // another family lives on
	})
}

// TestConcurrentRefreshesShareTheSuccessor: two tabs, or a retry, refresh
// one token at once; every one of them gets the same successor, which then
// works, instead of one winner whose session the losers revoke.
func TestConcurrentRefreshesShareTheSuccessor(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.active(phone(1))
		_, rt := e.login(phone(1))
		const n = 10
		answers := make(chan resp, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { answers <- e.refresh(rt) })
		}
		wg.Wait()
		close(answers)
		successors := map[string]int{}
		for r := range answers {
			m := r.want(t, http.StatusOK, "")
			successors[m["refresh_token"].(string)]++
			e.me(m["access_token"].(string)).want(t, http.StatusOK, "")
		}
		if len(successors) != 1 {
			t.Fatalf("successors %v, want one shared by the %d refreshes", successors, n)
		}
		for next := range successors {
			e.refresh(next).want(t, http.StatusOK, "")
		}
	})
}

// TestReplayWithinTheGrace: a token replayed within 30 s of its rotation
// returns the same successor; after that, it revokes the family, successor
// included.
func TestReplayWithinTheGrace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.active(phone(1))
		_, rt1 := e.login(phone(1))
		rt2 := e.refresh(rt1).want(t, http.StatusOK, "")["refresh_token"].(string)
		e.clock.Advance(29 * time.Second)
		if again := e.refresh(rt1).want(t, http.StatusOK, "")["refresh_token"]; again != rt2 {
			t.Fatalf("replay within the grace gave %v, want the successor %s", again, rt2)
		}
		e.clock.Advance(2 * time.Second)
		e.refresh(rt1).want(t, http.StatusUnauthorized, "refresh_token_reused")
		e.refresh(rt2).want(t, http.StatusUnauthorized, "invalid_token")
	})
}

func TestRefreshTokenExpires(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.active(phone(1))
		_, rt := e.login(phone(1))
		e.clock.Advance(30 * 24 * time.Hour)
		e.refresh(rt).want(t, http.StatusUnauthorized, "token_expired")
		e.login(phone(1))
		if err := e.svc.Sweep(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := e.counts()["refresh_tokens"]; n != 1 {
			t.Errorf("%d refresh tokens stored after a sweep, want 1: the expired one is gone", n)
		}
	})
}

func TestLogoutRevokesTheFamily(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.active(phone(1))
		_, rt1 := e.login(phone(1))
		rt2 := e.refresh(rt1).want(t, http.StatusOK, "")["refresh_token"].(string)
		_, other := e.login(phone(1))
		e.post("/v1/auth/logout", map[string]string{"refresh_token": rt1}).want(t, http.StatusNoContent, "")
		e.refresh(rt2).want(t, http.StatusUnauthorized, "invalid_token")
		e.post("/v1/auth/logout", map[string]string{"refresh_token": rt2}).want(t, http.StatusNoContent, "")
		e.refresh(other).want(t, http.StatusOK, "")
	})
}

// forge returns tokens that must all be refused, made from a genuine one.
func forge(t *testing.T, genuine string, pub ed25519.PublicKey) map[string]string {
	parts := strings.Split(genuine, ".")
	var header map[string]any
	decodeSegment(t, parts[0], &header)
	var claims jwt.MapClaims
	decodeSegment(t, parts[1], &claims)
	sig := []byte(parts[2])
	sig[len(sig)/2] ^= 1
	claims["role"] = "admin"
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	sign := func(m jwt.SigningMethod, key any, kid any) string {
		tok := jwt.NewWithClaims(m, claims)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	return map[string]string{
		"flipped signature bit":         parts[0] + "." + parts[1] + "." + string(sig),
		"payload made admin":            parts[0] + "." + encodeSegment(t, claims) + "." + parts[2],
		"another key, same kid":         sign(jwt.SigningMethodEdDSA, otherKey, header["kid"]),
		"unknown kid":                   sign(jwt.SigningMethodEdDSA, otherKey, "key_unknown"),
		"HS256 keyed by the public key": sign(jwt.SigningMethodHS256, []byte(pub), header["kid"]),
		"alg none":                      none,
		"two segments":                  parts[0] + "." + parts[1],
	}
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func encodeSegment(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestForgedAndExpiredAccessTokensAreRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.active(phone(1))
		access, _ := e.login(phone(1))
		keys := jwks(t, e)
		for name, tok := range forge(t, access, keys.Keys[0].Key.(ed25519.PublicKey)) {
			if r := e.me(tok); r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "invalid_token") {
				t.Errorf("%s: %d %s, want 401 invalid_token", name, r.status, r.body)
			}
		}
		elsewhere := e.cfg
		elsewhere.Issuer = "https://elsewhere.test"
		svc, err := accounts.NewService(context.Background(), e.d, e.keys, e.outbx, elsewhere, quiet)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := svc.IssueSession(context.Background(), userIDOf(t, e, access))
		if err != nil {
			t.Fatal(err)
		}
		e.me(pair.AccessToken).want(t, http.StatusUnauthorized, "invalid_token")
		e.clock.Advance(time.Hour)
		e.me(access).want(t, http.StatusUnauthorized, "token_expired")
	})
}

func userIDOf(t *testing.T, e *env, access string) string {
	t.Helper()
	return e.me(access).want(t, http.StatusOK, "")["id"].(string)
}

// jwks fetches and parses /.well-known/jwks.json with go-jose.
func jwks(t *testing.T, e *env) jose.JSONWebKeySet {
	t.Helper()
	r := e.do("GET", "/.well-known/jwks.json", "")
	m := r.want(t, http.StatusOK, "")
	for _, k := range m["keys"].([]any) {
		wantKeys(t, "jwk", k.(map[string]any), "kty", "crv", "x", "kid", "alg", "use")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.body, &set); err != nil {
		t.Fatalf("go-jose cannot read the JWKS %s: %v", r.body, err)
	}
	return set
}

// verifyWithJose checks access against the served JWKS with go-jose, and
// returns its kid.
func verifyWithJose(t *testing.T, e *env, access string) string {
	t.Helper()
	set := jwks(t, e)
	tok, err := josejwt.ParseSigned(access, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatalf("go-jose: %v", err)
	}
	kid := tok.Headers[0].KeyID
	keys := set.Key(kid)
	if len(keys) != 1 || keys[0].Algorithm != "EdDSA" || keys[0].Use != "sig" {
		t.Fatalf("JWKS has %+v for kid %q, want one EdDSA signing key", keys, kid)
	}
	var std josejwt.Claims
	var own struct {
		Role   string `json:"role"`
		Status string `json:"status"`
	}
	if err := tok.Claims(keys[0].Key, &std, &own); err != nil {
		t.Fatalf("go-jose: signature: %v", err)
	}
	if err := std.ValidateWithLeeway(josejwt.Expected{Issuer: issuer, Time: e.clock.Now()}, 0); err != nil {
		t.Fatalf("go-jose: claims: %v", err)
	}
	if !userID.MatchString(std.Subject) || std.ID == "" || std.IssuedAt == nil ||
		std.Expiry.Time().Sub(std.IssuedAt.Time()) != time.Hour || own.Role != "user" || own.Status != "active" {
		t.Errorf("claims %+v %+v, want sub, jti, iat, exp = iat + 1h, role user, status active", std, own)
	}
	return kid
}

func TestAccessTokenVerifiesWithGoJose(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.active(phone(1))
		access, _ := e.login(phone(1))
		verifyWithJose(t, e, access)
	})
}

func TestKeyRotation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.active(phone(1))
		old, _ := e.login(phone(1))
		oldKid := verifyWithJose(t, e, old)
		kid, err := e.svc.RotateKey(context.Background())
		if err != nil || kid == oldKid {
			t.Fatalf("RotateKey = %q, %v; want a new kid", kid, err)
		}
		fresh, _ := e.login(phone(1))
		if got := verifyWithJose(t, e, fresh); got != kid {
			t.Errorf("new token kid %q, want %q", got, kid)
		}
		verifyWithJose(t, e, old)
		e.me(old).want(t, http.StatusOK, "")
		e.clock.Advance(time.Hour + time.Minute)
		if set := jwks(t, e); len(set.Keys) != 1 || set.Keys[0].KeyID != kid {
			t.Errorf("JWKS %+v once the old key's tokens expired, want only %s", set.Keys, kid)
		}
	})
}

// TestRotationByAnotherProcess: "linkbox keys rotate" runs beside the
// server; the server signs with the new key within a minute, and verifies
// tokens of a key it has not read yet at once.
func TestRotationByAnotherProcess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		id := e.active(phone(1))
		access, _ := e.login(phone(1))
		oldKid := verifyWithJose(t, e, access)
		cli := e.service()
		rotate := func() string {
			kid, err := cli.RotateKey(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return kid
		}
		kid := rotate()
		access, _ = e.login(phone(1))
		if got := verifyWithJose(t, e, access); got != oldKid {
			t.Errorf("kid %q right after the rotation, want the cached %q", got, oldKid)
		}
		e.clock.Advance(time.Minute)
		access, _ = e.login(phone(1))
		if got := verifyWithJose(t, e, access); got != kid {
			t.Errorf("kid %q a minute after the rotation, want %q", got, kid)
		}
		rotate()
		pair, err := cli.IssueSession(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		e.me(pair.AccessToken).want(t, http.StatusOK, "")
	})
}

func TestKeysPersistAcrossRestarts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.active(phone(1))
		access, _ := e.login(phone(1))
		restarted := e.service()
		if _, err := restarted.Authenticate(bearerRequest(access)); err != nil {
			t.Errorf("a restarted service refuses a token of the first: %v", err)
		}
	})
}

func bearerRequest(access string) *http.Request {
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+access)
	return r
}

func TestHS256(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, func(c *accounts.Config) { c.Algorithm = accounts.AlgHS256 })
		id := e.active(phone(1))
		access, _ := e.login(phone(1))
		var header map[string]any
		decodeSegment(t, strings.Split(access, ".")[0], &header)
		if header["alg"] != "HS256" || header["kid"] == "" {
			t.Errorf("header %v, want alg HS256 and a kid", header)
		}
		p, err := e.svc.Authenticate(bearerRequest(access))
		if err != nil || p.UserID != id || p.Role != "user" || p.Status != "active" || !strings.HasPrefix(p.Session, "fam_") ||
			!p.Expires.Equal(e.clock.Now().Add(time.Hour)) {
			t.Errorf("Authenticate = %+v, %v", p, err)
		}
		if body := string(e.do("GET", "/.well-known/jwks.json", "").body); body != "{\"keys\":[]}\n" {
			t.Errorf("JWKS %q, want no keys", body)
		}
		eddsa := e.cfg
		eddsa.Algorithm = accounts.AlgEdDSA
		svc, err := accounts.NewService(context.Background(), e.d, e.keys, e.outbx, eddsa, quiet)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := svc.IssueSession(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		e.me(pair.AccessToken).want(t, http.StatusUnauthorized, "invalid_token")
	})
}
