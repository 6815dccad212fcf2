package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/riskpipe/riskpipe/internal/api"
	"github.com/riskpipe/riskpipe/internal/app"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/store"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "[flags]", stdout)
	duration := fs.Duration("duration", 0, "run at least this long, then stop once every org has an attacked user (and the response demo is done) and print the summary (0: until Ctrl-C)")
	orgs := fs.Int("orgs", 3, "number of simulated orgs")
	eps := fs.Float64("eps", 100, "events per second per simulated org")
	chAddr := fs.String("clickhouse-addr", "127.0.0.1:9000", "ClickHouse native address; when nothing answers there, a private server is started")
	dataDir := fs.String("data-dir", ".data/clickhouse", "data directory of the private ClickHouse server")
	database := fs.String("database", "okta_risk", "ClickHouse database")
	httpListen := fs.String("http-listen", "127.0.0.1:8080", "riskpipe's HTTP address (metrics, status, API); empty disables")
	simListen := fs.String("sim-listen", "127.0.0.1:0", "the simulator's address")
	interval := fs.Duration("interval", 5*time.Second, "poll interval")
	progress := fs.Duration("progress", 5*time.Second, "how often to print progress")
	logLevel := fs.String("log-level", "warn", "riskpipe's log level during the demo")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *orgs < 1 {
		return usageError{errors.New("--orgs must be at least 1")}
	}
	// --duration is how long the demo runs at least: then it stops as soon
	// as what it shows is there (demo_finish.go), within demoFinishGuard.
	var minRun <-chan time.Time
	if *duration > 0 {
		t := time.NewTimer(*duration)
		defer t.Stop()
		minRun = t.C
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	log := newLogger(stderr, "text", *logLevel)
	stdout = &syncWriter{w: stdout} // the response demo prints from its goroutine

	// The simulator: org 1 uses an API token, org 2 an OAuth service app
	// with private_key_jwt and DPoP required (as new Okta service apps
	// are), org 3 client_secret, and so on round robin.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	start := time.Now()
	orgOpts, _, err := simOrgs(simSettings{orgs: *orgs, scenario: scenario.ScenarioDemo, seed: 1, users: 500,
		eps: *eps, jwtKey: key, requireDPoP: true}, start)
	if err != nil {
		return err
	}
	sim, err := oktasim.New(oktasim.Options{Orgs: orgOpts, Seed: 1, Logger: log})
	if err != nil {
		return err
	}
	simLn, err := net.Listen("tcp", *simListen)
	if err != nil {
		return fmt.Errorf("simulator listen: %w", err)
	}
	simSrv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	defer simSrv.Close()
	simBase := "http://" + simLn.Addr().String()

	cfg := config.Default()
	cfg.ClickHouse.Addr = *chAddr
	cfg.ClickHouse.Database = *database
	cfg.ClickHouse.Managed = true
	cfg.ClickHouse.DataDir = *dataDir
	cfg.HTTP.Listen = *httpListen
	cfg.Poll.Interval = *interval
	// Percentiles are relative to a population that grows quickly in a
	// short demo: refresh them often (production: hourly).
	cfg.Score.RefreshEvery = 20 * time.Second
	for i, name := range sim.Orgs() {
		t := config.Tenant{Name: name, Description: "simulated org", BaseURL: sim.BaseURL(simBase, name), Poll: cfg.Poll}
		switch i % 3 {
		case 0:
			t.Auth = config.Auth{Method: config.AuthAPIToken, Token: config.Secret("sim-token-" + name)}
			if i == 0 { // response actions (demo_response.go)
				t.Response = demoResponseConfig(name)
			}
		case 1:
			t.Auth = config.Auth{Method: config.AuthPrivateKeyJWT, ClientID: "sim-jwt-" + name, Signer: key,
				Scopes: []string{config.ScopeLogsRead}, DPoP: config.DPoPAuto}
		case 2:
			t.Auth = config.Auth{Method: config.AuthClientSecret, ClientID: "sim-client-" + name,
				ClientSecret: config.Secret("sim-secret-" + name), Scopes: []string{config.ScopeLogsRead}, DPoP: config.DPoPAuto}
		}
		cfg.Tenants = append(cfg.Tenants, t)
	}

	stopSink, err := demoMailSink(&cfg, stdout) // notifications to each org's contacts, printed
	if err != nil {
		return err
	}
	defer stopSink()

	chSrv, err := app.EnsureClickHouse(ctx, &cfg.ClickHouse, log)
	if err != nil {
		return err
	}
	if chSrv != nil {
		fmt.Fprintf(stdout, "started a private ClickHouse at %s (data in %s)\n", chSrv.Addr(), *dataDir)
		defer func() { _ = chSrv.Stop() }()
	}
	cfg.ClickHouse.Managed = false

	fmt.Fprintf(stdout, "riskpipe demo: %d simulated Okta orgs at %s, %g events/s each (about 2%% identity-risk events)\n", *orgs, simBase, *eps)
	for _, t := range cfg.Tenants {
		fmt.Fprintf(stdout, "  %-10s %-18s %s\n", t.Name, t.Auth.Method, t.BaseURL)
	}
	// An API token for the dashboard, valid for this run only.
	tok := make([]byte, 16)
	rand.Read(tok)
	token := hex.EncodeToString(tok)
	cfg.API.Tokens = []config.APIToken{{Name: "demo", Token: config.Secret(token), Tenants: []string{config.AllTenants}}}
	respTokens, respAPITokens := newDemoTokens()
	cfg.API.Tokens = append(cfg.API.Tokens, respAPITokens...)
	responseDone := make(chan struct{})
	var responseStarted atomic.Bool // set by Ready, on the app's goroutine
	responseCtx, stopResponse := context.WithCancel(runCtx)
	defer stopResponse()
	var dashboard string
	demoPrivacyConfig(&cfg)
	applyMemory(&cfg, os.LookupEnv, log)
	// The configuration a hot reload reads (SIGHUP, POST /-/reload and
	// reload.watch read the file instead).
	var next atomic.Pointer[config.Config]
	next.Store(&cfg)
	// The dashboard link carries a one-time code, not the token: the
	// browser exchanges it once for the token, which stays out of its
	// history (the code is void after that, or after demoSignInTTL).
	codes := api.NewSignInCodes(nil)
	a, err := app.New(app.Options{Config: &cfg, Logger: log, Version: version, SignInCodes: codes,
		Reload: func() (*config.Config, error) { return next.Load(), nil }, Ready: func(httpAddr string) {
			fmt.Fprintf(stdout, "pipeline running: ClickHouse %s, database %s\n", cfg.ClickHouse.Addr, cfg.ClickHouse.Database)
			if httpAddr != "" {
				dashboard = "http://" + httpAddr + "/"
				link := dashboard
				if code, err := codes.Issue(token, demoSignInTTL); err == nil {
					link = dashboard + "#/sign-in/" + code
				}
				fmt.Fprintf(stdout, "dashboard: %s  (one-time sign-in, valid %s; afterwards sign in with the token below)\n", link, demoSignInTTL)
				fmt.Fprintf(stdout, "API:       curl -H 'Authorization: Bearer %s' http://%s/api/v1/orgs\n", token, httpAddr)
				responseStarted.Store(true)
				go func() {
					defer close(responseDone)
					demoResponse(responseCtx, stdout, "http://"+httpAddr, cfg.Tenants[0].Name, respTokens)
				}()
			}
		}})
	if err != nil {
		return err
	}

	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	tick := time.NewTicker(*progress)
	defer tick.Stop()
	reloaded := false
	finish := newDemoFinish(cfg)
	defer finish.close()
	var (
		check   <-chan time.Time // while finishing: look again
		guard   <-chan time.Time // while finishing: stop anyway
		missing string
	)
	for {
		select {
		case err := <-done:
			stopResponse()
			if responseStarted.Load() {
				<-responseDone
			}
			if err != nil {
				return err
			}
			printProgress(stdout, a.Statuses(), time.Since(start)) // every page written is counted now
			if err := demoSummary(stdout, cfg, dashboard); err != nil {
				return err
			}
			return demoPrivacy(stdout, cfg)
		case <-tick.C:
			printProgress(stdout, a.Statuses(), time.Since(start))
			if !reloaded {
				reloaded = true
				demoReload(stdout, a, sim, cfg, &next)
			}
		case <-minRun:
			minRun = nil
			guard = time.After(demoFinishGuard)
			check = time.After(0)
		case <-check:
			if missing = finish.missing(ctx, responseStarted.Load(), responseDone); missing == "" {
				check, guard = nil, nil
				stopRun()
				continue
			}
			check = time.After(time.Second)
		case <-guard:
			check, guard = nil, nil
			fmt.Fprintln(stdout, finish.describe(missing))
			stopRun()
		}
	}
}

