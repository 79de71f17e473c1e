package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// dropTimeout bounds dropping a run's schema, which happens after Ctrl-C too.
const dropTimeout = 30 * time.Second

// pgSchema is the PostgreSQL schema one run's Linkbox works in: created empty
// before the servers start, dropped with everything in it once they stopped.
// Its name is also the application_name of every connection made through
// url, which is how the run finds its backends among the server's others.
type pgSchema struct {
	admin *sql.DB // on the server's own URL: creates, drops, lists backends
	name  string
	url   string // the store for Linkbox: search_path and application_name set to name
}

// createSchema creates a fresh schema on the database at serverURL.
func createSchema(ctx context.Context, serverURL string) (*pgSchema, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	name := "linkbox_bench_" + hex.EncodeToString(b)
	storeURL, err := schemaURL(serverURL, name)
	if err != nil {
		return nil, err
	}
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		admin.Close()
		return nil, fmt.Errorf("postgres: create schema %s: %w", name, err)
	}
	return &pgSchema{admin: admin, name: name, url: storeURL}, nil
}

// schemaURL is serverURL with search_path and application_name set to schema.
func schemaURL(serverURL, schema string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("--postgres-url: want postgres://…, got %q", serverURL)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// drop drops the schema and closes the admin connection. It runs on its own
// context: the run's may have ended with Ctrl-C.
func (s *pgSchema) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
	defer cancel()
	_, err := s.admin.ExecContext(ctx, "DROP SCHEMA "+s.name+" CASCADE")
	if err != nil {
		err = fmt.Errorf("postgres: drop schema %s: %w", s.name, err)
	}
	return errors.Join(err, s.admin.Close())
}

// backends returns the process ids of the server's backends that serve the
// run's connections.
func (s *pgSchema) backends(ctx context.Context) ([]int, error) {
	rows, err := s.admin.QueryContext(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", s.name)
	if err != nil {
		return nil, fmt.Errorf("postgres: list backends: %w", err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, fmt.Errorf("postgres: list backends: %w", err)
		}
		pids = append(pids, pid)
	}
	return pids, rows.Err()
}

// backendCPU returns the CPU time each of pids has used. A server on
// another machine or in another pid namespace names processes this one
// cannot see, or sees as other programs: any pid that is not a local
// "postgres" process makes it fail, so that the figure is missing, not wrong.
func backendCPU(pids []int) (map[int]time.Duration, error) {
	cpu := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if errors.Is(err, os.ErrNotExist) {
			continue // ended since it was listed
		}
		if err != nil {
			return nil, fmt.Errorf("read backend CPU time: %w", err)
		}
		if _, rest, ok := bytes.Cut(b, []byte(" ")); !ok || !bytes.HasPrefix(rest, []byte("(postgres)")) {
			return nil, fmt.Errorf("process %d is not a local PostgreSQL backend", pid)
		}
		if cpu[pid], err = parseCPUTime(b); err != nil {
			return nil, err
		}
	}
	return cpu, nil
}
