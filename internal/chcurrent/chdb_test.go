//go:build chdb

package chcurrent

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	chdb "github.com/chdb-io/chdb-go/chdb-purego"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/store"
)

// chdbEngine is libchdb (the current ClickHouse, in-process) as an Engine.
type chdbEngine struct{ conn chdb.ChdbConn }

func (e chdbEngine) Exec(sql, data string) (string, error) {
	if data != "" {
		sql += "\n" + data
	}
	res, err := e.conn.Query(sql, "TabSeparated")
	if err != nil {
		return "", err
	}
	if res == nil {
		return "", nil
	}
	defer res.Free()
	return string(res.Buf()), nil
}

// openChdb opens a libchdb session on a fresh directory; the caller must
// Close it, or the process hangs for minutes at exit.
func openChdb(t *testing.T) chdb.ChdbConn {
	t.Helper()
	conn, err := chdb.NewConnection(1, []string{"--path=" + t.TempDir()})
	require.NoError(t, err, "open libchdb (%s)", os.Getenv("CHDB_LIB_PATH"))
	return conn
}

// TestCurrentClickHouse replays every statement the tests sent to 18.16
// (captured under RISKPIPE_SQL_CAPTURE) on 18.16 and on libchdb, with the
// captured rows, and fails on any statement the current engine rejects and
// any read whose result differs.
func TestCurrentClickHouse(t *testing.T) {
	root := os.Getenv(EnvCapture)
	if root == "" {
		unavailable(t, EnvCapture+" is not set: run `make test`, which captures the statements first")
	}
	captures, err := ReadCaptures(root)
	require.NoError(t, err)
	plan := NewPlan(captures)
	require.NotZero(t, plan.Entries, "no statement captured under %s", root)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := chserver.Start(ctx, chserver.Options{})
	if errors.Is(err, chserver.ErrNotFound) {
		unavailable(t, err.Error())
	}
	require.NoError(t, err)
	defer func() { require.NoError(t, srv.Stop()) }()
	old := NewServer(srv.HTTPAddr())

	conn := openChdb(t)
	defer conn.Close()
	cur := chdbEngine{conn}

	oldVer, err := old.Exec("SELECT version()", "")
	require.NoError(t, err)
	curVer, err := cur.Exec("SELECT version()", "")
	require.NoError(t, err)
	t.Logf("replaying %d distinct of %d captured statements (%d test binaries, %d scenarios) on ClickHouse %s and %s",
		plan.Entries, plan.Statements, len(captures), len(plan.Scenarios), strings.TrimSpace(oldVer), strings.TrimSpace(curVer))

	rep, err := Replay(old, cur, plan)
	require.NoError(t, err)
	t.Logf("same result: %d reads; accepted by both: %d statements (schema once per scenario) and %d reads of server state; "+
		"rejected by both: %d; rejected by 18.16 only: %d; failures: %d",
		rep.Compared, rep.Accepted, rep.ServerState, rep.BothReject, rep.OldRejects, len(rep.Failures))
	for _, f := range rep.Rejected {
		t.Logf("%s", f)
	}
	for _, f := range rep.Failures {
		t.Errorf("%s", f)
	}
}

// TestTableSettingsOnCurrent creates the migrations' tables on libchdb and
// applies store.TuneStatements, which only current servers are sent (18.16
// has no MODIFY SETTING, so the replay never sees them): each table then
// has the settings store.HasTableSettings checks.
func TestTableSettingsOnCurrent(t *testing.T) {
	conn := openChdb(t)
	defer conn.Close()
	cur := chdbEngine{conn}
	ver, err := cur.Exec("SELECT version()", "")
	require.NoError(t, err)
	major, err := strconv.Atoi(strings.SplitN(strings.TrimSpace(ver), ".", 2)[0])
	require.NoError(t, err, ver)

	const db = "tune"
	_, err = cur.Exec("CREATE DATABASE "+db, "")
	require.NoError(t, err)
	migs, err := store.Migrations()
	require.NoError(t, err)
	for _, m := range migs {
		for _, s := range m.Statements {
			_, err := cur.Exec(strings.ReplaceAll(s, "{db}", "`"+db+"`"), "")
			require.NoError(t, err, m.Name)
		}
	}
	list, err := cur.Exec("SELECT name FROM system.tables WHERE database = '"+db+"' AND engine LIKE '%MergeTree' ORDER BY name", "")
	require.NoError(t, err)
	tables := strings.Fields(list)
	require.Contains(t, tables, "risk_events")

	stmts := store.TuneStatements("`"+db+"`", major, tables)
	require.Len(t, stmts, len(tables), "ClickHouse %s is sent the ALTERs", strings.TrimSpace(ver))
	for _, q := range stmts {
		_, err := cur.Exec(q, "")
		require.NoError(t, err, q)
	}
	for _, name := range tables {
		create, err := cur.Exec("SELECT create_table_query FROM system.tables WHERE database = '"+db+"' AND name = '"+name+"' FORMAT TSVRaw", "")
		require.NoError(t, err)
		require.True(t, store.HasTableSettings(create), "%s: %s", name, create)
	}
}