// demoReload shows the credential checks riskpipe ran at start, then
// rotates the first org's API token and changes its response budget with a
// hot reload while it polls: the org's poller is not restarted, the others
// are not touched.
func demoReload(w io.Writer, a *app.App, sim *oktasim.Server, cfg config.Config, next *atomic.Pointer[config.Config]) {
	fmt.Fprintln(w, "credentials (least privilege, as 'riskpipe check' reports them):")
	for _, p := range a.Permissions() {
		fmt.Fprintf(w, "  %-10s %-12s %-8s %s\n", p.Tenant, p.Feature, p.Verdict, p.Fix)
	}
	rotated := cfg
	rotated.Tenants = slices.Clone(cfg.Tenants)
	t := &rotated.Tenants[0]
	if t.Auth.Method != config.AuthAPIToken {
		return
	}
	tok := "sim-token-rotated-" + t.Name
	sim.Org(t.Name).AddToken(tok, oktasim.TokenOwner{})
	t.Auth.Token = config.Secret(tok)
	// Response settings apply at once too (the response service takes them
	// between two sweeps; its open actions stay).
	budget := ""
	if t.Response.Enabled() {
		before := t.Response.MaxActionsPerHour
		t.Response.MaxActionsPerHour += 5
		budget = fmt.Sprintf(" and raised its response.max_actions_per_hour from %d to %d", before, t.Response.MaxActionsPerHour)
	}
	next.Store(&rotated)
	st := a.Reload(app.TriggerAPI)
	if !st.Successful {
		fmt.Fprintf(w, "hot reload refused: %s\n", st.Error)
		return
	}
	fmt.Fprintf(w, "hot reload (as SIGHUP or POST /-/reload would): rotated the API token of %s%s without a restart: %s\n", t.Name, budget, st.Changes)
}

