package main

import (
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
)

// TestDemoResponse runs the demo with its API: a proposal for the most
// attacked user of the first org, the command to approve it, the action
// executed in the simulator and verified from its System Log.
func TestDemoResponse(t *testing.T) {
	t.Parallel()
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	r := runCLI(context.Background(), "demo", "--duration", "40s", "--clickhouse-addr", srv.Addr(), "--database", db,
		"--http-listen", "127.0.0.1:0", "--eps", "200", "--interval", "1s", "--progress", "10s", "--data-dir", t.TempDir(), "--orgs", "1")
	t.Logf("%s", r)
	require.Equal(t, exitOK, r.code, "%s", r)
	require.Regexp(t, `(?m)^response: identity ACME\\\S+ \(domain acme is this org's \(identity_domains\)\) matches \S+@acme\.example\.com with confidence 0\.\d+ \(.*\): a guess a person confirms$`, r.stdout)
	require.Regexp(t, `(?m)^response: the most attacked user of acme is \S+@acme\.example\.com \(score [\d.]+, \w+\); demo-analyst proposes add_to_group$`, r.stdout)
	m := regexp.MustCompile(`(?m)^response: action (act_[0-9a-f]+) is proposed \(group 00grestrictedacme\); approve it with:$`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	require.Regexp(t, `(?m)^  RISKPIPE_API_TOKEN=[0-9a-f]+ riskpipe action approve --url http://127\.0\.0\.1:\d+ --id `+m[1]+`$`, r.stdout)
	require.Contains(t, r.stdout, "response: demo-analyst may not approve its own proposal (four eyes): 403\n")
	require.Regexp(t, `(?m)^response: action `+m[1]+` succeeded in the simulator \(X-Okta-Request-Id \S+\), verified from the System Log: event [0-9a-f-]{36} at \S+$`, r.stdout)
}
