package clients

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ids"
)

// Create registers a client named name and returns it with its API key,
// which is shown only now: the store keeps its keyed hash. own writes the
// surface's row of the client in the same transaction; its error undoes
// the creation and is returned.
func (c *Clients[R]) Create(ctx context.Context, name string, own Rows) (Client, string, error) {
	name = strings.TrimSpace(name)
	if err := checkName(name); err != nil {
		return Client{}, "", err
	}
	cl := Client{ID: ids.New(c.kind.Prefix), Name: name, CreatedAt: c.now()}
	key, hash := c.newKey()
	err := c.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO clients (id, kind, name, created_at) VALUES (?, ?, ?, ?)`,
			cl.ID, c.kind.Name, cl.Name, cl.CreatedAt.UnixMilli()); err != nil {
			return err
		}
		if err := insertKey(ctx, tx, hash, cl.ID, cl.CreatedAt); err != nil {
			return err
		}
		return own(ctx, tx, cl)
	})
	if err != nil {
		return Client{}, "", fmt.Errorf("clients: create %s: %w", c.kind.Name, err)
	}
	return cl, key, nil
}

// List returns the records of the clients not deleted, oldest first.
func (c *Clients[R]) List(ctx context.Context) ([]R, error) {
	list, err := db.QueryAll(ctx, c.db, func(rows *sql.Rows) (R, error) {
		_, r, err := c.scan(rows)
		return r, err
	}, c.list, c.kind.Name)
	if err != nil {
		return nil, fmt.Errorf("clients: list %s: %w", c.kind.Name, err)
	}
	return list, nil
}

// Update renames the client, unless name is "", and has own change the
// surface's rows of it, in one transaction; its keys stay. Instances see the
// change as their key cache renews, within keyCacheTTL.
func (c *Clients[R]) Update(ctx context.Context, id, name string, own Rows) error {
	name = strings.TrimSpace(name)
	if name != "" {
		if err := checkName(name); err != nil {
			return err
		}
	}
	err := c.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		cl := Client{ID: id}
		var created int64
		err := tx.QueryRow(ctx, `UPDATE clients SET name = CASE WHEN ? = '' THEN name ELSE ? END
			WHERE id = ? AND kind = ? AND deleted_at IS NULL RETURNING name, created_at`,
			name, name, id, c.kind.Name).Scan(&cl.Name, &created)
		if errors.Is(err, db.ErrNotFound) {
			return c.notFound
		}
		if err != nil {
			return err
		}
		cl.CreatedAt = time.UnixMilli(created)
		if err := own(ctx, tx, cl); err != nil {
			return err
		}
		tx.AfterCommit(func() { c.cache.evict(id) })
		return nil
	})
	if err != nil {
		return fmt.Errorf("clients: update %s: %w", id, err)
	}
	return nil
}

// Get returns the record of the live client id, read from the store (not
// the key cache); the kind's not-found error when there is none.
func (c *Clients[R]) Get(ctx context.Context, id string) (R, error) {
	_, r, err := c.scan(c.db.QueryRow(ctx, c.byID, id, c.kind.Name))
	if errors.Is(err, db.ErrNotFound) {
		return r, c.notFound
	}
	if err != nil {
		return r, fmt.Errorf("clients: get %s: %w", id, err)
	}
	return r, nil
}

// RotateKey gives the client a new API key, returned only now. The key it
// replaces keeps working for 24 hours, so the client can roll it out; keys
// replaced before and expired since are deleted.
func (c *Clients[R]) RotateKey(ctx context.Context, id string) (string, error) {
	key, hash := c.newKey()
	now := c.now()
	err := c.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var n int
		err := tx.QueryRow(ctx, `SELECT 1 FROM clients WHERE id = ? AND kind = ? AND deleted_at IS NULL`, id, c.kind.Name).Scan(&n)
		if errors.Is(err, db.ErrNotFound) {
			return c.notFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM client_keys WHERE client_id = ? AND expires_at <= ?`,
			id, now.UnixMilli()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE client_keys SET expires_at = ? WHERE client_id = ? AND expires_at IS NULL`,
			now.Add(rotatedKeyTTL).UnixMilli(), id); err != nil {
			return err
		}
		return insertKey(ctx, tx, hash, id, now)
	})
	if err != nil {
		return "", fmt.Errorf("clients: rotate key of %s: %w", id, err)
	}
	return key, nil
}

// Delete deletes the client: its keys stop working (at once on this
// instance, within keyCacheTTL on others) and go, and own erases the
// surface's rows of it in the same transaction. The client's row stays,
// marked deleted, so that its id is never reused.
func (c *Clients[R]) Delete(ctx context.Context, id string, own Rows) error {
	err := c.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		cl := Client{ID: id}
		var created int64
		err := tx.QueryRow(ctx, `UPDATE clients SET deleted_at = ? WHERE id = ? AND kind = ? AND deleted_at IS NULL
			RETURNING name, created_at`, c.now().UnixMilli(), id, c.kind.Name).Scan(&cl.Name, &created)
		if errors.Is(err, db.ErrNotFound) {
			return c.notFound
		}
		if err != nil {
			return err
		}
		cl.CreatedAt = time.UnixMilli(created)
		if err := own(ctx, tx, cl); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM client_keys WHERE client_id = ?`, id); err != nil {
			return err
		}
		tx.AfterCommit(func() { c.cache.evict(id) })
		return nil
	})
	if err != nil {
		return fmt.Errorf("clients: delete %s: %w", id, err)
	}
	return nil
}

// checkName refuses a client name no page could show.
func checkName(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > 100 || strings.ContainsFunc(name, unicode.IsControl) {
		return errs.E(errs.Invalid, "invalid_name", "A name must have 1 to 100 characters, none of them control characters")
	}
	return nil
}

func insertKey(ctx context.Context, tx *db.Tx, hash, clientID string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO client_keys (key_hash, client_id, created_at) VALUES (?, ?, ?)`,
		hash, clientID, now.UnixMilli())
	return err
}
