package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/privilege"
	"github.com/riskpipe/riskpipe/internal/store"
)

// tenantSet runs one poller per enabled tenant and changes the set while it
// runs (reload): it starts added tenants, drains and stops removed ones,
// restarts changed ones from their stored cursor and swaps the Okta client
// of tenants whose credentials changed, leaving every other tenant alone.
type tenantSet struct {
	a       *App
	st      *store.Store
	w       poll.Sink
	pm      *poll.Metrics
	om      *okta.Metrics
	buffers *okta.Buffers

	// applying serializes Apply, and Run's end with it.
	applying sync.Mutex

	mu      sync.Mutex
	ctx     context.Context // Run's; nil before Run and after it returned
	runners map[string]*tenantRunner
	retired []*okta.Client // replaced clients: their idle connections close at the end
}

// tenantRunner is one tenant's poller and what it was built from.
type tenantRunner struct {
	cfg    config.Tenant
	src    *swapSource
	sink   *drainSink
	poller *poll.Poller
	cancel context.CancelFunc
	done   chan struct{}
	// perms are the last verdicts on the credential; blocked is the
	// tenant's status while its poller waits for a missing permission.
	perms   atomic.Pointer[[]privilege.Result]
	blocked atomic.Pointer[poll.Status]
	// denied are the features Okta refused with 403 since the last check
	// (permission_feature.go).
	denied denials
}

func newTenantSet(a *App, st *store.Store, w poll.Sink) (*tenantSet, error) {
	pm, err := poll.NewMetrics(a.reg)
	if err != nil {
		return nil, err
	}
	om, err := okta.NewMetrics(a.reg)
	if err != nil {
		return nil, err
	}
	s := &tenantSet{
		a: a, st: st, w: w, pm: pm, om: om,
		// Page bodies in flight, all tenants together (memory.pages_in_flight).
		buffers: okta.NewBuffers(a.config().Memory.PagesInFlight),
		runners: map[string]*tenantRunner{},
	}
	if err := a.reg.Register(newPermissionCollector(s)); err != nil {
		return nil, err
	}
	return s, nil
}

// Run starts a poller for every enabled tenant of the current config and
// runs until ctx ends; then it stops them all and returns.
func (s *tenantSet) Run(ctx context.Context) error {
	cfg := s.a.config()
	s.mu.Lock()
	s.ctx = ctx
	for _, t := range cfg.Tenants {
		if !t.IsEnabled() {
			s.a.log.Info("tenant disabled; not polling", "tenant", t.Name)
			continue
		}
		if err := s.startLocked(cfg, t); err != nil {
			s.a.log.Error("tenant not started", "tenant", t.Name, "err", err)
		}
	}
	s.mu.Unlock()

	<-ctx.Done()

	s.applying.Lock() // an Apply in progress finishes first
	defer s.applying.Unlock()
	s.mu.Lock()
	s.ctx = nil
	// The runners stay: their last statuses are the shutdown's (the
	// heartbeat writes them as stopped).
	runners := make([]*tenantRunner, 0, len(s.runners))
	for _, r := range s.runners {
		runners = append(runners, r)
	}
	s.mu.Unlock()
	// The pollers see ctx's end themselves; wait for all of them.
	for _, r := range runners {
		<-r.done
	}
	s.mu.Lock()
	clients := s.retired
	s.retired = nil
	s.mu.Unlock()
	for _, r := range runners {
		clients = append(clients, r.src.current())
	}
	// The okta clients' keep-alive connections would otherwise outlive Run
	// (with their transport goroutines) until the idle timeout.
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	return nil
}

// errNotRunning is Apply's answer before Run started or after it ended.
var errNotRunning = errors.New("riskpipe is not running yet (or is stopping): nothing to reload")

