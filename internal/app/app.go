// Package app wires riskpipe together from its configuration and owns the
// process lifecycle: start the HTTP server (health first), then ClickHouse
// access and the writer, then the pollers; on shutdown answer /readyz 503,
// stop the pollers, flush the writer, close ClickHouse and stop HTTP last.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/riskpipe/riskpipe/internal/api"
	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/notify"
	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/privacy"
	"github.com/riskpipe/riskpipe/internal/respond"
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
	// Reload reads the configuration again for a reload (SIGHUP, POST
	// /-/reload, the file watch); nil: reloading is not possible.
	// ConfigPath is the file it reads, watched with reload.watch.
	Reload     func() (*config.Config, error)
	ConfigPath string
	// ReloadSignals: each signal received reloads (riskpipe run sends
	// SIGHUP here).
	ReloadSignals <-chan os.Signal
	// PermissionRecheck is how often a tenant whose credential may not
	// read the System Log is checked again (default
	// DefaultPermissionRecheck; tests shorten it).
	PermissionRecheck time.Duration
	// Clock is the time source of the pollers and the okta clients: their
	// backoffs, rate-limit waits and poll intervals (nil: the real one).
	// Tests inject a fake one so that minute-long waits take no real time.
	Clock Clock
	// NotifyNow is the notifier's clock (nil: time.Now).
	NotifyNow func() time.Time
	// SignInCodes, when set, are one-time dashboard sign-in codes the API
	// accepts (riskpipe demo issues one for its link).
	SignInCodes *api.SignInCodes
	// Notify is told of response actions waiting for a person (nil: log
	// lines only); the notifications of security contacts plug in here.
	Notify respond.Notifier
}

// Clock tells the time and waits. Sleep returns ctx's error when ctx ends
// before d has passed.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// App is a running riskpipe.
type App struct {
	o   Options
	log *slog.Logger
	reg *prometheus.Registry

	// health remembers the pollers' health of the last hours (the org
	// page's poll failures), sampled by the heartbeat.
	health *poll.HealthLog

	mu             sync.Mutex
	tenants        *tenantSet
	store          *store.Store
	respond        *respond.Service // nil until Run built it
	notifier       *notify.Notifier // nil until Run built it, or without notifications
	notReadyReason string           // why /readyz answers 503; "" once running

	cur      atomic.Pointer[config.Config] // the configuration in force
	reloader *reloader
	apiH     atomic.Pointer[http.Handler] // nil until Run built it; rebuilt when a reload changes tokens or tenants
	// procs are the tenants' classify → score stages (Forget), one per
	// tenant; privacy answers privacy requests (nil without
	// privacy.hash_key); sup drops the events of deleted people
	// (privacy.suppress_deleted).
	procs   map[string]*processor
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
	a := &App{o: o, log: o.Logger, reg: o.Registry, health: poll.NewHealthLog(0, 0)}
	a.cur.Store(o.Config)
	r, err := newReloader(a)
	if err != nil {
		return nil, err
	}
	a.reloader = r
	return a, nil
}

// config is the configuration in force (the one of Options until a reload
// replaces it).
func (a *App) config() *config.Config { return a.cur.Load() }

// ErrInvalidConfig wraps the errors of Run that a configuration causes and
// that the config's validation cannot see (`riskpipe run` exits 2).
var ErrInvalidConfig = errors.New("invalid configuration")

