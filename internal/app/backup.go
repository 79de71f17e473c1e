package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/linkbox/linkbox/internal/db"
)

// backupCommands copy the SQLite store and put a copy back; a PostgreSQL
// store is pg_dump's and pg_restore's, which they name.
func backupCommands() []command {
	return []command{
		{name: "backup", summary: "copy the SQLite store to PATH (a new file, 0600), consistent while serve runs; PostgreSQL: names the pg_dump command",
			args: []string{"PATH"}, define: backupCommand},
		{name: "restore", summary: "put the store copy at PATH in place of the SQLite store, stopped, once checked; PostgreSQL: names the pg_restore command",
			args: []string{"PATH"}, define: restoreCommand},
	}
}

func backupCommand(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		cfg, err := e.raw.Parse()
		if err != nil {
			return err
		}
		c, err := db.Backup(ctx, cfg.DatabaseURL, args[0])
		if errors.Is(err, db.ErrPostgresStore) {
			return fmt.Errorf("backup: the store is PostgreSQL, which pg_dump copies: run\n  pg_dump --format=custom --file=%s \"$LINKBOX_DATABASE_URL\"", shellQuote(args[0]))
		}
		if err != nil {
			return err
		}
		return printCopy(e, *asJSON, c, "the master secret is not in it: keep LINKBOX_SECRET or linkbox.secret too")
	}
}

func restoreCommand(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		cfg, err := e.raw.Parse()
		if err != nil {
			return err
		}
		c, err := db.Restore(ctx, cfg.DatabaseURL, args[0])
		if errors.Is(err, db.ErrPostgresStore) {
			return fmt.Errorf("restore: the store is PostgreSQL, which pg_restore fills: stop every linkbox instance, run\n"+
				"  pg_restore --clean --if-exists --no-owner --dbname=\"$LINKBOX_DATABASE_URL\" %s\nthen start them (they migrate it)", shellQuote(args[0]))
		}
		if err != nil {
			return err
		}
		return printCopy(e, *asJSON, c, "start linkbox with the master secret the store was made with: it migrates the store on start")
	}
}

// printCopy writes what Backup or Restore made, with a note for the
// operator in the table.
func printCopy(e cmdEnv, asJSON bool, c db.Copy, note string) error {
	return printResult(e.stdout, asJSON, map[string]any{"path": c.Path, "schema_version": c.Version, "bytes": c.Bytes}, [][2]string{
		{"path", c.Path}, {"schema_version", strconv.Itoa(c.Version)}, {"bytes", strconv.FormatInt(c.Bytes, 10)}, {"note", note},
	})
}

// shellQuote quotes s for a POSIX shell, so that the command printed runs
// as it is whatever the path holds.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