// Apply changes the running set from the current config to next, as d
// (config.Compare) says. Tenants d does not name are not touched.
// Stopping tenants drain in parallel: their write in flight completes and
// its cursor is stored.
func (s *tenantSet) Apply(next *config.Config, d config.Diff) error {
	s.applying.Lock()
	defer s.applying.Unlock()
	s.mu.Lock()
	if s.ctx == nil || s.ctx.Err() != nil {
		s.mu.Unlock()
		return errNotRunning
	}
	var stop []*tenantRunner
	for _, td := range d.Tenants {
		switch td.Change {
		case config.TenantRemoved, config.TenantDisabled, config.TenantRestarted:
			if r := s.runners[td.Name]; r != nil {
				stop = append(stop, r)
				delete(s.runners, td.Name)
			}
		}
	}
	s.mu.Unlock()
	// Not under s.mu: a drain waits for a write (up to
	// clickhouse.write_timeout) and Statuses must not.
	var wg sync.WaitGroup
	for _, r := range stop {
		wg.Go(r.drain)
	}
	wg.Wait()
	// A removed or disabled tenant's classify → score stage goes with its
	// poller (a restarted tenant's is replaced when it starts again).
	s.a.mu.Lock()
	for _, td := range d.Tenants {
		if td.Change == config.TenantRemoved || td.Change == config.TenantDisabled {
			delete(s.a.procs, td.Name)
		}
	}
	s.a.mu.Unlock()

	s.mu.Lock()
	if s.ctx == nil {
		s.mu.Unlock()
		return errNotRunning
	}
	ctx := s.ctx
	var rotated []*tenantRunner
	defer func() {
		s.mu.Unlock()
		// A rotated credential, or changed response settings (their
		// features need more, or less), are checked again (roles or
		// scopes; not under s.mu: requests to Okta). The poller runs on:
		// a 403 with the new credential shows as permission_denied; a
		// feature now lacking what it needs shows in
		// riskpipe_tenant_permission_ok and the log, as at a start.
		for _, r := range rotated {
			cctx, cancel := context.WithTimeout(ctx, permissionCheckTimeout)
			t := r.cfg
			key := tenantKey(next, t.Name)
			res := s.check(cctx, r, t, key)
			cancel()
			if ctx.Err() != nil {
				continue
			}
			s.record(r, t, res) // a 403 of the old credential no longer holds back
			for _, x := range res {
				if x.Verdict == privilege.VerdictExcess || x.Verdict == privilege.VerdictMissing {
					s.a.log.Warn("reload: tenant credential: "+string(x.Verdict), "tenant", t.Name, "feature", x.Feature,
						"granted", x.Granted, "fix", x.Fix)
				}
			}
		}
		if len(rotated) > 0 {
			s.a.wakeRespond() // actions that waited for a permission now granted
		}
	}()

	var errs []error
	for _, td := range d.Tenants {
		t, _ := next.Tenant(td.Name)
		switch td.Change {
		case config.TenantAdded, config.TenantEnabled, config.TenantRestarted:
			s.a.log.Info("reload: starting tenant", "tenant", td.Name, "change", td.Change, "keys", td.Keys)
			if err := s.startLocked(next, t); err != nil {
				errs = append(errs, fmt.Errorf("tenant %s: %w", td.Name, err))
			}
		case config.TenantClient:
			r := s.runners[td.Name]
			if r == nil {
				continue
			}
			c, err := s.newClient(t)
			if err != nil {
				errs = append(errs, fmt.Errorf("tenant %s: %w", td.Name, err))
				continue
			}
			s.retired = append(s.retired, r.src.swap(c))
			r.cfg = t
			rotated = append(rotated, r)
			s.a.log.Info("reload: tenant's okta client replaced; the next request uses it", "tenant", td.Name, "keys", td.Keys)
		case config.TenantSettings:
			// Contacts and response settings: the notifier and the
			// response service took them; the poller runs on.
			r := s.runners[td.Name]
			if r == nil {
				continue
			}
			r.cfg = t
			if slices.Contains(td.Keys, "response") {
				rotated = append(rotated, r) // its features may need more now
			}
		case config.TenantRemoved, config.TenantDisabled:
			s.a.log.Info("reload: tenant stopped", "tenant", td.Name, "change", td.Change)
		}
	}
	return errors.Join(errs...)
}