// Run runs until ctx is cancelled, then shuts down in order and returns nil,
// or returns the error that prevented it from starting.
//
// Start: HTTP first (/healthz, /metrics, and /readyz answering 503 with
// the reason until ready), then the managed ClickHouse if any, the API
// (an error is ErrInvalidConfig), waiting for ClickHouse, the migrations,
// the writer, the pollers and the heartbeat; then /readyz answers 200.
// Shutdown: /readyz answers 503 at once, then the pollers stop, their last
// status is written, the writer drains, ClickHouse is closed and HTTP
// stops last, so /metrics and /healthz see the whole shutdown.
func (a *App) Run(ctx context.Context) error {
	cfg := a.o.Config
	a.reloader.loaded(cfg.ClickHouse) // as written, before a managed server changes Addr
	a.notReady("starting")

	httpSrv, httpAddr, httpErr, err := a.startHTTP()
	if err != nil {
		return err
	}
	defer a.stopHTTP(httpSrv) // last: the deferred calls below run before it

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

	st, err := store.New(cfg.ClickHouse, a.log)
	if err != nil {
		return fmt.Errorf("%w: clickhouse: %w", ErrInvalidConfig, err)
	}
	defer st.Close()
	// Built before the API, which serves its actions; it touches no
	// network until Run (which loads the actions from ClickHouse).
	respNotify := &respondNotifier{now: time.Now}
	var toldOfActions respond.Notifier = respNotify // the contacts, once the notifier runs
	if a.o.Notify != nil {
		toldOfActions = a.o.Notify
	}
	responder, err := respond.New(respond.Settings{Tenants: cfg.Tenants, Conn: st.Conn(), Database: st.Database(),
		Registerer: a.reg, Logger: a.log.With("component", "respond"), Notify: toldOfActions, Version: a.o.Version,
		Permissions: respondPermissions{a}})
	if err != nil {
		return fmt.Errorf("%w: response: %w", ErrInvalidConfig, err)
	}
	a.mu.Lock()
	a.store = st
	a.respond = responder
	a.mu.Unlock()
	h, err := a.buildAPI(a.config())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	a.apiH.Store(&h)

	// Built (metrics registered, nothing started) before the wait, so
	// that what the config gets wrong fails at once.
	writer := store.NewWriter(st, store.WriterOptions{
		MaxRows:      cfg.ClickHouse.BatchMaxRows,
		MaxWait:      cfg.ClickHouse.BatchMaxWait,
		WriteTimeout: cfg.ClickHouse.WriteTimeout,
		Registerer:   a.reg,
		Logger:       a.log,
	})
	hb, err := newHeartbeat(a.reg, a.o.Version, st, a.Statuses, time.Now(), cfg.API.StallAfter, a.o.HeartbeatInterval, a.log)
	if err != nil {
		return err
	}
	hb.stallAfterNow = func() time.Duration { return a.config().API.StallAfter }
	hb.health = a.health

	if err := a.waitForClickHouse(ctx, st); err != nil {
		return startErr(ctx, err)
	}
	a.notReady("migrating the clickhouse schema")
	if err := st.Migrate(ctx); err != nil {
		return startErr(ctx, fmt.Errorf("migrate: %w", err))
	}
	// Privacy requests and retention: suppression is in force before the
	// first page; the API is built again to serve the privacy service.
	stopPrivacy, err := a.startPrivacy(ctx, st)
	if err != nil {
		return startErr(ctx, err)
	}
	defer stopPrivacy()
	if h, err := a.buildAPI(a.config()); err == nil {
		a.apiH.Store(&h)
	}
	// The notifier reads ClickHouse before the pollers run (undelivered
	// messages, changed contacts, the replay of recent rows); the pollers'
	// confirmed batches are then handed to it.
	notifier, err := a.newNotifier(ctx, st)
	if err != nil {
		return startErr(ctx, err)
	}
	var sink poll.Sink = writer
	if notifier != nil {
		sink = notifySink{next: writer, n: notifier}
		respNotify.n.Store(notifier)
		a.mu.Lock()
		a.notifier = notifier // a reload hands it the new contacts and channels
		a.mu.Unlock()
	}
	tenants, err := newTenantSet(a, st, sink)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.tenants = tenants
	a.mu.Unlock()

	hb.started = time.Now() // the pollers' start, for the stall rule
	writerCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	writerDone := make(chan error, 1)
	go func() { writerDone <- writer.Run(writerCtx) }()

	pollCtx, stopPollers := context.WithCancel(ctx)
	pollDone := make(chan error, 1)
	go func() { pollDone <- tenants.Run(pollCtx) }()
	notifyCtx, stopNotifier := context.WithCancel(ctx)
	notifyDone := make(chan struct{})
	go func() {
		defer close(notifyDone)
		if notifier != nil {
			_ = notifier.Run(notifyCtx)
		}
	}()
	respondCtx, stopRespond := context.WithCancel(ctx)
	respondDone := make(chan error, 1)
	go func() { respondDone <- responder.Run(respondCtx) }()
	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() { defer close(hbDone); hb.run(hbCtx) }()
	reloadCtx, stopReloads := context.WithCancel(ctx)
	reloadDone := make(chan struct{})
	go func() { defer close(reloadDone); a.reloader.run(reloadCtx) }()
	a.notReady("")
	a.log.Info("riskpipe running", "tenants", cfg.EnabledTenants(), "http", httpAddr, "version", a.o.Version)
	if a.o.Ready != nil {
		a.o.Ready(httpAddr)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-httpErr:
		runErr = fmt.Errorf("http server: %w", err)
	}

	// Ordered shutdown: not ready, pollers, their last status, writer
	// (drains), ClickHouse, managed ClickHouse, HTTP (the deferred calls).
	a.notReady("shutting down")
	a.log.Info("shutting down: stopping pollers")
	stopReloads()
	<-reloadDone
	stopPollers()
	if err := <-pollDone; err != nil { // (and the okta clients' idle connections closed)
		a.log.Warn("pollers stopped with error", "err", err)
	}
	stopNotifier() // undelivered messages stay pending in ClickHouse for the next start
	<-notifyDone
	stopRespond() // before ClickHouse closes: it records every step there
	if err := <-respondDone; err != nil && !errors.Is(err, context.Canceled) {
		a.log.Warn("response actions stopped with error", "err", err)
	}
	stopHeartbeat()
	<-hbDone
	hb.final(ctx) // the pollers' last status, before the writer and ClickHouse close
	a.log.Info("flushing writer")
	stopWriter()
	if err := <-writerDone; err != nil && !errors.Is(err, context.Canceled) {
		a.log.Warn("writer stopped with error", "err", err)
	}
	a.log.Info("riskpipe stopped")
	return runErr
}

