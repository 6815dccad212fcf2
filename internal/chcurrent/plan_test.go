package chcurrent

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	require.Equal(t, "SELECT count() FROM `rpcheck`.risk_events FINAL WHERE tenant = 'rptest'",
		Normalize(" SELECT count() FROM `rptest_testtopusers_by_last_signal_0a1b2c3d`.risk_events FINAL WHERE tenant = 'rptest'\n"))
	require.Equal(t, "SELECT 1 FROM rpcheck.org_users, rpcheck.poll_state",
		Normalize("SELECT 1 FROM rptest_a_0123abcd.org_users, rptest_b_c_ffffffff.poll_state"))
}

func TestClassify(t *testing.T) {
	tests := []struct {
		q    string
		want Kind
	}{
		{"SELECT 1", KindRead},
		{"-- a documented query\n-- in two lines\nSELECT tenant FROM t", KindRead},
		{"WITH 1 AS x SELECT x", KindRead},
		{"(SELECT 1) UNION ALL (SELECT 2)", KindRead},
		{"SHOW CREATE TABLE t", KindRead},
		{"INSERT INTO `rpcheck`.poll_state (tenant, version) FORMAT Native", KindInsert},
		{"INSERT INTO t (a) SELECT a FROM u", KindOther},
		{"OPTIMIZE TABLE t FINAL", KindOther},
		{"ALTER TABLE t DELETE WHERE 1", KindOther},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Classify(tt.q), tt.q)
	}
	table, cols, ok := InsertTarget("INSERT INTO `rpcheck`.poll_state (tenant, version) FORMAT Native")
	require.True(t, ok)
	require.Equal(t, []string{"`rpcheck`.poll_state", "tenant, version"}, []string{table, cols})
}

func TestOrdered(t *testing.T) {
	tests := []struct {
		q    string
		want bool
	}{
		{"SELECT a FROM t ORDER BY a", true},
		{"SELECT a FROM t\norder  by a DESC LIMIT 3", true},
		{"SELECT a FROM (SELECT a FROM t ORDER BY a LIMIT 1 BY a)", false},
		{"SELECT a FROM t WHERE s = 'ORDER BY a'", false},
		{"-- ORDER BY in a comment\nSELECT a FROM t", false},
		{"SELECT border_by FROM t", false},
		{"SELECT a FROM (SELECT a FROM t) AS f ANY LEFT JOIN (SELECT a FROM u) AS s USING (a) ORDER BY a", true},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Ordered(tt.q), tt.q)
	}
}

func TestSameResult(t *testing.T) {
	unordered := "SELECT a, b FROM t"
	ordered := "SELECT a, b FROM t ORDER BY a"
	require.True(t, SameResult(unordered, "1\tx\n2\ty\n", "2\ty\n1\tx\n"), "no ORDER BY: any order")
	require.False(t, SameResult(ordered, "1\tx\n2\ty\n", "2\ty\n1\tx\n"), "ORDER BY: the order counts")
	require.False(t, SameResult(unordered, "1\tx\n1\tx\n", "1\tx\n"), "a lost duplicate row counts")
	limited := "SELECT a FROM t WHERE b IN (SELECT b FROM u LIMIT 5) LIMIT 2"
	require.True(t, SameResult(limited, "1\n2\n", "3\n4\n"), "LIMIT without ORDER BY: any rows, as many")
	require.False(t, SameResult(limited, "1\n2\n", "1\n"), "LIMIT without ORDER BY: as many rows")
	require.True(t, SameResult(ordered, "a\t0000-00-00 00:00:00\t0000-00-00\n", "a\t1970-01-01 00:00:00\t1970-01-01\n"),
		"the zero DateTime and Date print differently")
	require.False(t, SameResult(ordered, "a\t1970-01-01 00:00:00\n", "a\t0000-00-00 00:00:00\n"),
		"only 18.16's spelling is rewritten")
}

