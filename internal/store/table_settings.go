package store

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// OldPartsLifetime is the old_parts_lifetime (seconds) of every table
// riskpipe creates: how long ClickHouse keeps a data part on disk after a
// merge or mutation replaced it (the server's default is 480). A privacy
// deletion is done only once the parts its mutations replaced are gone
// (docs/privacy.md), so this bounds how long it waits for them. The
// migrations set it in each CREATE TABLE (schema.TestOldPartsLifetime
// checks they all do).
//
// ClickHouse keeps replaced parts so that a merged part lost by a power
// failure before the kernel wrote it out can be rebuilt from them. On
// servers that can change a table's settings, TuneTables also turns on
// fsync after every merge and mutation (min_compressed_bytes_to_fsync_after_merge),
// which makes that protection unnecessary; ClickHouse 18.16 has no such
// setting (docs/decisions.md).
const OldPartsLifetime = 1

// minModifySetting is the first ClickHouse major version TuneTables
// alters: ALTER TABLE ... MODIFY SETTING came with 19.x, and the users'
// servers are 24.x-26.x.
const minModifySetting = 20

// tableSettings are what TuneTables gives each table, in the order the
// ALTER names them.
var tableSettings = [][2]string{
	{"old_parts_lifetime", strconv.Itoa(OldPartsLifetime)},
	{"min_compressed_bytes_to_fsync_after_merge", "1"},
}

// ServerMajor is the major version of the ClickHouse server conn talks to
// (18 for 18.16.1, 26 for 26.5.1.1).
func ServerMajor(ctx context.Context, conn driver.Conn) (int, error) {
	var v string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return 0, classify(fmt.Errorf("server version: %w", err))
	}
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return 0, &PermanentError{Err: fmt.Errorf("server version %q: no major version", v)}
	}
	return n, nil
}

// settingRE matches one "name = value" of a SETTINGS clause.
var settingRE = regexp.MustCompile(`\b([a-z_]+) = ([^,\s]+)`)

// HasTableSettings reports whether a CREATE TABLE statement (as
// system.tables shows it) sets every setting TuneStatements sets, to its
// value.
func HasTableSettings(create string) bool {
	_, clause, ok := strings.Cut(create, " SETTINGS ")
	if !ok {
		return false
	}
	have := map[string]string{}
	for _, m := range settingRE.FindAllStringSubmatch(clause, -1) {
		have[m[1]] = m[2]
	}
	for _, kv := range tableSettings {
		if have[kv[0]] != kv[1] {
			return false
		}
	}
	return true
}

// TuneStatements are the ALTERs that give the database's MergeTree tables
// the settings above, for a server of this major version: none before
// minModifySetting (there, the CREATE TABLE of the migrations set
// old_parts_lifetime, and a table created by an older riskpipe keeps the
// server's).
func TuneStatements(db string, major int, tables []string) []string {
	if major < minModifySetting {
		return nil
	}
	sets := make([]string, len(tableSettings))
	for i, kv := range tableSettings {
		sets[i] = kv[0] + " = " + kv[1]
	}
	out := make([]string, 0, len(tables))
	for _, t := range tables {
		out = append(out, fmt.Sprintf("ALTER TABLE %s.`%s` MODIFY SETTING %s", db, strings.ReplaceAll(t, "`", "\\`"), strings.Join(sets, ", ")))
	}
	return out
}

// TuneTables applies TuneStatements to the database's MergeTree tables
// whose definition lacks one of the settings. It runs after the
// migrations, at every start: a database created by an older riskpipe
// gets the settings on its first start with this one.
func (s *Store) TuneTables(ctx context.Context) error {
	major, err := ServerMajor(ctx, s.conn)
	if err != nil {
		return err
	}
	if major < minModifySetting {
		return nil
	}
	rows, err := s.conn.Query(ctx, "SELECT name, create_table_query FROM system.tables WHERE database = ? AND engine LIKE '%MergeTree' ORDER BY name",
		s.cfg.Database)
	if err != nil {
		return classify(fmt.Errorf("list tables: %w", err))
	}
	defer rows.Close()
	var lacking []string
	for rows.Next() {
		var name, create string
		if err := rows.Scan(&name, &create); err != nil {
			return classify(fmt.Errorf("list tables: %w", err))
		}
		if !HasTableSettings(create) {
			lacking = append(lacking, name)
		}
	}
	if err := rows.Err(); err != nil {
		return classify(fmt.Errorf("list tables: %w", err))
	}
	return s.tune(ctx, lacking, TuneStatements(s.db, major, lacking))
}

// tune runs stmts, the ALTER of each table. A statement ClickHouse
// refuses for good (e.g. the ClickHouse user lacks the ALTER SETTINGS
// privilege) is logged and skipped: riskpipe runs, and its privacy
// deletions wait for the server's old_parts_lifetime. A failure that may
// pass (ClickHouse unreachable) is returned.
func (s *Store) tune(ctx context.Context, tables, stmts []string) error {
	for i, q := range stmts {
		err := s.conn.Exec(ctx, q)
		switch {
		case err == nil:
			s.logger.Info("clickhouse table settings applied", "database", s.cfg.Database, "table", tables[i])
		case IsRetryable(err):
			return classify(fmt.Errorf("set the settings of %s: %w", tables[i], err))
		default:
			s.logger.Warn("clickhouse refused the table's settings: privacy deletions wait for the server's old_parts_lifetime "+
				"(docs/privacy.md)", "database", s.cfg.Database, "table", tables[i], "err", err)
		}
	}
	return nil
}
