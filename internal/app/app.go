// Package app wires riskpipe together from its configuration and owns the
// process lifecycle: start ClickHouse access and the writer, then the HTTP
// server, then the pollers; on shutdown stop the pollers first, then flush
// the writer, close ClickHouse and stop HTTP last.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/riskpipe/riskpipe/internal/api"
	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/privacy"
	"github.com/riskpipe/riskpipe/internal/store"
)

// Options are the process-level dependencies.
type Options struct {
	Config   *config.Config
	Logger   *slog.Logger
	Registry *prometheus.Registry // nil: a new one
	Version  string
	// Listener, when set, is used for the HTTP server instead of
	// Config.HTTP.Listen (tests pass a :0 listener).
	Listener net.Listener
	// Ready, when set, is called once the pollers are started, with the
	// HTTP address (empty when HTTP is disabled).
	Ready func(httpAddr string)
	// TunePoller, when set, is called with each tenant's poll.Settings
	// right before its poller is built. It is a seam for tests: shorter
	// retry backoffs than the production defaults, or a Sink that wraps
	// the real writer to inject failures. Production code leaves it nil.
	TunePoller func(*poll.Settings)
	// HeartbeatInterval is how often the pollers' statuses are written to
	// poller_status (default DefaultHeartbeatInterval; tests shorten it).
	HeartbeatInterval time.Duration
}

// App is a running riskpipe.
type App struct {
	o   Options
	log *slog.Logger
	reg *prometheus.Registry

	mu      sync.Mutex
	manager *poll.Manager
	store   *store.Store
	// procs are the tenants' classify → score stages (Forget);
	// privacy answers privacy requests (nil without privacy.hash_key).
	procs   []*processor
	privacy *privacy.Service
	sup     *suppressor
}

// New builds an App; it touches no network.
func New(o Options) (*App, error) {
	if o.Config == nil {
		return nil, errors.New("app: no config")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
		o.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return &App{o: o, log: o.Logger, reg: o.Registry}, nil
}

// Run runs until ctx is cancelled, then shuts down in order and returns nil,
// or returns the error that prevented it from starting.
func (a *App) Run(ctx context.Context) error {
	cfg := a.o.Config

	srv, err := a.ensureClickHouse(ctx)
	if err != nil {
		return startErr(ctx, err)
	}
	if srv != nil {
		defer func() {
			if err := srv.Stop(); err != nil {
				a.log.Warn("stop managed clickhouse", "err", err)
			}
		}()
	}

	st, err := a.openStore(ctx)
	if err != nil {
		return startErr(ctx, err)
	}
	a.mu.Lock()
	a.store = st
	a.mu.Unlock()
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return startErr(ctx, fmt.Errorf("migrate: %w", err))
	}

	writer := store.NewWriter(st, store.WriterOptions{
		MaxRows:      cfg.ClickHouse.BatchMaxRows,
		MaxWait:      cfg.ClickHouse.BatchMaxWait,
		WriteTimeout: cfg.ClickHouse.WriteTimeout,
		Registerer:   a.reg,
		Logger:       a.log,
	})
	stopPrivacy, err := a.startPrivacy(ctx, st)
	if err != nil {
		return err
	}
	defer stopPrivacy()
	manager, clients, err := a.buildPollers(st, writer)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.manager = manager
	a.mu.Unlock()
	hb, err := newHeartbeat(a.reg, a.o.Version, st, a.Statuses, time.Now(), cfg.API.StallAfter, a.o.HeartbeatInterval, a.log)
	if err != nil {
		return err
	}

	// HTTP first (stopped last), so /metrics shows the whole shutdown.
	httpSrv, httpAddr, httpErr, err := a.startHTTP()
	if err != nil {
		return err
	}

	writerCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	writerDone := make(chan error, 1)
	go func() { writerDone <- writer.Run(writerCtx) }()

	pollCtx, stopPollers := context.WithCancel(ctx)
	pollDone := make(chan error, 1)
	go func() { pollDone <- manager.Run(pollCtx) }()
	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() { defer close(hbDone); hb.run(hbCtx) }()
	a.log.Info("riskpipe running", "tenants", len(manager.Statuses()), "http", httpAddr, "version", a.o.Version)
	if a.o.Ready != nil {
		a.o.Ready(httpAddr)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-httpErr:
		runErr = fmt.Errorf("http server: %w", err)
	}

	// Ordered shutdown: pollers, writer (drains), ClickHouse (deferred), HTTP.
	a.log.Info("shutting down: stopping pollers")
	stopPollers()
	<-pollDone
	// The okta clients' keep-alive connections would otherwise outlive Run
	// (with their transport goroutines) until the idle timeout.
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	stopHeartbeat()
	<-hbDone
	hb.final(ctx) // the pollers' last status, before the writer and ClickHouse close
	a.log.Info("flushing writer")
	stopWriter()
	if err := <-writerDone; err != nil && !errors.Is(err, context.Canceled) {
		a.log.Warn("writer stopped with error", "err", err)
	}
	if httpSrv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = httpSrv.Shutdown(sctx)
	}
	a.log.Info("riskpipe stopped")
	return runErr
}