// notReady sets why /readyz answers 503 ("" once running: it then checks
// ClickHouse and the schema at each request).
func (a *App) notReady(reason string) {
	a.mu.Lock()
	a.notReadyReason = reason
	a.mu.Unlock()
}

// waitForClickHouse pings until ClickHouse answers, retrying while it is
// down: a service that starts before its database should wait for it, not
// crash-loop. /readyz says why it is not ready meanwhile.
func (a *App) waitForClickHouse(ctx context.Context, st *store.Store) error {
	wait := time.Second
	for {
		err := st.Ping(ctx)
		if err == nil {
			return nil
		}
		if !store.IsRetryable(err) {
			return fmt.Errorf("open clickhouse: %w", err)
		}
		a.notReady("waiting for clickhouse: " + err.Error())
		a.log.Warn("clickhouse not reachable; retrying", "addr", a.o.Config.ClickHouse.Addr, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// stopHTTP shuts the HTTP server down (the last step of a shutdown).
func (a *App) stopHTTP(srv *http.Server) {
	if srv == nil {
		return
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
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

// NewOktaClient builds the System Log client of one tenant. buffers, shared
// by the tenants of one process, may be nil (see okta.Settings.Buffers).
func NewOktaClient(t config.Tenant, version string, log *slog.Logger, m *okta.Metrics, buffers *okta.Buffers) (*okta.Client, error) {
	return newOktaClient(t, version, log, m, buffers, nil)
}

// newOktaClient is NewOktaClient on clock (nil: the real one).
func newOktaClient(t config.Tenant, version string, log *slog.Logger, m *okta.Metrics, buffers *okta.Buffers, clock Clock) (*okta.Client, error) {
	s := okta.Settings{
		Tenant:         t.Name,
		BaseURL:        t.BaseURL,
		Auth:           t.Auth,
		RateLimitShare: t.Poll.RateLimitShare,
		RequestTimeout: t.Poll.RequestTimeout,
		Logger:         log.With("tenant", t.Name),
		Metrics:        m,
		UserAgent:      "riskpipe/" + version,
		Buffers:        buffers,
	}
	if clock != nil {
		s.Now, s.Sleep = clock.Now, clock.Sleep
	}
	return okta.New(s)
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
	listen := a.o.Config.HTTP.Listen
	if a.o.Listener != nil {
		listen = ln.Addr().String()
	}
	for _, w := range exposureWarnings(listen, len(a.o.Config.API.Tokens)) {
		a.log.Warn(w)
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
	ts := a.tenants
	a.mu.Unlock()
	if ts == nil {
		return nil
	}
	return ts.Statuses()
}

// Handler serves /metrics, /healthz, /readyz and, once Run built it, the
// JSON API and dashboard (internal/api; the pollers' statuses are in GET
// /api/v1/orgs). Before that, every other path answers 503.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", a.ready)
	mux.HandleFunc("GET /-/reload", a.reloader.serveStatus)
	mux.HandleFunc("GET /-/permissions", a.servePermissions)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h := a.apiH.Load()
		if h == nil {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	})
	return mux
}

// buildAPI builds the JSON API and dashboard for cfg; nil before the store
// is open.
func (a *App) buildAPI(cfg *config.Config) (http.Handler, error) {
	a.mu.Lock()
	st, responder := a.store, a.respond
	a.mu.Unlock()
	if st == nil {
		return nil, nil
	}
	var rs api.Responder // a nil *respond.Service would not be a nil interface
	if responder != nil {
		rs = responder
	}
	ap, err := api.New(api.Settings{Conn: st.Conn(), Database: st.Database(), Tokens: cfg.API.Tokens,
		Tenants: cfg.Tenants, Statuses: a.Statuses, Permissions: a.FeaturePermissions, StallAfter: cfg.API.StallAfter, Score: cfg.Score,
		Started: a.reloader.started, Reload: a.reloader.serveReload,
		Bands: cfg.Score.Bands, SignInCodes: a.o.SignInCodes, HealthLog: a.health.Windows,
		Notify:  notify.NewAdmin(cfg, notify.NewStore(st.Conn(), st.Database()), nil),
		Respond: rs,
		Privacy: a.privacyAPI(), PrivacySyncTimeout: cfg.Privacy.SyncTimeout,
		Logger: a.log.With("component", "api")})
	if err != nil {
		return nil, err
	}
	return ap.Handler(), nil
}
