package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
)

// TestDemo runs the demo in-process against the test ClickHouse: three
// simulated orgs (API token, private_key_jwt with DPoP, client_secret),
// progress lines while it runs, then a summary read back from ClickHouse
// naming each org's most attacked users.
func TestDemo(t *testing.T) {
	t.Parallel()
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	r := runCLI(context.Background(), "demo", "--duration", "15s", "--clickhouse-addr", srv.Addr(), "--database", db,
		"--http-listen", "", "--eps", "200", "--interval", "1s", "--progress", "2s", "--data-dir", t.TempDir())
	t.Logf("%s", r)
	require.Equal(t, exitOK, r.code, "%s", r)
	require.NotContains(t, r.stdout, "started a private ClickHouse", "a server answered at --clickhouse-addr")

	orgs := []string{"acme", "globex", "initech"}
	require.Contains(t, r.stdout, "riskpipe demo: 3 simulated Okta orgs")
	require.Regexp(t, `(?m)^pipeline running: ClickHouse `+regexp.QuoteMeta(srv.Addr())+`, database `+db+`$`, r.stdout)
	for _, org := range orgs {
		// Progress: per org, what was polled and kept.
		require.Regexp(t, `(?m)^\[\d+s\].*  `+org+`: polled [1-9]\d* kept \d+ lag \S+ \(\w+\)`, r.stdout)
	}

	summary, ok := strings.CutPrefix(r.stdout[strings.Index(r.stdout, "\nsummary\n"):], "\nsummary\n")
	require.True(t, ok, "no summary:\n%s", r.stdout)
	for i, org := range orgs {
		section := summary[strings.Index(summary, "\n"+org+" "):]
		if i+1 < len(orgs) {
			section = section[:strings.Index(section, "\n"+orgs[i+1]+" ")]
		}
		require.Regexp(t, `^\n`+org+` +kept [1-9]\d* risk events: \w+ \d+`, section)
		// The org's most attacked users, by login (the columns after
		// the login are the summary's business, not this test's).
		require.Regexp(t, `(?m)^ +[a-z0-9.]+@`+org+`\.example\.com +\S`, section)
	}
	// The credential checks and a hot reload that rotates acme's token.
	require.Regexp(t, `(?m)^  acme +system_log +excess +this API token belongs to a Super Administrator`, r.stdout)
	require.Regexp(t, `(?m)^hot reload .*rotated the API token of acme and raised its response.max_actions_per_hour from \d+ to \d+ without a restart: client: acme$`, r.stdout)
	require.Contains(t, r.stdout, "where to look next:")
	require.Contains(t, r.stdout, db+".risk_events FINAL")

	// A privacy access and deletion for the most attacked user: done,
	// nothing left, and access finds nothing afterwards.
	require.Regexp(t, `(?m)^  access   [0-9a-f]{32}: tenants \S+, rows .*risk_events=[1-9]`, r.stdout)
	require.Regexp(t, `(?m)^  deletion [0-9a-f]{32}: done in \d+ ms, deleted .*risk_events=[1-9]\d*.*, remaining 0$`, r.stdout)
	require.Contains(t, r.stdout, "  access again: rows none\n")
}
