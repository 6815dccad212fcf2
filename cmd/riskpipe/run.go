package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
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
	// SIGHUP reloads the config file (so does POST /-/reload, and a change
	// of the file with reload.watch).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	a, err := app.New(app.Options{Config: cfg, Logger: log, Version: version,
		ConfigPath: *cfgPath, ReloadSignals: hup,
		Reload: func() (*config.Config, error) { return config.Load(*cfgPath, os.LookupEnv) }})
	if err != nil {
		return err
	}
	if err := a.Run(ctx); err != nil {
		if errors.Is(err, app.ErrInvalidConfig) {
			return usageError{err}
		}
		return err
	}
	return nil
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
