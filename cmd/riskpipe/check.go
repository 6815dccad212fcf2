package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/riskpipe/riskpipe/internal/app"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/privilege"
	"github.com/riskpipe/riskpipe/internal/store"
)

// checkReport is what `riskpipe check --json` prints.
type checkReport struct {
	Config     string        `json:"config"`
	ClickHouse checkItem     `json:"clickhouse"`
	Tenants    []tenantCheck `json:"tenants"`
	// Failed counts the failed checks and the features missing something;
	// warnings count excess and unknown verdicts (exit 0).
	Failed   int `json:"failed"`
	Warnings int `json:"warnings"`
}

type checkItem struct {
	Target string `json:"target,omitempty"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Note   string `json:"note,omitempty"`
}

// tenantCheck is one tenant: can its System Log be read (one page), and
// the verdict on its credential for each enabled feature.
type tenantCheck struct {
	Tenant      string             `json:"tenant"`
	Enabled     bool               `json:"enabled"`
	SystemLog   *checkItem         `json:"system_log,omitempty"`
	Permissions []privilege.Result `json:"permissions,omitempty"`
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", "--config FILE [--json]", stdout)
	cfgPath := fs.String("config", "", "path to the YAML config (required)")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed for each probe")
	asJSON := fs.Bool("json", false, "print the report as JSON (for scripts)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.RequireTenants(); err != nil {
		return usageError{err} // as `run` would
	}
	log := newLogger(io.Discard, "text", "error")
	if os.Getenv("RISKPIPE_CHECK_VERBOSE") != "" {
		log = newLogger(stderr, "text", "debug")
	}
	rep := checkReport{Config: *cfgPath, Tenants: []tenantCheck{}}
	if !*asJSON {
		fmt.Fprintf(stdout, "config %s: ok (%d tenants)\n", *cfgPath, len(cfg.Tenants))
		for _, w := range cfg.Warnings() {
			fmt.Fprintf(stdout, "config warning: %s\n", w)
		}
	}
	report := func(what string, err error) checkItem {
		if err != nil {
			rep.Failed++
			if !*asJSON {
				fmt.Fprintf(stdout, "%-32s FAIL  %v\n", what, err)
			}
			return checkItem{OK: false, Error: err.Error()}
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "%-32s ok\n", what)
		}
		return checkItem{OK: true}
	}

	cctx, cancel := context.WithTimeout(ctx, *timeout)
	st, err := store.Open(cctx, cfg.ClickHouse, log)
	var note string
	if err == nil {
		var cur, known int
		cur, known, err = st.SchemaVersion(cctx)
		switch {
		case err != nil:
		case cur > known:
			err = &store.SchemaTooNewError{Database: cfg.ClickHouse.Database, Current: cur, Known: known}
		case cur < known:
			// Not a failure: `run` migrates at start, as `migrate` does.
			note = fmt.Sprintf("(database %s at schema version %d of %d: 'riskpipe run' migrates it at start)",
				cfg.ClickHouse.Database, cur, known)
		}
		st.Close()
	}
	cancel()
	if err == nil && note != "" {
		rep.ClickHouse = checkItem{OK: true, Note: note}
		if !*asJSON {
			fmt.Fprintf(stdout, "%-32s ok  %s\n", "clickhouse "+cfg.ClickHouse.Addr, note)
		}
	} else {
		rep.ClickHouse = report("clickhouse "+cfg.ClickHouse.Addr, err)
	}
	rep.ClickHouse.Target = cfg.ClickHouse.Addr

	for i, t := range cfg.Tenants {
		tc := tenantCheck{Tenant: t.Name, Enabled: t.IsEnabled()}
		name := "tenant " + t.Name
		if !t.IsEnabled() {
			if !*asJSON {
				fmt.Fprintf(stdout, "%-32s skipped (disabled)\n", name)
			}
			rep.Tenants = append(rep.Tenants, tc)
			continue
		}
		item := report(name, checkTenant(ctx, t, *timeout, log))
		tc.SystemLog = &item
		key := fmt.Sprintf("tenants[%d]", i)
		tc.Permissions = checkPermissions(ctx, t, key, privilege.Features(t), privilege.Options{}, *timeout, log)
		if rt, rkey, fs, ok := privilege.ResponseCredential(t, key); ok {
			// tenants[].response.auth: judged for what it is used for.
			tc.Permissions = append(tc.Permissions, checkPermissions(ctx, rt, rkey, fs, privilege.Options{Response: true}, *timeout, log)...)
		}
		for _, r := range tc.Permissions {
			switch r.Verdict {
			case privilege.VerdictMissing:
				rep.Failed++
			case privilege.VerdictExcess, privilege.VerdictUnknown:
				rep.Warnings++
			}
		}
		rep.Tenants = append(rep.Tenants, tc)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printPermissions(stdout, rep)
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d check(s) failed", rep.Failed)
	}
	return nil
}

// printPermissions prints every tenant's verdicts, one block per feature.
func printPermissions(w io.Writer, rep checkReport) {
	var header bool
	for _, tc := range rep.Tenants {
		for _, r := range tc.Permissions {
			if !header {
				fmt.Fprintln(w, "\npermissions (per tenant and feature):")
				header = true
			}
			what := r.Tenant + " " + string(r.Feature)
			if r.Credential != "" {
				what += " (" + r.Credential + ")"
			}
			fmt.Fprintf(w, "%-32s %s\n", what, r.Verdict)
			fmt.Fprintf(w, "    needed:  %s\n", r.Needed)
			fmt.Fprintf(w, "    granted: %s\n", r.Granted)
			if r.Fix != "" {
				fmt.Fprintf(w, "    fix:     %s\n", r.Fix)
			}
		}
	}
	if rep.Warnings > 0 {
		fmt.Fprintf(w, "\n%d warning(s): excess and unknown verdicts do not fail the check\n", rep.Warnings)
	}
}

// checkPermissions finds out what t's credential may do and judges the
// features, with harmless GETs where Okta does not say and, for a service
// app, a token request per scope to name a scope not granted.
func checkPermissions(ctx context.Context, t config.Tenant, key string, features []privilege.Feature, o privilege.Options,
	timeout time.Duration, log *slog.Logger) []privilege.Result {
	client, err := app.NewOktaClient(t, version, log, nil, nil)
	if err != nil {
		cred := ""
		if o.Response {
			cred = privilege.CredentialResponse
		}
		return []privilege.Result{{Tenant: t.Name, Feature: features[0], Credential: cred, Verdict: privilege.VerdictUnknown,
			Granted: "unknown: " + err.Error()}}
	}
	clients := []*okta.Client{client}
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	o.Probe = true
	o.Scoped = func(scopes []string) (privilege.Prober, error) {
		s := t
		s.Auth.Scopes = slices.Clone(scopes)
		c, err := app.NewOktaClient(s, version, log, nil, nil)
		if err == nil {
			clients = append(clients, c)
		}
		return c, err
	}
	return privilege.Check(ctx, t, key, features, client, o)
}

// checkTenant proves riskpipe may read the tenant's System Log: it fetches
// one page (limit 1) of the last minute with the configured credentials.
func checkTenant(ctx context.Context, t config.Tenant, timeout time.Duration, log *slog.Logger) error {
	client, err := app.NewOktaClient(t, version, log, nil, nil)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	page, err := client.Fetch(ctx, client.PollURL(time.Now().Add(-time.Minute), 1))
	if err != nil {
		return err
	}
	defer page.Release()
	if page.Invalid != nil {
		return fmt.Errorf("the System Log answered with an invalid body: %w", page.Invalid)
	}
	return nil
}
