package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/privacy"
	"github.com/riskpipe/riskpipe/internal/store"
)

// cmdPrivacy answers a privacy request from the command line:
//
//	riskpipe privacy access --config F --email E   # JSON export on stdout
//	riskpipe privacy delete --config F --email E   # returns when the deletion is complete
//
// The email is never logged; requested_by is "cli".
func cmdPrivacy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	kind := ""
	if len(args) > 0 && (args[0] == "access" || args[0] == "delete") {
		kind, args = args[0], args[1:]
	}
	fs := newFlagSet("privacy", "access|delete --config FILE --email EMAIL [--timeout D]", stdout)
	cfgPath := fs.String("config", "", "path to the YAML config (required)")
	email := fs.String("email", "", "the person's email address (required)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long (a deletion can be run again: it finishes the job)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if kind == "" {
		return usageError{errors.New("want `riskpipe privacy access ...` or `riskpipe privacy delete ...`")}
	}
	if cfg.Privacy.HashKey == "" {
		return usageError{&config.Error{Problems: []config.Problem{{Path: "privacy.hash_key", Msg: "required for privacy requests"}}}}
	}
	if _, err := privacy.NormalizeEmail(*email); err != nil {
		return usageError{errors.New("--email must be one email address")}
	}
	log := newLogger(stderr, cfg.Log.Format, cfg.Log.Level)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := store.Open(ctx, cfg.ClickHouse, log)
	if err != nil {
		return fmt.Errorf("open clickhouse at %s: %w", cfg.ClickHouse.Addr, err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// A riskpipe run writing heartbeats learns of this deletion from
	// privacy_requests within privacy.WatchInterval: the proof waits for
	// it to have forgotten the person (docs/privacy.md).
	var settle time.Duration
	if alive, err := st.PollersAlive(ctx); err == nil && alive > 0 {
		settle = 2 * privacy.WatchInterval
		log.Info("a riskpipe run is alive: the deletion's proof waits for it to forget the person", "wait", settle)
	}
	svc, err := privacy.New(privacy.Options{Conn: st.Conn(), Database: st.Database(), HashKey: cfg.Privacy.HashKey.Reveal(),
		Logger: log.With("component", "privacy"), SettleFor: settle})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if kind == "access" {
		res, err := svc.Access(ctx, *email, "cli")
		if err != nil {
			return err
		}
		return enc.Encode(res)
	}
	res, err := svc.Delete(ctx, *email, "cli")
	if res != nil {
		if eerr := enc.Encode(res); eerr != nil && err == nil {
			err = eerr
		}
	}
	if err != nil {
		return fmt.Errorf("deletion %s not complete (run it again to finish): %w", requestID(res), err)
	}
	if !res.Done() {
		return fmt.Errorf("deletion %s incomplete: %d mention(s) remain (%s)", res.RequestID, res.Remaining, res.Detail)
	}
	return nil
}

func requestID(r *privacy.DeletionResult) string {
	if r == nil {
		return "(not started)"
	}
	return r.RequestID
}