// Statements are deduplicated across test databases and binaries, each run
// against the database with the most rows; the schema runs in every
// scenario and destructive statements come last.
func TestNewPlan(t *testing.T) {
	create := "CREATE TABLE IF NOT EXISTS `rptest_a_00000001`.t (a String) ENGINE = MergeTree ORDER BY a"
	captures := []Capture{{
		Dir: "api.test-1",
		Statements: []Statement{
			{Query: create}, // the log orders one second's statements roughly
			{Query: "CREATE DATABASE IF NOT EXISTS `rptest_a_00000001`"},
			{Query: "CREATE DATABASE `rptest_a_00000001`"},
			{Query: "DROP TABLE `rptest_a_00000001`.t"},
			{Query: "INSERT INTO `rptest_a_00000001`.t (a) FORMAT Native"},
			{Query: "SELECT a FROM `rptest_a_00000001`.t"},
			{Query: "CREATE DATABASE `rptest_b_00000002`"},
			{Query: "CREATE TABLE IF NOT EXISTS `rptest_b_00000002`.t (a String) ENGINE = MergeTree ORDER BY a"},
			{Query: "SELECT a FROM `rptest_b_00000002`.t"},
			{Query: "SELECT nope FROM `rptest_b_00000002`.t", Exception: "Missing columns"},
			{Query: "SELECT 1"},
		},
		Databases: map[string]Database{
			"rptest_a_00000001": {Name: "rptest_a_00000001", Tables: []Table{{Name: "t", NRows: 1, Rows: "x\n"}}},
			"rptest_b_00000002": {Name: "rptest_b_00000002", Tables: []Table{{Name: "t", NRows: 5, Rows: "1\n2\n3\n4\n5\n"}}},
		},
	}}
	p := NewPlan(captures)
	require.Equal(t, 11, p.Statements)
	require.Equal(t, 8, p.Entries, "3 schema statements, 5 others")
	byKey := map[string]*Scenario{}
	for _, s := range p.Scenarios {
		byKey[s.Key] = s
	}
	sqls := func(s *Scenario) []string {
		var out []string
		for _, e := range s.Entries {
			out = append(out, e.SQL)
		}
		return out
	}
	a, b := byKey["api.test-1|rptest_a_00000001"], byKey["api.test-1|rptest_b_00000002"]
	require.NotNil(t, a)
	require.NotNil(t, b)
	require.Equal(t, []string{"CREATE DATABASE `rpcheck`", "CREATE DATABASE IF NOT EXISTS `rpcheck`", Normalize(create)}, a.Schema)
	require.Equal(t, []string{"INSERT INTO `rpcheck`.t (a) FORMAT Native", "DROP TABLE `rpcheck`.t"}, sqls(a),
		"the drop after the insert")
	require.Equal(t, []string{"SELECT a FROM `rpcheck`.t", "SELECT nope FROM `rpcheck`.t"}, sqls(b),
		"the read runs where there are more rows")
	require.Equal(t, 1, b.Entries[1].Failed)
	require.Contains(t, p.Scenarios, byKey["api.test-1|"], "SELECT 1 names no database")
}

// A database the tests create themselves is renamed too, and without
// dumped rows its statements keep their log order (the rows come from an
// INSERT ... SELECT).
func TestNewPlanOwnDatabase(t *testing.T) {
	p := NewPlan([]Capture{{
		Dir: "bench.test-2",
		Statements: []Statement{
			{Query: "CREATE DATABASE IF NOT EXISTS riskbench_2_17c722"},
			{Query: "CREATE TABLE IF NOT EXISTS riskbench_2_17c722.t (a UInt64) ENGINE = MergeTree ORDER BY a"},
			{Query: "INSERT INTO riskbench_2_17c722.t (a) SELECT number FROM system.numbers LIMIT 10"},
			{Query: "SELECT count() FROM riskbench_2_17c722.t"},
			{Query: "DROP DATABASE IF EXISTS riskbench_2_17c722"},
			{Query: "SELECT count() FROM riskbench_2_17c722_old.t"},
		},
	}})
	require.Len(t, p.Scenarios, 2)
	s := p.Scenarios[1]
	require.Equal(t, "bench.test-2|riskbench_2_17c722", s.Key)
	require.Equal(t, []string{"CREATE DATABASE IF NOT EXISTS rpcheck",
		"CREATE TABLE IF NOT EXISTS rpcheck.t (a UInt64) ENGINE = MergeTree ORDER BY a"}, s.Schema)
	var got []string
	for _, e := range s.Entries {
		got = append(got, e.SQL)
	}
	require.Equal(t, []string{
		"INSERT INTO rpcheck.t (a) SELECT number FROM system.numbers LIMIT 10",
		"SELECT count() FROM rpcheck.t",
		"DROP DATABASE IF EXISTS rpcheck",
	}, got)
	require.Equal(t, "SELECT count() FROM riskbench_2_17c722_old.t", p.Scenarios[0].Entries[0].SQL,
		"only whole names are renamed")
}

// A scenario replays its statements that keep everything first, then those
// removing tables or rows, and a DROP DATABASE last: it is one entry for
// every scenario and may have been first seen before this one's removals.
func TestRemovalOrder(t *testing.T) {
	for q, want := range map[string]int{
		"SELECT 1": 0,
		"INSERT INTO `rpcheck`.t (a) FORMAT Native": 0,
		"ALTER TABLE `rpcheck`.t DELETE WHERE 1":    1,
		"DROP TABLE IF EXISTS `rpcheck`.t":          1,
		"DROP DATABASE IF EXISTS `rpcheck`":         2,
	} {
		require.Equal(t, want, removal(q), q)
	}
}
