package accounts

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/secrets"
)

var cheap = HashParams{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func TestHashAndVerify(t *testing.T) {
	h := newHasher(cheap, 1)
	ctx := context.Background()
	a, err := h.hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := h.hash(ctx, "correct horse")
	if a == b {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct horsE": false, "": false} {
		if ok, err := h.verify(ctx, a, pw); ok != want || err != nil {
			t.Errorf("verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	p, _, _, err := decodeHash(a)
	if err != nil || p != cheap {
		t.Errorf("decodeHash = %+v, %v; want %+v", p, err, cheap)
	}
}

func TestDecodeHashRejectsMalformed(t *testing.T) {
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=x,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$",
	} {
		if _, _, _, err := decodeHash(bad); err == nil {
			t.Errorf("decodeHash(%q) succeeded", bad)
		}
	}
}

// TestHashingWaitsForASlot: with every slot taken, a hash waits, and gives
// up with 503 when its request ends, having computed nothing.
func TestHashingWaitsForASlot(t *testing.T) {
	h := newHasher(cheap, 2)
	h.sem <- struct{}{}
	h.sem <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := h.hash(ctx, "password"); !errs.Is(err, errs.Unavailable, "unavailable") {
		t.Fatalf("hash with no free slot: %v, want unavailable", err)
	}
	<-h.sem
	if _, err := h.hash(context.Background(), "password"); err != nil {
		t.Fatalf("hash with a free slot: %v", err)
	}
}

// TestUnknownPhonesCostOneHash: login verifies a dummy hash, of the same
// parameters as real ones, when the phone is unknown.
func TestUnknownPhonesCostOneHash(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, NewUser{Phone: "+25761234567", Password: "password1", FirstName: "A", LastName: "B", Email: "a@b.co"})
	if err != nil {
		t.Fatal(err)
	}
	stored, _, _, err := decodeHash(u.hash)
	if err != nil {
		t.Fatal(err)
	}
	if dummy, _, _, err := decodeHash(s.dummy); err != nil || dummy != stored {
		t.Errorf("dummy hash parameters %+v, %v; want those of real hashes, %+v", dummy, err, stored)
	}
	ip := netip.MustParseAddr("192.0.2.1")
	if _, err := s.CheckPassword(ctx, "+25761234568", "password1", Caller{IP: ip}); !errs.Is(err, errs.Unauthorized, "invalid_credentials") {
		t.Fatalf("unknown phone: %v, want invalid_credentials", err)
	}
	s.dummy = "corrupt"
	if _, err := s.CheckPassword(ctx, "+25761234568", "password1", Caller{IP: ip}); errs.From(err).Kind != errs.Internal {
		t.Errorf("unknown phone with a corrupt dummy hash: %v; want the verification to fail, proving it ran", err)
	}
}

func newService(t *testing.T) *Service {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t, dbtest.SQLite(t))
	keys, err := secrets.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Issuer: "https://linkbox.test", Hash: cheap, HashConcurrency: 1, Limiter: ratelimit.Unlimited{}}
	// No SMS queue: nothing here sends one.
	s, err := NewService(ctx, d, keys, nil, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
