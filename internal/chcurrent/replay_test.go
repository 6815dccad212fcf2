package chcurrent

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeEngine answers set-up statements with nothing and the statements in
// answers with their result, or an error for "!message".
type fakeEngine struct {
	answers map[string]string
	ran     []string
}

func (f *fakeEngine) Exec(sql, data string) (string, error) {
	f.ran = append(f.ran, sql)
	a := f.answers[sql]
	if strings.HasPrefix(a, "!") {
		return "", errors.New(a[1:])
	}
	return a, nil
}

func TestReplayReports(t *testing.T) {
	var (
		same      = "SELECT a FROM `rpcheck`.t"
		differs   = "SELECT b FROM `rpcheck`.t ORDER BY b"
		rejected  = "SELECT c FROM `rpcheck`.t"
		bothBad   = "SELECT nope FROM `rpcheck`.t"
		oldOnly   = "SELECT toStartOfInterval(now(), INTERVAL 1 hour)"
		version   = "SELECT version()"
		write     = "OPTIMIZE TABLE `rpcheck`.t FINAL"
		create    = "CREATE TABLE IF NOT EXISTS `rpcheck`.t (a String) ENGINE = MergeTree ORDER BY a"
		curReject = "CREATE TABLE IF NOT EXISTS `rpcheck`.u (a LowCardinality(String)) ENGINE = Log"
	)
	old := &fakeEngine{answers: map[string]string{
		same: "1\n2\n", differs: "1\n2\n", bothBad: "!Missing columns", oldOnly: "!Unknown function", version: "18.16.1\n",
	}}
	cur := &fakeEngine{answers: map[string]string{
		same: "2\n1\n", differs: "2\n1\n", rejected: "!ALIAS_REQUIRED", bothBad: "!UNKNOWN_IDENTIFIER", version: "26.5.1.1\n",
	}}
	old.answers[curReject] = ""
	cur.answers[curReject] = "!Code: 36"
	entry := func(q string) *Entry { return &Entry{SQL: q, Kind: Classify(q), Seen: 1} }
	failed := func(q string) *Entry { return &Entry{SQL: q, Kind: Classify(q), Seen: 2, Failed: 2} }
	unchecked := "SELECT a FROM `rpcheck`.gone"
	old.answers[unchecked], cur.answers[unchecked] = "!UNKNOWN_TABLE", "!UNKNOWN_TABLE"
	p := &Plan{Scenarios: []*Scenario{{
		Key:     "x",
		Schema:  []string{create, curReject},
		Data:    Database{Tables: []Table{{Name: "t", Rows: "1\n2\n", NRows: 2}}},
		Entries: []*Entry{entry(same), entry(differs), entry(rejected), failed(bothBad), entry(oldOnly), entry(write), entry(version), entry(unchecked)},
	}}}
	r, err := Replay(old, cur, p)
	require.NoError(t, err)
	var got []string
	for _, f := range r.Failures {
		got = append(got, f.Kind+": "+f.SQL)
	}
	require.Equal(t, []string{
		"rejected by the current engine: " + curReject,
		"result differs on the current engine: " + differs,
		"rejected by the current engine: " + rejected,
		"not checked (18.16 ran it in the tests, both engines reject it in the replay): " + unchecked,
	}, got)
	require.Equal(t, 1, r.Compared, "the unordered read")
	require.Equal(t, 1, r.BothReject, "the read every test run saw fail")
	require.Equal(t, 1, r.OldRejects)
	require.Equal(t, 1, r.ServerState, "version(): accepted, not compared")
	require.Equal(t, 2, r.Accepted, "the first CREATE and the OPTIMIZE")
	require.Equal(t, "SET optimize_on_insert = 0", cur.ran[0], "rows kept as inserted on the current engine")
	require.Contains(t, cur.ran, "INSERT INTO `rpcheck`.`t` FORMAT TabSeparated", "the dumped rows")
	require.Contains(t, old.ran, "INSERT INTO `rpcheck`.`t` FORMAT TabSeparated")
	i := indexOf(old.ran, write)
	require.Equal(t, []string{"SYSTEM START MERGES", write, "SYSTEM STOP MERGES"}, old.ran[i-1:i+2], "merges only for OPTIMIZE")
	require.Contains(t, r.Failures[1].String(), "18.16 result:\n    1\n    2\n")
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
