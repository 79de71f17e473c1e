package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test vector published with the Standard Webhooks specification.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func mustSigner(t testing.TB, secret string) *Signer {
	t.Helper()
	s, err := NewSigner(secret)
	if err != nil {
		t.Fatalf("NewSigner(%q): %v", secret, err)
	}
	return s
}

func newSecret(t testing.TB) string {
	t.Helper()
	secret, err := NewSecret()
	if err != nil {
		t.Fatalf("NewSecret: %v", err)
	}
	return secret
}

func TestSignMatchesSpecVector(t *testing.T) {
	s := mustSigner(t, vectorSecret)
	got := s.Sign(vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if got != vectorSignature {
		t.Errorf("Sign = %q, want %q", got, vectorSignature)
	}
}

func TestVerifyAcceptsSpecVector(t *testing.T) {
	s := mustSigner(t, vectorSecret)
	h := http.Header{}
	h.Set(HeaderID, vectorID)
	h.Set(HeaderTimestamp, strconv.Itoa(vectorTimestamp))
	h.Set(HeaderSignature, vectorSignature)
	if err := s.Verify(h, []byte(vectorBody), time.Unix(vectorTimestamp, 0)); err != nil {
		t.Errorf("Verify: %v, want nil", err)
	}
}

func TestSignMatchesIndependentHMAC(t *testing.T) {
	secret := newSecret(t)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("decode secret: %v", err)
	}
	ts := time.Unix(1700000000, 999_000_000) // sub-second part must be dropped
	body := []byte(`{"id":"sms_1","to":"+15550100","body":"code 123456"}`)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("sms_1.1700000000." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))

	if got := mustSigner(t, secret).Sign("sms_1", ts, body); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestNewSecret(t *testing.T) {
	a, b := newSecret(t), newSecret(t)
	if a == b {
		t.Errorf("two NewSecret calls both returned %q", a)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	if !strings.HasPrefix(a, "whsec_") || err != nil || len(key) != 32 {
		t.Errorf("NewSecret = %q (decode err %v, %d bytes), want whsec_ + base64 of 32 bytes", a, err, len(key))
	}
	mustSigner(t, a)
}

func TestNewSignerRejectsMalformedSecrets(t *testing.T) {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	tests := []struct {
		name, secret, wantErr string
	}{
		{"empty", "", "must start with"},
		{"no prefix", b64(32), "must start with"},
		{"wrong prefix", "whsek_" + b64(32), "must start with"},
		{"prefix only", "whsec_", "0 bytes"},
		{"not base64", "whsec_not*base64!", "not valid base64"},
		{"url alphabet", "whsec_" + strings.Repeat("_-", 16), "not valid base64"},
		{"too short", "whsec_" + b64(23), "23 bytes"},
		{"too long", "whsec_" + b64(65), "65 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(tt.secret)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewSigner(%q) = %v, %v; want error containing %q", tt.secret, s, err, tt.wantErr)
			}
		})
	}
	for _, n := range []int{24, 64} {
		mustSigner(t, "whsec_"+b64(n))
	}
}

func TestVerify(t *testing.T) {
	s := mustSigner(t, newSecret(t))
	other := mustSigner(t, newSecret(t))
	now := time.Unix(1700000000, 0)
	body := []byte(`{"to":"+15550100"}`)
	signed := func(signer *Signer, ts time.Time) http.Header {
		h := http.Header{}
		signer.SetHeaders(h, "msg_1", ts, body)
		return h
	}
	with := func(h http.Header, key, value string) http.Header {
		h.Set(key, value)
		return h
	}
	without := func(key string) http.Header {
		h := signed(s, now)
		h.Del(key)
		return h
	}
	good := signed(s, now).Get(HeaderSignature)
	bad := signed(other, now).Get(HeaderSignature)

	tests := []struct {
		name    string
		h       http.Header
		body    string
		wantErr error
	}{
		{"valid", signed(s, now), string(body), nil},
		{"4m59s old", signed(s, now.Add(-Tolerance+time.Second)), string(body), nil},
		{"exactly tolerance in future", signed(s, now.Add(Tolerance)), string(body), nil},
		{"tampered body", signed(s, now), `{"to":"+15550199"}`, ErrSignature},
		{"empty body", signed(s, now), "", ErrSignature},
		{"wrong secret", signed(other, now), string(body), ErrSignature},
		{"other id", with(signed(s, now), HeaderID, "msg_2"), string(body), ErrSignature},
		{"too old", signed(s, now.Add(-Tolerance-time.Second)), string(body), ErrTimestamp},
		{"too far in future", signed(s, now.Add(Tolerance+time.Second)), string(body), ErrTimestamp},
		{"timestamp not a number", with(signed(s, now), HeaderTimestamp, "yesterday"), string(body), ErrTimestamp},
		{"timestamp in milliseconds", with(signed(s, now), HeaderTimestamp, "1700000000000"), string(body), ErrTimestamp},
		{"timestamp re-formatted", with(signed(s, now), HeaderTimestamp, "+1700000000"), string(body), ErrSignature},
		{"no id", without(HeaderID), string(body), ErrMissingHeaders},
		{"no timestamp", without(HeaderTimestamp), string(body), ErrMissingHeaders},
		{"no signature", without(HeaderSignature), string(body), ErrMissingHeaders},
		{"several, one good", with(signed(s, now), HeaderSignature, bad+" "+good), string(body), nil},
		{"several, none good", with(signed(s, now), HeaderSignature, bad+" "+bad), string(body), ErrSignature},
		{"good one under v2", with(signed(s, now), HeaderSignature, "v2,"+strings.TrimPrefix(good, "v1,")), string(body), ErrSignature},
		{"unknown versions skipped", with(signed(s, now), HeaderSignature, "v1a,xyz v2 "+good), string(body), nil},
		{"no comma", with(signed(s, now), HeaderSignature, "v1"+strings.TrimPrefix(good, "v1,")), string(body), ErrSignature},
		{"bad base64", with(signed(s, now), HeaderSignature, "v1,***"), string(body), ErrSignature},
		{"truncated signature", with(signed(s, now), HeaderSignature, good[:len(good)-8]), string(body), ErrSignature},
		{"only spaces", with(signed(s, now), HeaderSignature, "   "), string(body), ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Verify(tt.h, []byte(tt.body), now)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestSetHeaders(t *testing.T) {
	s := mustSigner(t, vectorSecret)
	h := http.Header{}
	s.SetHeaders(h, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	want := map[string]string{
		"Webhook-Id":        vectorID,
		"Webhook-Timestamp": strconv.Itoa(vectorTimestamp),
		"Webhook-Signature": vectorSignature,
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	s := mustSigner(b, vectorSecret)
	body := []byte(strings.Repeat("x", 256))
	ts := time.Unix(vectorTimestamp, 0)
	for b.Loop() {
		s.Sign(vectorID, ts, body)
	}
}

func BenchmarkVerify(b *testing.B) {
	s := mustSigner(b, vectorSecret)
	body := []byte(strings.Repeat("x", 256))
	ts := time.Unix(vectorTimestamp, 0)
	h := http.Header{}
	s.SetHeaders(h, vectorID, ts, body)
	for b.Loop() {
		if err := s.Verify(h, body, ts); err != nil {
			b.Fatal(err)
		}
	}
}
