package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/simtest"
)

// riskpipe privacy access|delete: JSON on stdout, exit 0 only when the
// deletion is complete, usage errors exit 2, the email never in stderr.
func TestPrivacyCLI(t *testing.T) {
	t.Parallel()
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	base := fmt.Sprintf("clickhouse:\n  addr: %q\n  database: %q\nlog:\n  level: debug\n", srv.Addr(), db)
	cfg := writeFile(t, "riskpipe.yaml", base+"privacy:\n  hash_key: cli-test-hash-key-0123\n")
	noKey := writeFile(t, "nokey.yaml", base)
	ctx := context.Background()

	r := runCLI(ctx, "privacy", "delete", "--config", noKey, "--email", "zoe@example.com")
	require.Equal(t, exitUsage, r.code, "%s", r)
	require.Contains(t, r.stderr, "privacy.hash_key")
	r = runCLI(ctx, "privacy", "access", "--config", cfg, "--email", "not-an-email")
	require.Equal(t, exitUsage, r.code, "%s", r)
	r = runCLI(ctx, "privacy", "erase", "--config", cfg, "--email", "zoe@example.com")
	require.Equal(t, exitUsage, r.code, "%s", r)

	// Migrates, then nothing is known about zoe.
	r = runCLI(ctx, "privacy", "access", "--config", cfg, "--email", "zoe@example.com")
	require.Equal(t, exitOK, r.code, "%s", r)
	st := simtest.OpenStore(t, chtest.Config(srv, db))
	b, err := st.Conn().PrepareBatch(ctx, "INSERT INTO `"+db+"`.org_users (tenant, user_id, user_login, first_seen, last_seen, version)")
	require.NoError(t, err)
	require.NoError(t, b.Append("acme", "00uzoe00000000000001", "Zoe@Example.com", time.Now(), time.Now(), uint64(1)))
	require.NoError(t, b.Send())

	r = runCLI(ctx, "privacy", "access", "--config", cfg, "--email", "zoe@example.com")
	require.Equal(t, exitOK, r.code, "%s", r)
	var acc struct {
		Counts map[string]int `json:"counts"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &acc), r.stdout)
	require.Equal(t, map[string]int{"org_users": 1}, acc.Counts)

	r = runCLI(ctx, "privacy", "delete", "--config", cfg, "--email", "ZOE@example.com")
	require.Equal(t, exitOK, r.code, "%s", r)
	var del struct {
		Status    string         `json:"status"`
		Deleted   map[string]int `json:"deleted"`
		Remaining uint64         `json:"remaining"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &del), r.stdout)
	require.Equal(t, "done", del.Status)
	require.Equal(t, map[string]int{"org_users": 1}, del.Deleted)
	require.NotContains(t, r.stderr, "zoe")
	require.NotContains(t, r.stderr, "ZOE")
}
