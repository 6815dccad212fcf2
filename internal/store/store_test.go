package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/config"
)

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name    string
		give    string
		want    []string
		wantErr bool
	}{
		{
			name: "two statements and comments",
			give: "-- header\nCREATE TABLE a\n(\n  x UInt8\n) ENGINE = Log;\n\n-- b\nCREATE TABLE b (y String) ENGINE = Log;\n",
			want: []string{"CREATE TABLE a\n(\n  x UInt8\n) ENGINE = Log", "CREATE TABLE b (y String) ENGINE = Log"},
		},
		{name: "crlf and trailing blanks", give: "SELECT 1;  \r\nSELECT 2;\r\n", want: []string{"SELECT 1", "SELECT 2"}},
		{name: "missing semicolon", give: "SELECT 1;\nSELECT 2\n", wantErr: true},
		{name: "empty", give: "-- nothing\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitStatements(tt.give)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

var (
	createRE = regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS \{db\}\.(\w+)`)
	insertRE = regexp.MustCompile(`^INSERT INTO \{db\}\.(\w+) \([^)]*\)\s+SELECT `)
)

func TestParseMigrations(t *testing.T) {
	migs, err := Migrations()
	require.NoError(t, err)
	require.NotEmpty(t, migs)
	for i, m := range migs {
		// Versions increase; numbers are assigned per issue, so a branch
		// may lack one (005 before 004 is merged).
		if i > 0 {
			require.Greater(t, m.Version, migs[i-1].Version, "versions increase")
		}
		replacing := map[string]bool{} // tables the migration creates as ReplacingMergeTree
		for _, s := range m.Statements {
			require.Contains(t, s, "{db}.", "%s: tables are qualified with {db}", m.Name)
			if c := createRE.FindStringSubmatch(s); c != nil && strings.Contains(s, "ENGINE = ReplacingMergeTree") {
				replacing[c[1]] = true
			}
			// A backfill (INSERT ... SELECT) is idempotent when its rows
			// collapse: into a ReplacingMergeTree the migration creates.
			if i := insertRE.FindStringSubmatch(s); i != nil {
				require.True(t, replacing[i[1]], "%s: INSERT only into a ReplacingMergeTree the migration creates: %s", m.Name, i[1])
				continue
			}
			require.Contains(t, s, "IF NOT EXISTS", "%s: statements are idempotent", m.Name)
			if c := createRE.FindStringSubmatch(s); c != nil && strings.Contains(s, "ENGINE = ") {
				require.True(t, strings.HasSuffix(s, "\nSETTINGS old_parts_lifetime = "+strconv.Itoa(OldPartsLifetime)),
					"%s: table %s sets old_parts_lifetime = OldPartsLifetime last", m.Name, c[1])
			}
		}
	}
	require.Equal(t, "001_core", migs[0].Name)

	bad := []struct {
		name string
		give fstest.MapFS
	}{
		{"no number", fstest.MapFS{"core.sql": {Data: []byte("SELECT 1;\n")}}},
		{"duplicate version", fstest.MapFS{"001_a.sql": {Data: []byte("SELECT 1;\n")}, "1_b.sql": {Data: []byte("SELECT 1;\n")}}},
		{"zero", fstest.MapFS{"000_a.sql": {Data: []byte("SELECT 1;\n")}}},
	}
	for _, tt := range bad {
		_, err := parseMigrations(tt.give)
		require.Error(t, err, tt.name)
	}
	got, err := parseMigrations(fstest.MapFS{"010_b.sql": {Data: []byte("SELECT 2;\n")}, "002_a.sql": {Data: []byte("SELECT 1;\n")}})
	require.NoError(t, err)
	require.Equal(t, []int{2, 10}, []int{got[0].Version, got[1].Version})
}

func TestMigrateIdempotentAndVersioned(t *testing.T) {
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	require.NoError(t, dropDatabase(srv.Addr(), db), "Migrate creates the database")
	s := openStore(t, srv, db, false)
	ctx := context.Background()

	cur, known, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, cur)
	require.GreaterOrEqual(t, known, 1)

	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.Migrate(ctx), "second run is a no-op")
	cur, known2, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, known, cur)
	require.Equal(t, known, known2)
	migs, err := Migrations()
	require.NoError(t, err)
	require.Equal(t, migs[len(migs)-1].Version, known)
	require.Equal(t, uint64(len(migs)), queryUint(t, s.Conn(), "SELECT count() FROM "+s.table("schema_migrations")),
		"one row per migration after two runs")

	// The column contract dashboards and downstream jobs rely on.
	want := map[string][]string{
		"risk_events": {"tenant String", "event_id String", "published DateTime", "event_type String",
			"category String", "severity String", "risk_level String", "risk_reasons String", "user_id String",
			"user_login String", "client_ip String", "country String", "outcome String", "threat_suspected UInt8",
			"raw String", "ingested_at DateTime", "transaction_id String", "published_note String",
			"id_derived UInt8", "version UInt64"},
		"poll_state": {"tenant String", "integrated_at DateTime", "integrated_at_ms UInt64", "cursor String",
			"updated_at DateTime", "version UInt64"},
		"dead_letters": {"tenant String", "received_at DateTime", "reason String", "payload String",
			"fingerprint String"},
		"event_type_counts": {"tenant String", "day Date", "event_type String", "kept UInt8", "reason String",
			"events UInt64"},
	}
	for tbl, cols := range want {
		rows, err := s.Conn().Query(ctx, "SELECT name, type FROM system.columns WHERE database = ? AND table = ?", db, tbl)
		require.NoError(t, err)
		have := map[string]bool{}
		for rows.Next() {
			var name, typ string
			require.NoError(t, rows.Scan(&name, &typ))
			have[name+" "+typ] = true
		}
		require.NoError(t, rows.Err())
		rows.Close()
		for _, c := range cols {
			require.True(t, have[c], "%s has column %s", tbl, c)
		}
	}
	var engine string
	require.NoError(t, s.Conn().QueryRow(ctx,
		"SELECT engine FROM system.tables WHERE database = ? AND name = 'event_type_counts'", db).Scan(&engine))
	require.Equal(t, "SummingMergeTree", engine)

	// Every table removes replaced parts after OldPartsLifetime (a
	// privacy deletion waits for them). The check is in the query (not a
	// read of create_table_query, whose formatting differs between
	// versions and which the current-ClickHouse replay compares).
	lacking := func() []string {
		rows, err := s.Conn().Query(ctx, "SELECT name FROM system.tables WHERE database = ? AND engine LIKE '%MergeTree' "+
			"AND NOT match(create_table_query, ?) ORDER BY name", db, `SETTINGS .*old_parts_lifetime = `+strconv.Itoa(OldPartsLifetime)+`([^0-9]|$)`)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var name string
			require.NoError(t, rows.Scan(&name))
			out = append(out, name)
		}
		require.NoError(t, rows.Err())
		return out
	}
	require.Empty(t, lacking())
	require.GreaterOrEqual(t, queryUint(t, s.Conn(), "SELECT count() FROM system.tables WHERE database = '"+db+"' AND engine LIKE '%MergeTree'"),
		uint64(len(want)+1), "the tables above and schema_migrations")
	// The check can fail: a table created without the setting is named.
	require.NoError(t, s.Conn().Exec(ctx, "CREATE TABLE `"+db+"`.plain (a String) ENGINE = MergeTree ORDER BY a"))
	require.Equal(t, []string{"plain"}, lacking())
}

func TestTableSettings(t *testing.T) {
	tests := []struct {
		create string
		want   bool
	}{
		{"CREATE TABLE d.t (a String) ENGINE = MergeTree ORDER BY a SETTINGS old_parts_lifetime = 1, min_compressed_bytes_to_fsync_after_merge = 1, index_granularity = 8192", true},
		{"CREATE TABLE d.t (a String) ENGINE = MergeTree ORDER BY a SETTINGS index_granularity = 8192, min_compressed_bytes_to_fsync_after_merge = 1, old_parts_lifetime = 1", true},
		{"CREATE TABLE d.t (a String) ENGINE = MergeTree ORDER BY a SETTINGS old_parts_lifetime = 1, index_granularity = 8192", false},
		{"CREATE TABLE d.t (a String) ENGINE = MergeTree ORDER BY a SETTINGS old_parts_lifetime = 10, min_compressed_bytes_to_fsync_after_merge = 1", false},
		{"CREATE TABLE d.t (a String) ENGINE = MergeTree ORDER BY a SETTINGS old_parts_lifetime = 1, min_compressed_bytes_to_fsync_after_merge = 10", false},
		{"CREATE TABLE d.t (a String) ENGINE = MergeTree ORDER BY a", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, HasTableSettings(tt.create), tt.create)
	}
	require.Empty(t, TuneStatements("`d`", 18, []string{"risk_events"}), "18.16 has no MODIFY SETTING")
	require.Equal(t, []string{
		"ALTER TABLE `d`.`risk_events` MODIFY SETTING old_parts_lifetime = " + strconv.Itoa(OldPartsLifetime) + ", min_compressed_bytes_to_fsync_after_merge = 1",
	}, TuneStatements("`d`", 24, []string{"risk_events"}))
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	_, known, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	b, err := s.Conn().PrepareBatch(ctx, "INSERT INTO "+s.table("schema_migrations")+" (version, name, applied_at)")
	require.NoError(t, err)
	require.NoError(t, b.Append(uint32(known+1), "999_future", time.Now()))
	require.NoError(t, b.Send())

	err = s.Migrate(ctx)
	var tooNew *SchemaTooNewError
	require.ErrorAs(t, err, &tooNew)
	require.Equal(t, known+1, tooNew.Current)
	require.Equal(t, known, tooNew.Known)
	require.False(t, IsRetryable(err))

	cur, _, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, known+1, cur)
}

func TestOpenErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	ctx := context.Background()
	_, err = Open(ctx, config.ClickHouse{Addr: addr, DialTimeout: time.Second}, nil)
	require.Error(t, err)
	require.True(t, IsRetryable(err), "a down server is retryable: %v", err)
	var re *RetryableError
	require.ErrorAs(t, err, &re)

	_, err = Open(ctx, config.ClickHouse{Addr: addr, Database: "bad-name; DROP"}, nil)
	var pe *PermanentError
	require.ErrorAs(t, err, &pe)
}

func TestClosedStore(t *testing.T) {
	s := newStore(t)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "idempotent")
	ctx := context.Background()
	require.ErrorIs(t, s.Migrate(ctx), ErrClosed)
	require.ErrorIs(t, s.Ping(ctx), ErrClosed)
	_, _, err := s.LoadPollState(ctx, "acme")
	require.ErrorIs(t, err, ErrClosed)
}

func TestIsRetryable(t *testing.T) {
	tests := []struct {
		name string
		give error
		want bool
	}{
		{"nil", nil, false},
		{"closed", fmt.Errorf("write: %w", ErrClosed), false},
		{"canceled", context.Canceled, false},
		{"deadline", fmt.Errorf("flush: %w", context.DeadlineExceeded), true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"unknown table", fmt.Errorf("insert: %w", &clickhouse.Exception{Code: 60, Message: "Table x doesn't exist"}), false},
		{"type mismatch", &clickhouse.Exception{Code: 53}, false},
		{"syntax", &clickhouse.Exception{Code: 62}, false},
		{"auth", &clickhouse.Exception{Code: 516}, false},
		{"memory limit", &clickhouse.Exception{Code: 241}, true},
		{"too many parts", &clickhouse.Exception{Code: 252}, true},
		{"timeout on server", &clickhouse.Exception{Code: 159}, true},
		{"schema too new", &SchemaTooNewError{Current: 3, Known: 2}, false},
		{"wrapped retryable", &RetryableError{Err: errors.New("x")}, true},
		{"wrapped permanent", &PermanentError{Err: syscall.ECONNREFUSED}, false},
		{"driver conversion", errors.New("clickhouse [AppendRow]: converting string to UInt8 is unsupported"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, IsRetryable(tt.give))
			if tt.give != nil {
				c := classify(tt.give)
				var re *RetryableError
				require.Equal(t, tt.want, errors.As(c, &re), "classify agrees with IsRetryable")
			}
		})
	}
}

func dropDatabase(addr, db string) error {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Exec(context.Background(), "DROP DATABASE `"+db+"`")
}

// A table setting ClickHouse refuses for good (here 18.16, which has no
// MODIFY SETTING: a syntax error; on a user's server, a ClickHouse user
// without the ALTER SETTINGS privilege) is logged and skipped: riskpipe
// starts. Only a failure that may pass stops the start.
func TestTuneRefusedIsLoggedNotFatal(t *testing.T) {
	srv := privateServer(t, t.TempDir())
	const db = "tune_test"
	var logs bytes.Buffer
	ctx := context.Background()
	s, err := Open(ctx, chtest.Config(srv, db), slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Migrate(ctx))

	tables := []string{"risk_events"}
	require.NoError(t, s.tune(ctx, tables, TuneStatements(s.db, 24, tables)))
	require.Contains(t, logs.String(), "clickhouse refused the table's settings")
	require.Contains(t, logs.String(), "table=risk_events")

	require.NoError(t, srv.Stop())
	err = s.tune(ctx, tables, TuneStatements(s.db, 24, tables))
	require.Error(t, err)
	require.True(t, IsRetryable(err), "a down server stops the start, to be retried: %v", err)
}

// A migration statement may run longer than the connection's read timeout
// (clickhouse.write_timeout): a backfill over a large table does.
func TestMigrationOutlastsReadTimeout(t *testing.T) {
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	cfg := chtest.Config(srv, db)
	cfg.WriteTimeout = time.Second
	ctx := context.Background()
	s, err := Open(ctx, cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	slow := []Migration{{Version: 1, Name: "001_slow", Statements: []string{"SELECT sleep(2) FROM system.one"}}}
	require.NoError(t, s.migrate(ctx, slow))
	require.Error(t, s.conn.Exec(ctx, "SELECT sleep(2) FROM system.one"), "the read timeout applies outside migrations")
}