// startErr is what Run returns when starting failed with err: nil when ctx
// ended meanwhile (stopped before it was up, e.g. while waiting for
// ClickHouse: a stop, not a failure, so `riskpipe run` exits 0 on SIGTERM).
func startErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// ensureClickHouse starts a private clickhouse-server when the config asks
// for a managed one and nothing answers at the configured address.
func (a *App) ensureClickHouse(ctx context.Context) (*chserver.Server, error) {
	return EnsureClickHouse(ctx, &a.o.Config.ClickHouse, a.log)
}

// EnsureClickHouse starts a private clickhouse-server (a child process with
// its data under cfg.DataDir) when cfg.Managed is set and nothing answers at
// cfg.Addr; it then points cfg.Addr at it. It returns nil when nothing was
// started. The caller stops the server.
func EnsureClickHouse(ctx context.Context, cfg *config.ClickHouse, log *slog.Logger) (*chserver.Server, error) {
	if !cfg.Managed {
		return nil, nil
	}
	if reachable(cfg.Addr) {
		log.Info("clickhouse reachable; not starting a managed server", "addr", cfg.Addr)
		return nil, nil
	}
	_, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("clickhouse.addr: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("clickhouse.addr: port %q: %w", portStr, err)
	}
	log.Info("starting managed clickhouse", "data_dir", cfg.DataDir, "port", port)
	srv, err := chserver.Start(ctx, chserver.Options{DataDir: cfg.DataDir, TCPPort: port, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("start managed clickhouse: %w", err)
	}
	cfg.Addr = srv.Addr()
	return srv, nil
}

func reachable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// openStore connects to ClickHouse, retrying while it is down: a service
// that starts before its database should wait for it, not crash-loop.
func (a *App) openStore(ctx context.Context) (*store.Store, error) {
	wait := time.Second
	for {
		st, err := store.Open(ctx, a.o.Config.ClickHouse, a.log)
		if err == nil {
			return st, nil
		}
		if !store.IsRetryable(err) {
			return nil, fmt.Errorf("open clickhouse: %w", err)
		}
		a.log.Warn("clickhouse not reachable; retrying", "addr", a.o.Config.ClickHouse.Addr, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (a *App) buildPollers(st *store.Store, w *store.Writer) (*poll.Manager, []*okta.Client, error) {
	pm, err := poll.NewMetrics(a.reg)
	if err != nil {
		return nil, nil, err
	}
	om, err := okta.NewMetrics(a.reg)
	if err != nil {
		return nil, nil, err
	}
	var (
		pollers []*poll.Poller
		clients []*okta.Client
		// Page bodies in flight, all tenants together (memory.pages_in_flight).
		buffers = okta.NewBuffers(a.o.Config.Memory.PagesInFlight)
		tenants = max(a.o.Config.EnabledTenants(), 1)
		// memory.attribution_mib, shared equally by the enabled tenants.
		attributionShare = (a.o.Config.Memory.AttributionMiB << 20) / tenants
		// Pages waiting behind a tenant's write in flight: 4 MiB of kept
		// events shared by the tenants, so that one busy org puts up to 16
		// pages into an insert and ten orgs together hold no more.
		writeBytes = max(256<<10, (4<<20)/tenants)
	)
	for _, t := range a.o.Config.Tenants {
		if !t.IsEnabled() {
			a.log.Info("tenant disabled; not polling", "tenant", t.Name)
			continue
		}
		client, err := NewOktaClient(t, a.o.Version, a.log, om, buffers)
		if err != nil {
			return nil, nil, fmt.Errorf("tenant %s: %w", t.Name, err)
		}
		clients = append(clients, client)
		om.InitTenant(t.Name)
		pm.InitTenant(t.Name)
		proc := newProcessor(t.Name, t.Poll.ExtraEventTypes, a.o.Config.Score, st.Conn(), st.Database(), attributionShare)
		a.mu.Lock()
		proc.sup = a.sup
		a.procs = append(a.procs, proc)
		a.mu.Unlock()
		s := poll.Settings{
			Tenant:    t.Name,
			Interval:  t.Poll.Interval,
			PageLimit: t.Poll.PageLimit,
			Source:    client,
			Sink:      w,
			State:     st,
			Classify:  proc.page,
			Start:     proc.start,
			Metrics:   pm,
			Logger:    a.log,
		}
		s.WritePages, s.WriteBytes = 16, writeBytes
		if a.o.TunePoller != nil {
			a.o.TunePoller(&s)
		}
		pollers = append(pollers, poll.New(s))
	}
	return poll.NewManager(pollers...), clients, nil
}

// NewOktaClient builds the System Log client of one tenant. buffers, shared
// by the tenants of one process, may be nil (see okta.Settings.Buffers).
func NewOktaClient(t config.Tenant, version string, log *slog.Logger, m *okta.Metrics, buffers *okta.Buffers) (*okta.Client, error) {
	return okta.New(okta.Settings{
		Tenant:         t.Name,
		BaseURL:        t.BaseURL,
		Auth:           t.Auth,
		RateLimitShare: t.Poll.RateLimitShare,
		RequestTimeout: t.Poll.RequestTimeout,
		Logger:         log.With("tenant", t.Name),
		Metrics:        m,
		UserAgent:      "riskpipe/" + version,
		Buffers:        buffers,
	})
}

func (a *App) startHTTP() (*http.Server, string, <-chan error, error) {
	ln := a.o.Listener
	if ln == nil {
		if a.o.Config.HTTP.Listen == "" {
			return nil, "", nil, nil
		}
		var err error
		ln, err = net.Listen("tcp", a.o.Config.HTTP.Listen)
		if err != nil {
			return nil, "", nil, fmt.Errorf("http.listen: %w", err)
		}
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	return srv, ln.Addr().String(), errc, nil
}

// Statuses returns the pollers' statuses (empty before Run built them).
func (a *App) Statuses() []poll.Status {
	a.mu.Lock()
	m := a.manager
	a.mu.Unlock()
	if m == nil {
		return nil
	}
	return m.Statuses()
}

// Handler serves /metrics, /healthz, /readyz and the JSON API and dashboard
// (internal/api; the pollers' statuses are in GET /api/v1/orgs).
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", a.ready)
	a.mu.Lock()
	st := a.store
	a.mu.Unlock()
	if st != nil {
		cfg := a.o.Config
		ap, err := api.New(api.Settings{Conn: st.Conn(), Database: st.Database(), Tokens: cfg.API.Tokens,
			Tenants: cfg.Tenants, Statuses: a.Statuses, StallAfter: cfg.API.StallAfter,
			Privacy: a.privacyAPI(), PrivacySyncTimeout: cfg.Privacy.SyncTimeout,
			Logger: a.log.With("component", "api")})
		if err != nil {
			a.log.Error("api disabled", "err", err)
		} else {
			mux.Handle("/", ap.Handler())
		}
	}
	return mux
}