// startLocked builds and starts the poller of t. s.mu is held.
func (s *tenantSet) startLocked(cfg *config.Config, t config.Tenant) error {
	client, err := s.newClient(t)
	if err != nil {
		return err
	}
	s.om.InitTenant(t.Name)
	s.pm.InitTenant(t.Name)
	tenants := max(cfg.EnabledTenants(), 1)
	// memory.attribution_mib, shared equally by the enabled tenants (a
	// tenant keeps the share it started with until it restarts).
	attributionShare := (cfg.Memory.AttributionMiB << 20) / tenants
	proc := newProcessor(t.Name, t.Poll.ExtraEventTypes, cfg.Score, s.st, attributionShare)
	s.a.mu.Lock()
	proc.sup = s.a.sup
	if s.a.procs == nil {
		s.a.procs = map[string]*processor{}
	}
	s.a.procs[t.Name] = proc // a restarted tenant's new stage replaces the old
	s.a.mu.Unlock()
	src := &swapSource{}
	src.swap(client)
	sink := &drainSink{w: s.w}
	ps := poll.Settings{
		Tenant:    t.Name,
		Interval:  t.Poll.Interval,
		PageLimit: t.Poll.PageLimit,
		Source:    src,
		Sink:      sink,
		State:     s.st,
		Classify:  proc.page,
		Start:     proc.start,
		Metrics:   s.pm,
		Logger:    s.a.log,
	}
	// Pages waiting behind a tenant's write in flight: 4 MiB of kept
	// events shared by the tenants, so that one busy org puts up to 16
	// pages into an insert and ten orgs together hold no more.
	ps.WritePages, ps.WriteBytes = 16, max(256<<10, (4<<20)/tenants)
	if c := s.a.o.Clock; c != nil {
		ps.Now, ps.Sleep = c.Now, c.Sleep
	}
	if s.a.o.TunePoller != nil {
		s.a.o.TunePoller(&ps)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	r := &tenantRunner{cfg: t, src: src, sink: sink, poller: poll.New(ps), cancel: cancel, done: make(chan struct{})}
	s.runners[t.Name] = r
	key := tenantKey(cfg, t.Name)
	go func() {
		defer close(r.done)
		if !s.permit(ctx, r, key) {
			return
		}
		var wg sync.WaitGroup
		wg.Go(func() { s.recheck(ctx, r, key, s.a.recheckEvery()) })
		_ = r.poller.Run(ctx)
		wg.Wait() // the recheck ends with ctx too
	}()
	return nil
}

func (s *tenantSet) newClient(t config.Tenant) (*okta.Client, error) {
	c, err := newOktaClient(t, s.a.o.Version, s.a.log, s.om, s.buffers, s.a.o.Clock)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", t.Name, err)
	}
	return c, nil
}

// drain stops the runner's poller and waits for it: a write in flight is
// completed (rows, then the cursor), pages not handed over yet are left to
// be fetched again from the stored cursor.
func (r *tenantRunner) drain() {
	r.sink.draining.Store(true)
	r.cancel()
	<-r.done
	r.src.current().CloseIdleConnections()
}

// Statuses returns every enabled tenant's status, sorted by tenant.
func (s *tenantSet) Statuses() []poll.Status {
	s.mu.Lock()
	out := make([]poll.Status, 0, len(s.runners))
	for _, r := range s.runners {
		if b := r.blocked.Load(); b != nil {
			out = append(out, *b)
			continue
		}
		st := r.poller.Status()
		if st.State == poll.StatePermissionDenied {
			// Okta's 403 says what happened; the fix says what to do.
			st.LastError = privilege.DeniedFix(r.cfg, privilege.FeatureSystemLog) + ": " + st.LastError
		}
		out = append(out, st)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant < out[j].Tenant })
	return out
}

// swapSource is a tenant's poll.Source whose Okta client a reload may
// replace (rotated credentials): requests already sent finish with the old
// client, the next one uses the new. A cursor (a next link on the same
// base_url) stays valid across clients.
type swapSource struct {
	c atomic.Pointer[okta.Client]
}

func (s *swapSource) current() *okta.Client { return s.c.Load() }

// swap installs c and returns the client it replaces (nil at first).
func (s *swapSource) swap(c *okta.Client) *okta.Client { return s.c.Swap(c) }

func (s *swapSource) PollURL(since time.Time, limit int) string {
	return s.current().PollURL(since, limit)
}

func (s *swapSource) Fetch(ctx context.Context, pageURL string) (*okta.Page, error) {
	return s.current().Fetch(ctx, pageURL)
}

// drainSink is a tenant's poll.Sink. When the tenant is being drained (a
// reload removes, disables or restarts it), a write already handed to it
// is completed even though the poller's context ended, so the pages it
// carries and their cursor are stored; at shutdown (draining false) the
// context's end abandons it as before.
type drainSink struct {
	w        poll.Sink
	draining atomic.Bool
}

func (s *drainSink) Write(ctx context.Context, bs ...store.Batch) error {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		if !s.draining.Load() {
			cancel()
		}
	})
	defer stop()
	return s.w.Write(wctx, bs...)
}

var _ poll.Source = (*swapSource)(nil)
