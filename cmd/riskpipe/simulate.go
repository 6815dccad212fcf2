package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
)

// simOrgNames are the simulated orgs' names, in order; more orgs are org4...
var simOrgNames = []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell", "cyberdyne"}

func simOrgName(i int) string {
	if i < len(simOrgNames) {
		return simOrgNames[i]
	}
	return fmt.Sprintf("org%d", i+1)
}

// simSettings describe a simulated fleet of orgs.
type simSettings struct {
	orgs      int
	scenario  string
	seed      int64
	users     int
	eps       float64
	backlog   int64
	rateLimit int  // per minute per org; 0 = Okta's default (120)
	noLimits  bool // no rate limits at all (benchmarks)
	// jwtKey, when set, registers a private_key_jwt client
	// "sim-jwt-<org>" with this key's public half in every org.
	jwtKey      crypto.Signer
	requireDPoP bool
}

// simOrgs builds the orgs' options. Each org accepts the API token
// "sim-token-<org>", the client_secret client "sim-client-<org>" with secret
// "sim-secret-<org>" and, with a key, the private_key_jwt client
// "sim-jwt-<org>". These demo credentials are public and only work here.
func simOrgs(s simSettings, start time.Time) ([]oktasim.OrgOptions, map[string]*scenario.Stream, error) {
	var out []oktasim.OrgOptions
	streams := map[string]*scenario.Stream{}
	for i := range s.orgs {
		name := simOrgName(i)
		st, err := scenario.New(scenario.Options{Org: name, Seed: s.seed + int64(i), Users: s.users, Scenario: s.scenario})
		if err != nil {
			return nil, nil, err
		}
		streams[name] = st
		users, groups := simDirectory(name, st, s.users)
		clients := []oktasim.Client{{ID: "sim-client-" + name, Secret: "sim-secret-" + name}}
		if s.jwtKey != nil {
			clients = append(clients, oktasim.Client{ID: "sim-jwt-" + name, PublicKey: s.jwtKey.Public(), RequireDPoP: s.requireDPoP})
		}
		out = append(out, oktasim.OrgOptions{
			Name:            name,
			Source:          st,
			Start:           start,
			Backlog:         s.backlog,
			EventsPerSecond: s.eps,
			Tokens:          []string{"sim-token-" + name},
			Clients:         clients,
			RateLimit:       oktasim.RateLimitOptions{Disabled: s.noLimits, PerMinute: s.rateLimit},
			Users:           users,
			Groups:          groups,
		})
	}
	return out, streams, nil
}

func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulate", "[flags]", stdout)
	listen := fs.String("listen", "127.0.0.1:8800", "address to serve on")
	orgs := fs.Int("orgs", 3, "number of simulated orgs")
	scen := fs.String("scenario", scenario.ScenarioDemo, "traffic: quiet, demo (attack scenarios) or bench (~2% risk events)")
	seed := fs.Int64("seed", 1, "seed: the same seed serves the same events")
	users := fs.Int("users", 500, "users per org")
	eps := fs.Float64("eps", 20, "events per second per org")
	backlog := fs.Int64("backlog", 0, "events persisted at start (before any poller's integration time)")
	rateLimit := fs.Int("rate-limit", 120, "per-minute /api/v1/logs bucket per org")
	noLimits := fs.Bool("no-rate-limits", false, "disable rate limits and X-Rate-Limit-* headers")
	jwtKeyFile := fs.String("jwt-public-key-of", "", "PEM private key whose public half the private_key_jwt client sim-jwt-<org> is registered with")
	requireDPoP := fs.Bool("require-dpop", false, "the private_key_jwt client requires DPoP")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *orgs < 1 {
		return usageError{errors.New("--orgs must be at least 1")}
	}
	s := simSettings{orgs: *orgs, scenario: *scen, seed: *seed, users: *users, eps: *eps, backlog: *backlog,
		rateLimit: *rateLimit, noLimits: *noLimits, requireDPoP: *requireDPoP}
	if *jwtKeyFile != "" {
		// Reuse the config package's key parsing (PKCS#1/PKCS#8, RSA/EC).
		cfg, err := config.Parse(fmt.Appendf(nil, "tenants: [{name: k, base_url: 'http://127.0.0.1', auth: {method: private_key_jwt, client_id: x, private_key_file: %q}}]", *jwtKeyFile), os.LookupEnv)
		if err != nil {
			return usageError{err}
		}
		s.jwtKey = cfg.Tenants[0].Auth.Signer
	}
	opts, _, err := simOrgs(s, time.Now())
	if err != nil {
		return usageError{err}
	}
	log := newLogger(stderr, "text", "info")
	sim, err := oktasim.New(oktasim.Options{Orgs: opts, Seed: *seed, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "okta simulator on %s (scenario %s, %g events/s per org)\n", base, *scen, *eps)
	for _, name := range sim.Orgs() {
		fmt.Fprintf(stdout, "  %-10s base_url %s  token sim-token-%s  client sim-client-%s / sim-secret-%s\n",
			name, sim.BaseURL(base, name), name, name, name)
	}
	fmt.Fprintf(stdout, "try: curl -H 'Authorization: SSWS sim-token-%s' '%s/api/v1/logs?limit=2'\n", sim.Orgs()[0], sim.BaseURL(base, sim.Orgs()[0]))
	return serveUntilDone(ctx, ln, sim, log)
}

// serveUntilDone serves h on ln until ctx is cancelled.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
