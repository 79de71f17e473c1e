// Package clients is the home of API clients of every kind (Connect's apps,
// and next Device links' suppliers and manufacturers): the client row, its
// API keys stored as keyed hashes with a 24-hour overlap on rotation, the
// key cache, authentication with the wrong-key limit, and the admin
// operations behind the command line.
//
// It knows nothing of the surfaces. Each one declares its Kind and a Table
// of what is its own about a client (an app's return URLs, a supplier's
// redirect URIs), keyed by client_id: every read of a client joins it, so
// that a key is found with everything the surface needs in one query, and
// the cache holds the surface's own record, R. Each surface builds one
// Clients of its kind and renders the errors in its own shape.
package clients

import (
	"context"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/secrets"
)

// Kind is a kind of API client, as the surface owning it declares it.
type Kind struct {
	Name   string // the clients.kind column, and the noun of error messages: "app"
	Prefix string // of its ids: "app_"
}

// Client is a live API client, of the kind of the Clients that returned it.
type Client struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Table is the surface's table of its clients' own columns, with client_id
// as its primary key and foreign key to clients.
type Table[R any] struct {
	Name string // "connect_apps"
	// Columns are read from the table, aliased o: "o.return_urls, o.otp_ttl_ms".
	Columns string
	// Scan makes the surface's record of a client: it calls scan once, with
	// a destination for each of Columns in order, and gets the client back
	// (or the error, db.ErrNotFound included, to return as it is).
	Scan func(scan func(dest ...any) (Client, error)) (R, error)
}

// Rows writes or erases the surface's own rows of client c inside the
// transaction that creates or deletes it.
type Rows func(ctx context.Context, tx *db.Tx, c Client) error

// Config tunes a Clients.
type Config[R any] struct {
	Kind  Kind
	Table Table[R]
	// Limiter enforces the wrong-key limit (ratelimit.Unlimited{} when
	// LINKBOX_RATE_LIMITS=off).
	Limiter ratelimit.Limiter
	Now     func() time.Time // nil: time.Now
}

// Clients is the API clients of one kind, R being their surface's record.
type Clients[R any] struct {
	db      *db.DB
	keys    *secrets.Keyring
	kind    Kind
	table   Table[R]
	limiter ratelimit.Limiter
	clock   func() time.Time
	cache   *keyCache[R]
	// byKey, byID and list are the reads joining the surface's table,
	// written once here from its name and columns.
	byKey, byID, list string
	notFound          *errs.Error
}

// New returns the clients of cfg.Kind over d, their keys hashed with keys.
func New[R any](d *db.DB, keys *secrets.Keyring, cfg Config[R]) *Clients[R] {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	own := ` JOIN ` + cfg.Table.Name + ` o ON o.client_id = c.id`
	return &Clients[R]{
		db: d, keys: keys, kind: cfg.Kind, table: cfg.Table, limiter: cfg.Limiter, clock: cfg.Now,
		cache: newKeyCache[R](keyCacheTTL, keyCacheSize),
		byKey: `SELECT c.id, c.name, c.created_at, k.expires_at, ` + cfg.Table.Columns + `
			FROM client_keys k JOIN clients c ON c.id = k.client_id` + own + `
			WHERE k.key_hash = ? AND c.kind = ? AND c.deleted_at IS NULL`,
		byID: `SELECT c.id, c.name, c.created_at, ` + cfg.Table.Columns + `
			FROM clients c` + own + `
			WHERE c.id = ? AND c.kind = ? AND c.deleted_at IS NULL`,
		list: `SELECT c.id, c.name, c.created_at, ` + cfg.Table.Columns + `
			FROM clients c` + own + `
			WHERE c.kind = ? AND c.deleted_at IS NULL ORDER BY c.created_at, c.id`,
		notFound: errs.E(errs.NotFound, cfg.Kind.Name+"_not_found", "No "+cfg.Kind.Name+" has this id"),
	}
}

// now is the clock, in the millisecond precision of the store.
func (c *Clients[R]) now() time.Time {
	return c.clock().Truncate(time.Millisecond)
}

// scan reads a row of byKey, byID or list: the client's columns, then extra, then
// the surface's. It returns the client beside its record.
func (c *Clients[R]) scan(row interface{ Scan(...any) error }, extra ...any) (Client, R, error) {
	var cl Client
	r, err := c.table.Scan(func(dest ...any) (Client, error) {
		var created int64
		all := append(append([]any{&cl.ID, &cl.Name, &created}, extra...), dest...)
		if err := row.Scan(all...); err != nil {
			return Client{}, err
		}
		cl.CreatedAt = time.UnixMilli(created)
		return cl, nil
	})
	return cl, r, err
}
