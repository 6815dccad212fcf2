package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// check agrees with run: a config that run rejects, check rejects the same
// way (exit 2, the same problem).
func TestCheckRejectsWhatRunRejects(t *testing.T) {
	t.Parallel()
	cfg := writeFile(t, "no-tenants.yaml", "clickhouse:\n  addr: 127.0.0.1:1\ntenants: []\n")
	for _, cmd := range []string{"run", "check"} {
		r := runCLI(context.Background(), cmd, "--config", cfg)
		require.Equal(t, exitUsage, r.code, "%s: %s", cmd, r)
		require.Contains(t, r.stderr, "riskpipe "+cmd+": tenants: no tenant configured", cmd)
	}
}

// status reads ClickHouse only: the API tokens' and the Okta credentials'
// environment variables need not be set; ClickHouse's own still must be.
func TestStatusNeedsNoCredentialVariables(t *testing.T) {
	t.Parallel()
	const unsetAPI, unsetOkta = "RISKPIPE_TEST_UNSET_API_TOKEN_7c1d", "RISKPIPE_TEST_UNSET_OKTA_TOKEN_7c1d"
	body := "clickhouse:\n  addr: 127.0.0.1:1\n  database: okta_risk\n" +
		"api:\n  tokens:\n    - name: ops\n      token: ${" + unsetAPI + "}\n      tenants: [\"*\"]\n" +
		"tenants:\n  - name: acme\n    base_url: https://acme.okta.com\n    auth:\n      method: api_token\n      token: ${" + unsetOkta + "}\n"
	cfg := writeFile(t, "status.yaml", body)

	r := runCLI(context.Background(), "status", "--config", cfg, "--timeout", "2s")
	require.Equal(t, exitRuntime, r.code, "the config loads; ClickHouse is what fails: %s", r)
	require.Contains(t, r.stderr, "riskpipe status: open clickhouse at 127.0.0.1:1")

	// run and check do need them.
	for _, cmd := range []string{"run", "check"} {
		r := runCLI(context.Background(), cmd, "--config", cfg)
		require.Equal(t, exitUsage, r.code, "%s: %s", cmd, r)
		require.Contains(t, r.stderr, "environment variable "+unsetAPI+" is not set", cmd)
	}

	// A variable ClickHouse needs is still required.
	const unsetCH = "RISKPIPE_TEST_UNSET_CH_PASSWORD_7c1d"
	cfg = writeFile(t, "status-ch.yaml", "clickhouse:\n  addr: 127.0.0.1:1\n  password: ${"+unsetCH+"}\n"+body[len("clickhouse:\n  addr: 127.0.0.1:1\n"):])
	r = runCLI(context.Background(), "status", "--config", cfg)
	require.Equal(t, exitUsage, r.code, "%s", r)
	require.Contains(t, r.stderr, "clickhouse.password: environment variable "+unsetCH+" is not set")
}
