package store

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riskpipe/riskpipe/schema"
)

// Migration is one schema/NNN_name.sql file.
type Migration struct {
	Version    int
	Name       string   // file name without .sql, e.g. 001_core
	Statements []string // with {db} still in place
}

// Migrations parses the embedded migrations, in version order.
func Migrations() ([]Migration, error) { return parseMigrations(schema.FS) }

func parseMigrations(fsys fs.FS) ([]Migration, error) {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]string{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".sql")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: want NNN_name.sql", f)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s: same version %d", prev, f, v)
		}
		seen[v] = f
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		stmts, err := splitStatements(string(b))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", f, err)
		}
		out = append(out, Migration{Version: v, Name: name, Statements: stmts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// splitStatements splits on lines ending with ';' and drops "--" comment
// lines and blank lines.
func splitStatements(src string) ([]string, error) {
	var stmts []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		if strings.HasSuffix(trimmed, ";") {
			cur.WriteString(strings.TrimSuffix(line, ";"))
			stmts = append(stmts, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cur.String()) != "" {
		return nil, fmt.Errorf("statement without a closing ';': %.60q", strings.TrimSpace(cur.String()))
	}
	if len(stmts) == 0 {
		return nil, fmt.Errorf("no statements")
	}
	return stmts, nil
}

// Migrate creates the database and schema_migrations if missing and applies
// the migrations this binary has and the database lacks, in order. It is
// idempotent, and safe to run from two processes at once (statements use
// IF NOT EXISTS; schema_migrations collapses duplicate rows). A database
// migrated by a newer riskpipe gives *SchemaTooNewError. It ends with
// TuneTables.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	migs, err := Migrations()
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("read migrations: %w", err)}
	}
	return s.migrate(ctx, migs)
}

// migrationTimeout bounds one migration statement. A backfill (INSERT …
// SELECT over a table of 10^7 rows) outlasts the connection's read
// timeout (clickhouse.write_timeout), which a context deadline overrides.
const migrationTimeout = time.Hour

// migrate is Migrate with these migrations.
func (s *Store) migrate(ctx context.Context, migs []Migration) error {
	if err := s.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+s.db); err != nil {
		return classify(fmt.Errorf("create database %s: %w", s.cfg.Database, err))
	}
	if err := s.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+s.table("schema_migrations")+` (
    version    UInt32,
    name       String,
    applied_at DateTime
) ENGINE = ReplacingMergeTree ORDER BY version SETTINGS old_parts_lifetime = `+strconv.Itoa(OldPartsLifetime)); err != nil {
		return classify(fmt.Errorf("create schema_migrations: %w", err))
	}
	applied, err := s.appliedVersions(ctx)
	if err != nil {
		return err
	}
	known := 0
	if len(migs) > 0 {
		known = migs[len(migs)-1].Version
	}
	if cur := maxKey(applied); cur > known {
		return &SchemaTooNewError{Database: s.cfg.Database, Current: cur, Known: known}
	}
	for _, m := range migs {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			sctx, cancel := context.WithTimeout(ctx, migrationTimeout)
			err := s.conn.Exec(sctx, strings.ReplaceAll(stmt, "{db}", s.db))
			cancel()
			if err != nil {
				return classify(fmt.Errorf("migration %s statement %d: %w", m.Name, i+1, err))
			}
		}
		if err := s.recordMigration(ctx, m); err != nil {
			return err
		}
		s.logger.Info("clickhouse migration applied", "database", s.cfg.Database, "migration", m.Name)
	}
	return s.TuneTables(ctx)
}

func (s *Store) recordMigration(ctx context.Context, m Migration) error {
	sc, err := sendContext(ctx, s.cfg.WriteTimeout)
	if err == nil {
		_, err = s.sendBatch(sc, "INSERT INTO "+s.table("schema_migrations")+" (version, name, applied_at)",
			func(add func(...any) error) error { return add(uint32(m.Version), m.Name, time.Now()) })
	}
	if err != nil {
		return classify(fmt.Errorf("record migration %s: %w", m.Name, err))
	}
	return nil
}

func (s *Store) appliedVersions(ctx context.Context) (map[int]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT version FROM "+s.table("schema_migrations"))
	if err != nil {
		return nil, classify(fmt.Errorf("read schema_migrations: %w", err))
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, classify(fmt.Errorf("read schema_migrations: %w", err))
		}
		out[int(v)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("read schema_migrations: %w", err))
	}
	return out, nil
}

// SchemaVersion returns the database's schema version (0 when not migrated
// yet, also when the database does not exist) and the newest version this
// binary knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, known int, err error) {
	if err := s.checkOpen(); err != nil {
		return 0, 0, err
	}
	migs, err := Migrations()
	if err != nil {
		return 0, 0, &PermanentError{Err: fmt.Errorf("read migrations: %w", err)}
	}
	if len(migs) > 0 {
		known = migs[len(migs)-1].Version
	}
	var n uint64
	if err := s.conn.QueryRow(ctx,
		"SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'",
		s.cfg.Database).Scan(&n); err != nil {
		return 0, known, classify(fmt.Errorf("schema version: %w", err))
	}
	if n == 0 {
		return 0, known, nil
	}
	applied, err := s.appliedVersions(ctx)
	if err != nil {
		return 0, known, err
	}
	return maxKey(applied), known, nil
}

func maxKey(m map[int]bool) int {
	max := 0
	for v := range m {
		if v > max {
			max = v
		}
	}
	return max
}
