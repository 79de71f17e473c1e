// Package idempotency answers a retried request with the answer of its
// first try: the Idempotency-Key header, within a scope (the account that
// sent it), names the request. The same key with the same body replays the
// first answer, without running the handler again, also when the retry
// arrives while the first try is still running (it waits for it); the same
// key with another body is refused (422). A 5xx answer is not kept, so the
// request may be retried. Keys are kept for a day (Sweep).
//
// A handler whose request writes to the store keeps its answer in the same
// transaction as its writes (Save): a crash after the commit then leaves
// the answer to replay, never effects a retry would repeat. Other answers
// are stored once the handler returns.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ids"
)

// Header is the request header naming the request.
const Header = "Idempotency-Key"

const (
	ttl      = 24 * time.Hour
	maxKey   = 255
	waitStep = 20 * time.Millisecond
	waitMax  = 10 * time.Second
	// inFlightTTL is how long an unfinished first try (its process died)
	// holds its key before a retry may run again.
	inFlightTTL = time.Minute
)

// Errors, rendered by the surface.
var (
	ErrMismatch = errs.E(errs.Invalid, "idempotency_mismatch", "This Idempotency-Key was used with another request body")
	ErrInFlight = errs.E(errs.Conflict, "idempotency_in_flight", "A request with this Idempotency-Key is still in progress")
	ErrBadKey   = errs.E(errs.Invalid, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable characters")
)

// Store keeps the keys.
type Store struct {
	db     *db.DB
	now    func() time.Time
	render func(http.ResponseWriter, *http.Request, error)
}

// New returns a Store over d; render writes its errors in the surface's
// shape.
func New(d *db.DB, now func() time.Time, render func(http.ResponseWriter, *http.Request, error)) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: d, now: now, render: render}
}

// Middleware runs next for a request of scope once per Idempotency-Key; a
// request without the header runs as usual.
func (s *Store) Middleware(scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(Header)
		if key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !validKey(key) {
			s.render(w, r, ErrBadKey)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httpx.MaxBody))
		if err != nil {
			s.render(w, r, errs.E(errs.TooLarge, "body_too_large", "Request body too large"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])
		c := &claim{scope: scope, key: key, token: ids.Token("", 16)}
		first, err := s.claim(r.Context(), c, hash)
		if err != nil {
			s.render(w, r, err)
			return
		}
		if !first {
			s.replay(w, r, scope, key, hash)
			return
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), claimKey{}, c)))
		if c.saved {
			return // kept with the request's writes
		}
		ctx := context.WithoutCancel(r.Context())
		if rec.status >= 500 {
			s.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND claim = ?`, scope, key, c.token)
			return
		}
		s.db.Exec(ctx, `UPDATE idempotency_keys SET status = ?, response = ? WHERE scope = ? AND idem_key = ? AND claim = ? AND status = 0`,
			rec.status, rec.header()+"\n"+rec.body.String(), scope, key, c.token)
	})
}

// claim is a first try's hold on its key; token tells it from the claim of
// a retry that took over.
type claim struct {
	scope, key, token string
	saved             bool
}

type claimKey struct{}

// Save keeps the answer (status, Content-Type and body) of the request of
// ctx inside tx, the transaction of the request's writes, which must then
// write exactly that answer. It does nothing for a request without an
// Idempotency-Key. It fails with ErrInFlight when the key's claim was taken
// over by a retry (this try outlived inFlightTTL): tx must then roll back,
// or both tries would have their effects.
func Save(ctx context.Context, tx *db.Tx, status int, contentType string, body []byte) error {
	c, _ := ctx.Value(claimKey{}).(*claim)
	if c == nil {
		return nil
	}
	err := db.ExecOne(ctx, tx, `UPDATE idempotency_keys SET status = ?, response = ? WHERE scope = ? AND idem_key = ? AND claim = ? AND status = 0`,
		status, contentType+"\n"+string(body), c.scope, c.key, c.token)
	if err == db.ErrNotFound {
		return ErrInFlight
	}
	if err != nil {
		return err
	}
	tx.AfterCommit(func() { c.saved = true })
	return nil
}

// claim records the key as in flight under c's token; false when it was
// already there.
func (s *Store) claim(ctx context.Context, c *claim, hash string) (bool, error) {
	now := s.now().UnixMilli()
	first := false
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		// An in-flight claim whose first try died is taken over.
		if _, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND status = 0 AND created_at < ?`,
			c.scope, c.key, now-inFlightTTL.Milliseconds()); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (scope, idem_key, body_hash, status, response, created_at, claim)
			VALUES (?, ?, ?, 0, '', ?, ?) ON CONFLICT (scope, idem_key) DO NOTHING`, c.scope, c.key, hash, now, c.token)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	})
	return first, err
}

// replay waits for the first try to finish and writes its answer.
func (s *Store) replay(w http.ResponseWriter, r *http.Request, scope, key, hash string) {
	deadline := time.Now().Add(waitMax)
	for {
		var stored, response string
		var status int
		err := s.db.QueryRow(r.Context(), `SELECT body_hash, status, response FROM idempotency_keys WHERE scope = ? AND idem_key = ?`,
			scope, key).Scan(&stored, &status, &response)
		switch {
		case err == db.ErrNotFound:
			s.render(w, r, ErrInFlight) // the first try failed with a 5xx: retry
			return
		case err != nil:
			s.render(w, r, err)
			return
		case stored != hash:
			s.render(w, r, ErrMismatch)
			return
		case status != 0:
			ct, body, _ := strings.Cut(response, "\n")
			if ct != "" {
				w.Header().Set("Content-Type", ct)
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(status)
			io.WriteString(w, body)
			return
		case time.Now().After(deadline):
			s.render(w, r, ErrInFlight)
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(waitStep):
		}
	}
}

// Sweep deletes the keys older than a day.
func (s *Store) Sweep(ctx context.Context) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, s.now().Add(-ttl).UnixMilli())
		return err
	})
}

func validKey(k string) bool {
	if len(k) > maxKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// recorder keeps a copy of what the handler writes.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) header() string { return r.ResponseWriter.Header().Get("Content-Type") }
