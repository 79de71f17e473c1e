package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"

	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/secrets"
)

const (
	// secretFileName is the file a generated master secret is kept in.
	secretFileName = "linkbox.secret"
	// storedSecretKey is the setting in which older versions kept the
	// master secret they generated.
	storedSecretKey = "master_secret"
)

// loadKeyring builds the keyring from the master secret: LINKBOX_SECRET, or
// the file LINKBOX_SECRET_FILE names, or else linkbox.secret — beside the
// SQLite store, in the working directory on PostgreSQL — generated on first
// start. Never the store: from a copy of it, the secret would mint access
// tokens and, trying all 10^6 codes against their keyed hashes, recover the
// pending ones. A secret older versions kept in the store is moved out.
func loadKeyring(ctx context.Context, d *db.DB, cfg config.Config, log *slog.Logger) (*secrets.Keyring, error) {
	var stored string
	err := d.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, storedSecretKey).Scan(&stored)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return nil, fmt.Errorf("read the stored master secret: %w", err)
	}
	secret, err := masterSecret(cfg, d, stored, log)
	if err != nil {
		return nil, err
	}
	if stored != "" {
		if stored != secret {
			log.Warn("the store holds a master secret of an older version that differs from the configured one: keeping the configured one, deleting the stored one")
		}
		// Written to its file first: a crash in between leaves both, and
		// the next start deletes the row.
		if err := d.EraseSetting(ctx, storedSecretKey); err != nil {
			return nil, err
		}
	}
	return secrets.New([]byte(secret))
}

// masterSecret returns LINKBOX_SECRET, or else the secret in the secret
// file. A missing file is created, holding the secret stored by an older
// version if any, else a new one; only the default file is created from
// nothing: a named one that is missing is a mistake to report, as starting
// with a new secret would orphan every hash made under the old one.
func masterSecret(cfg config.Config, d *db.DB, stored string, log *slog.Logger) (string, error) {
	if cfg.Secret != "" {
		return cfg.Secret, nil
	}
	path := cfg.SecretFile
	if path == "" {
		path = secretFileName // PostgreSQL: where the process runs
		if f := d.File(); f != "" {
			path = filepath.Join(filepath.Dir(f), secretFileName)
		}
	}
	secret, err := secrets.ReadFile(path)
	switch {
	case !errors.Is(err, fs.ErrNotExist):
		return secret, err
	case cfg.SecretFile != "" && stored == "":
		return "", fmt.Errorf("LINKBOX_SECRET_FILE: %w", err)
	}
	value, done := stored, "master secret moved out of the store into its own file"
	if value == "" {
		value, done = secrets.NewMaster(), "master secret generated into its own file"
	}
	if secret, err = secrets.CreateFile(path, value); err != nil {
		return "", err
	}
	if d.Dialect == db.Postgres {
		log.Warn(done+": every instance on this store must be given the same secret (LINKBOX_SECRET_FILE or LINKBOX_SECRET)", "file", path)
	} else {
		log.Info(done, "file", path)
	}
	return secret, nil
}
