package db_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestSchemaParity: the two dialects' migrations give the same tables, with
// the same columns, nullability and explicit indexes (name, columns,
// uniqueness), so that one query serves both. Types differ by dialect and
// are not compared; the indexes that back primary keys and UNIQUE
// constraints are named by each engine its own way, and are compared as
// keys instead.
func TestSchemaParity(t *testing.T) {
	liteDB := dbtest.Open(t, dbtest.SQLite(t))
	lite := describe(t, liteDB)
	if got := lite["users"]; !slices.Contains(got, "pk (id)") || !slices.Contains(got, "column phone not null") {
		t.Fatalf("sqlite users: %v, want its key and columns", got)
	}
	// The comparison sees an index of one dialect only.
	if _, err := liteDB.Exec(context.Background(), `CREATE INDEX users_email ON users (email)`); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(describe(t, liteDB)["users"], lite["users"]) {
		t.Fatal("an index added on SQLite left its description unchanged")
	}
	pg := describe(t, dbtest.Open(t, dbtest.Postgres(t)))
	for _, name := range union(keys(lite), keys(pg)) {
		a, b := lite[name], pg[name]
		if !slices.Equal(a, b) {
			t.Errorf("%s:\n  sqlite:   %v\n  postgres: %v", name, a, b)
		}
	}
}

// describe lists the schema of d: per table, its columns ("column name
// null" or "… not null"), its primary key ("pk (cols)") and its other keys
// and indexes ("unique (cols)" for a UNIQUE constraint, "index|unique name
// (cols) [partial]" for a CREATE INDEX).
func describe(t *testing.T, d *db.DB) map[string][]string {
	t.Helper()
	query := pgSchema
	if d.Dialect == db.SQLite {
		query = sqliteSchema
	}
	rows, err := strings1(context.Background(), d, query)
	if err != nil {
		t.Fatalf("%s: describe the schema: %v", d.Dialect, err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		table, rest, _ := strings.Cut(r, " ")
		out[table] = append(out[table], rest)
	}
	for table, lines := range out {
		if d.Dialect == db.SQLite {
			lines = withRowid(lines)
		}
		slices.Sort(lines)
		out[table] = lines
	}
	return out
}

// withRowid adds, on SQLite, the rowid to the columns of a table's indexes
// when its primary key is its rowid (an INTEGER PRIMARY KEY, which has no
// index of its own): SQLite ends every index entry with the rowid, so that
// (user_id) there is (user_id, id) on PostgreSQL.
func withRowid(lines []string) []string {
	var rowid string
	for _, l := range lines {
		if col, ok := strings.CutPrefix(l, "rowid "); ok {
			rowid = col
		}
	}
	out := lines[:0]
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "rowid "):
			continue
		case rowid != "" && strings.HasPrefix(l, "index "):
			l = strings.Replace(l, ")", ","+rowid+")", 1)
		}
		out = append(out, l)
	}
	return out
}

const sqliteSchema = `
	SELECT m.name || ' column ' || c.name || CASE WHEN c."notnull" = 1 OR c.pk > 0 THEN ' not null' ELSE ' null' END
	FROM sqlite_master m, pragma_table_info(m.name) c
	WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
	UNION ALL
	SELECT m.name || ' pk (' || (SELECT group_concat(name, ',') FROM
		(SELECT name FROM pragma_table_info(m.name) WHERE pk > 0 ORDER BY pk)) || ')'
	FROM sqlite_master m
	WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE pk > 0)
	UNION ALL
	SELECT m.name || ' rowid ' || c.name
	FROM sqlite_master m, pragma_table_info(m.name) c
	WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND c.pk = 1 AND upper(c.type) = 'INTEGER'
		AND (SELECT count(*) FROM pragma_table_info(m.name) WHERE pk > 0) = 1
		AND m.sql NOT LIKE '%WITHOUT ROWID%'
	UNION ALL
	SELECT m.name || CASE WHEN il.origin = 'c' AND il."unique" = 1 THEN ' unique ' || il.name || ' '
			WHEN il.origin = 'c' THEN ' index ' || il.name || ' ' ELSE ' unique ' END ||
		'(' || (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno)) || ')' ||
		CASE WHEN il.partial = 1 THEN ' partial' ELSE '' END
	FROM sqlite_master m, pragma_index_list(m.name) il
	WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND il.origin <> 'pk'`

const pgSchema = `
	SELECT c.table_name || ' column ' || c.column_name || CASE WHEN c.is_nullable = 'NO' THEN ' not null' ELSE ' null' END
	FROM information_schema.columns c
	WHERE c.table_schema = current_schema()
	UNION ALL
	SELECT t.relname ||
		CASE WHEN con.contype = 'p' THEN ' pk ' WHEN con.contype = 'u' THEN ' unique '
			WHEN ix.indisunique THEN ' unique ' || i.relname || ' ' ELSE ' index ' || i.relname || ' ' END ||
		'(' || (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, n)
			JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) || ')' ||
		CASE WHEN ix.indpred IS NOT NULL THEN ' partial' ELSE '' END
	FROM pg_index ix
	JOIN pg_class i ON i.oid = ix.indexrelid
	JOIN pg_class t ON t.oid = ix.indrelid
	JOIN pg_namespace ns ON ns.oid = t.relnamespace AND ns.nspname = current_schema()
	LEFT JOIN pg_constraint con ON con.conindid = ix.indexrelid AND con.contype IN ('p', 'u')`

func strings1(ctx context.Context, d *db.DB, query string) ([]string, error) {
	return db.QueryAll(ctx, d, func(rows *sql.Rows) (s string, err error) { return s, rows.Scan(&s) }, query)
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
