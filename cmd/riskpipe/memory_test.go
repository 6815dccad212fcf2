package main

import (
	"log/slog"
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

// applyMemory sets GOGC and the soft memory limit from the config unless
// the environment sets them.
func TestApplyMemory(t *testing.T) {
	prevGC, prevLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(prevGC); debug.SetMemoryLimit(prevLimit) })
	enabled, disabled := true, false
	cfg := config.Default()
	cfg.Tenants = []config.Tenant{{Name: "a", Enabled: &enabled}, {Name: "b", Enabled: &enabled}, {Name: "c", Enabled: &disabled}}
	log := slog.New(slog.DiscardHandler)
	noEnv := func(string) (string, bool) { return "", false }

	applyMemory(&cfg, noEnv, log)
	require.Equal(t, 50, debug.SetGCPercent(100), "gc_percent")
	require.Equal(t, cfg.Memory.SoftLimit(2), debug.SetMemoryLimit(math.MaxInt64), "derived for the two enabled tenants")

	both := func(k string) (string, bool) { return "set", k == "GOGC" || k == "GOMEMLIMIT" }
	applyMemory(&cfg, both, log)
	require.Equal(t, 100, debug.SetGCPercent(100), "GOGC in the environment wins")
	require.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(math.MaxInt64), "GOMEMLIMIT in the environment wins")

	cfg.Memory.LimitMiB = -1
	applyMemory(&cfg, noEnv, log)
	require.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(math.MaxInt64), "limit_mib -1: none")
}
