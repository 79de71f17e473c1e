package clients_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/clients"
	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/secrets"
)

// Two kinds of client, as two surfaces would declare them.
var (
	supplier     = clients.Kind{Name: "supplier", Prefix: "sup_"}
	manufacturer = clients.Kind{Name: "manufacturer", Prefix: "mfr_"}
)

// start is the test clock's first reading.
var start = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// ip is the address the tests' requests come from, unless they say.
var ip = netip.MustParseAddr("192.0.2.1")

// record is the tests' surface record of a client: the client and a note
// from the surface's own table, test_notes.
type record struct {
	clients.Client
	Note string
}

var notes = clients.Table[record]{Name: "test_notes", Columns: "o.note", Scan: func(scan func(...any) (clients.Client, error)) (record, error) {
	var r record
	c, err := scan(&r.Note)
	r.Client = c
	return r, err
}}

// env is a fresh store with the surface's table, a settable clock and a
// limiter reading it.
type env struct {
	t       *testing.T
	db      *db.DB
	keys    *secrets.Keyring
	clock   *clocktest.Clock
	limiter ratelimit.Limiter
}

func newEnv(t *testing.T, url string) *env {
	t.Helper()
	d := dbtest.Open(t, url)
	if _, err := d.Exec(t.Context(), `CREATE TABLE test_notes (
		client_id TEXT PRIMARY KEY REFERENCES clients (id), note TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	keys, err := secrets.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: d, keys: keys, clock: clocktest.New(start)}
	e.limiter = ratelimit.NewMemory(e.clock.Now)
	return e
}

// clients returns the clients of kind over the env's store: each call is
// another instance, with a key cache of its own.
func (e *env) clients(kind clients.Kind) *clients.Clients[record] {
	return clients.New(e.db, e.keys, clients.Config[record]{Kind: kind, Table: notes, Limiter: e.limiter, Now: e.clock.Now})
}

// writeNote is the surface's Rows of a creation.
func writeNote(note string) clients.Rows {
	return func(ctx context.Context, tx *db.Tx, c clients.Client) error {
		_, err := tx.Exec(ctx, `INSERT INTO test_notes (client_id, note) VALUES (?, ?)`, c.ID, note)
		return err
	}
}

// eraseNote is the surface's Rows of a deletion.
func eraseNote(ctx context.Context, tx *db.Tx, c clients.Client) error {
	return db.ExecOne(ctx, tx, `DELETE FROM test_notes WHERE client_id = ?`, c.ID)
}

var errBoom = errors.New("boom")

func failing(context.Context, *db.Tx, clients.Client) error { return errBoom }

// create registers a client of c's kind noted "note".
func (e *env) create(c *clients.Clients[record], name string) (clients.Client, string) {
	e.t.Helper()
	cl, key, err := c.Create(e.t.Context(), name, writeNote("note of "+name))
	if err != nil {
		e.t.Fatalf("Create(%q): %v", name, err)
	}
	return cl, key
}

// wantClient fails unless key authenticates from ip as the client cl.
func (e *env) wantClient(what string, c *clients.Clients[record], from netip.Addr, key string, cl clients.Client) {
	e.t.Helper()
	r, err := c.Authenticate(e.t.Context(), from, key)
	if err != nil || !same(r.Client, cl) || r.Note != "note of "+cl.Name {
		e.t.Fatalf("%s: Authenticate = %+v, %v; want %+v and its note", what, r, err, cl)
	}
}

// same reports whether a and b are the same client, their times read in
// any location.
func same(a, b clients.Client) bool {
	return a.ID == b.ID && a.Name == b.Name && a.CreatedAt.Equal(b.CreatedAt)
}

// wantRefused fails unless key is refused from ip as an invalid key.
func (e *env) wantRefused(what string, c *clients.Clients[record], from netip.Addr, key string) {
	e.t.Helper()
	if r, err := c.Authenticate(e.t.Context(), from, key); !errors.Is(err, clients.ErrInvalidKey) {
		e.t.Fatalf("%s: Authenticate = %+v, %v; want ErrInvalidKey", what, r, err)
	}
}

// count runs a COUNT query.
func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(e.t.Context(), query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}
