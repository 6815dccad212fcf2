package chtest_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

func TestStartOncePerBinary(t *testing.T) {
	a := chtest.Start(t)
	b := chtest.Start(t)
	require.Same(t, a, b)
	require.NotEmpty(t, a.Addr())
}

func TestNewDatabaseDroppedAfterTest(t *testing.T) {
	srv := chtest.Start(t)
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.Addr()}})
	require.NoError(t, err)
	defer conn.Close()
	exists := func(db string) bool {
		var n uint64
		require.NoError(t, conn.QueryRow(context.Background(),
			"SELECT count() FROM system.databases WHERE name = ?", db).Scan(&n))
		return n == 1
	}

	var first, second string
	t.Run("sub/Test Name", func(t *testing.T) {
		first = chtest.NewDatabase(t, srv)
		second = chtest.NewDatabase(t, srv)
		require.NotEqual(t, first, second)
		require.Regexp(t, `^rptest_[a-z0-9_]+_[0-9a-f]{8}$`, first)
		require.True(t, exists(first))
		require.NoError(t, conn.Exec(context.Background(),
			"CREATE TABLE `"+first+"`.t (x UInt8) ENGINE = MergeTree ORDER BY x"))
	})
	require.False(t, exists(first), "dropped with its test")
	require.False(t, exists(second), "dropped with its test")
}

func TestConfig(t *testing.T) {
	srv := chtest.Start(t)
	cfg := chtest.Config(srv, "x")
	require.Equal(t, srv.Addr(), cfg.Addr)
	require.Equal(t, "x", cfg.Database)
}

// TestNoBinary runs TestHelperNeedsClickHouse in a child process without a
// ClickHouse binary: skipped with an install hint, failed when CI=true.
func TestNoBinary(t *testing.T) {
	tests := []struct {
		name     string
		ci       string
		wantFail bool
		want     string
	}{
		{name: "developer", ci: "", want: "--- SKIP: TestHelperNeedsClickHouse"},
		{name: "ci", ci: "true", wantFail: true, want: "--- FAIL: TestHelperNeedsClickHouse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNeedsClickHouse$", "-test.v")
			cmd.Env = append(os.Environ(), "CHTEST_HELPER=1", "CI="+tt.ci,
				chtest.EnvBinary+"=/nonexistent/clickhouse-server", chtest.EnvAddr+"=")
			out, err := cmd.CombinedOutput()
			if tt.wantFail {
				require.Error(t, err, "%s", out)
			} else {
				require.NoError(t, err, "%s", out)
			}
			require.Contains(t, string(out), tt.want)
			require.Contains(t, string(out), chtest.InstallHint)
		})
	}
}

func TestHelperNeedsClickHouse(t *testing.T) {
	if os.Getenv("CHTEST_HELPER") != "1" {
		t.Skip("run by TestNoBinary")
	}
	chtest.Start(t)
	t.Error("Start returned without a binary")
}
