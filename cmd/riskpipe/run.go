package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/riskpipe/riskpipe/internal/app"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/store"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "--config FILE", stdout)
	cfgPath := fs.String("config", "", "path to the YAML config (required)")
	logFormat := fs.String("log-format", "", "text or json (default: log.format from the config)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.RequireTenants(); err != nil {
		return usageError{err}
	}
	format := cfg.Log.Format
	if *logFormat != "" {
		format = *logFormat
	}
	log := newLogger(stderr, format, cfg.Log.Level)
	applyMemory(cfg, os.LookupEnv, log)
	a, err := app.New(app.Options{Config: cfg, Logger: log, Version: version})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "--config FILE", stdout)
	cfgPath := fs.String("config", "", "path to the YAML config (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log.Format, cfg.Log.Level)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, cfg.ClickHouse, log)
	if err != nil {
		return fmt.Errorf("open clickhouse at %s: %w", cfg.ClickHouse.Addr, err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	cur, _, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema of database %s is at version %d\n", cfg.ClickHouse.Database, cur)
	return nil
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", "--config FILE", stdout)
	cfgPath := fs.String("config", "", "path to the YAML config (required)")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed for each probe")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "config %s: ok (%d tenants)\n", *cfgPath, len(cfg.Tenants))
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stdout, "config warning: %s\n", w)
	}
	log := newLogger(io.Discard, "text", "error")
	if os.Getenv("RISKPIPE_CHECK_VERBOSE") != "" {
		log = newLogger(stderr, "text", "debug")
	}
	failed := 0
	report := func(what string, err error) {
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "%-32s FAIL  %v\n", what, err)
			return
		}
		fmt.Fprintf(stdout, "%-32s ok\n", what)
	}

	cctx, cancel := context.WithTimeout(ctx, *timeout)
	st, err := store.Open(cctx, cfg.ClickHouse, log)
	if err == nil {
		var cur, known int
		cur, known, err = st.SchemaVersion(cctx)
		if err == nil && cur != known {
			err = fmt.Errorf("schema at version %d, this riskpipe knows %d: run 'riskpipe migrate'", cur, known)
		}
		st.Close()
	}
	cancel()
	report("clickhouse "+cfg.ClickHouse.Addr, err)

	for _, t := range cfg.Tenants {
		name := "tenant " + t.Name
		if !t.IsEnabled() {
			fmt.Fprintf(stdout, "%-32s skipped (disabled)\n", name)
			continue
		}
		report(name, checkTenant(ctx, t, *timeout, log))
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}

// applyMemory sets the Go runtime's GC knobs from the memory block, unless
// GOGC and GOMEMLIMIT are in the environment: gc_percent, and the soft
// limit (config.Memory.SoftLimit) for the enabled tenants.
func applyMemory(cfg *config.Config, env func(string) (string, bool), log *slog.Logger) {
	m := cfg.Memory
	if _, ok := env("GOGC"); !ok && m.GCPercent > 0 {
		debug.SetGCPercent(m.GCPercent)
	}
	if _, ok := env("GOMEMLIMIT"); ok {
		return
	}
	if limit := m.SoftLimit(cfg.EnabledTenants()); limit > 0 {
		debug.SetMemoryLimit(limit)
		log.Debug("go soft memory limit set", "limit_mib", limit>>20)
	}
}