// demoSignInTTL is how long the demo's one-time sign-in link works.
const demoSignInTTL = 15 * time.Minute

func printProgress(w io.Writer, sts []poll.Status, elapsed time.Duration) {
	fmt.Fprintf(w, "[%s]", elapsed.Round(time.Second))
	for _, s := range sts {
		lag := "-"
		if !s.NewestPublished.IsZero() {
			lag = time.Since(s.NewestPublished).Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(w, "  %s: polled %d kept %d lag %s (%s)", s.Tenant, s.EventsPolled, s.EventsKept, lag, s.State)
	}
	fmt.Fprintln(w)
}

// demoSummary prints, per org, what was kept and the most attacked users,
// read back from ClickHouse.
func demoSummary(w io.Writer, cfg config.Config, dashboard string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, cfg.ClickHouse, nil)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	defer st.Close()
	rep, err := app.Summary(ctx, st.Conn(), cfg.ClickHouse.Database, cfg.Score, 5)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nsummary")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	tenants := make([]string, 0, len(rep))
	for t := range rep {
		tenants = append(tenants, t)
	}
	sort.Strings(tenants)
	for _, t := range tenants {
		r := rep[t]
		fmt.Fprintf(tw, "\n%s\tkept %d risk events:", t, r.Kept)
		for _, c := range r.Categories {
			fmt.Fprintf(tw, " %s %d", c.Name, c.Count)
		}
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "\tmost attacked users\tscore\tpercentile\tlevel\tsignals\twhy")
		for _, u := range r.TopUsers {
			fmt.Fprintf(tw, "\t%s\t%.1f\t%.1f\t%s\t%d\t%s\n", u.Login, u.Score, u.Percentile, u.Level, u.Signals, u.Explanation)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nwhere to look next:\n")
	if dashboard != "" {
		fmt.Fprintf(w, "  the dashboard (while the demo runs): %s\n", dashboard)
	}
	fmt.Fprintf(w, "  clickhouse-client --port %s -q \"SELECT tenant, category, count() FROM %s.risk_events FINAL GROUP BY tenant, category ORDER BY tenant, category\"\n",
		portOf(cfg.ClickHouse.Addr), cfg.ClickHouse.Database)
	fmt.Fprintf(w, "  clickhouse-client --port %s -q \"SELECT user_login, score, percentile, level, explanation FROM %s.attack_factor_latest FINAL WHERE tenant = '%s' ORDER BY score DESC LIMIT 20\"\n",
		portOf(cfg.ClickHouse.Addr), cfg.ClickHouse.Database, cfg.Tenants[0].Name)
	fmt.Fprintf(w, "  docs: README.md, docs/attack-factor.md, docs/data-contract.md\n")
	return nil
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "9000"
	}
	return p
}
