package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrations embed.FS

// migration is one numbered SQL file of a dialect.
type migration struct {
	version int
	name    string
	sql     string
}

// Migrate applies, in order, each embedded migration of the dialect not yet
// recorded in schema_migrations, each in its own transaction. Several
// processes may migrate at once: PostgreSQL serializes them with an advisory
// lock, SQLite with its write lock (transactions begin IMMEDIATE).
func (d *DB) Migrate(ctx context.Context) error {
	return d.MigrateTo(ctx, math.MaxInt)
}

// MigrateTo is Migrate stopping after the migration numbered version: a
// test of a migration builds the store it upgrades this way.
func (d *DB) MigrateTo(ctx context.Context, version int) error {
	list, err := loadMigrations(string(d.Dialect))
	if err != nil {
		return err
	}
	err = d.InTx(ctx, func(ctx context.Context, tx *Tx) error {
		if err := lockMigrations(ctx, tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("db: create schema_migrations: %w", err)
	}
	for _, m := range list {
		if m.version > version {
			break
		}
		if err := d.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (d *DB) apply(ctx context.Context, m migration) error {
	return d.InTx(ctx, func(ctx context.Context, tx *Tx) error {
		if err := lockMigrations(ctx, tx); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
			return fmt.Errorf("db: read schema_migrations: %w", err)
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("db: migration %04d_%s: %w", m.version, m.name, err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UnixMilli())
		return err
	})
}

func loadMigrations(dialect string) ([]migration, error) {
	dir := "migrations/" + dialect
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("db: migrations for %s: %w", dialect, err)
	}
	var list []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("db: migration file %s: want NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrations, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		list = append(list, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version < list[j].version })
	return list, nil
}

// lockMigrations serializes migrating processes on PostgreSQL, where
// concurrent DDL can fail; SQLite's IMMEDIATE transactions already do.
func lockMigrations(ctx context.Context, tx *Tx) error {
	if tx.Dialect() != Postgres {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7431001)`); err != nil {
		return fmt.Errorf("db: migration lock: %w", err)
	}
	return nil
}
