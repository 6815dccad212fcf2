package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/privilege"
	"github.com/riskpipe/riskpipe/internal/respond"
	"github.com/riskpipe/riskpipe/internal/simtest"
	"github.com/riskpipe/riskpipe/internal/store"
)

// waitFor bounds every wait for a condition. The tests assert on what
// lands in ClickHouse, never on how fast it does.
const waitFor = 60 * time.Second

// eventually waits until cond holds, or fails the test after d.
func eventually(t *testing.T, d time.Duration, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	require.Eventually(t, cond, d, 50*time.Millisecond, msgAndArgs...)
}

// orgSpec is one simulated org and its tenant.
type orgSpec struct {
	name     string
	scenario string    // scenario.ScenarioBench (default), Demo or Quiet; "none": injected events only
	start    time.Time // default: now
	backlog  int64
	eps      float64
	clients  []oktasim.Client
	users    []oktasim.User // the org's directory (response actions)
}

// simOrg is one simulated org and what the tests know about its events.
type simOrg struct {
	name   string
	org    *oktasim.Org
	stream *scenario.Stream // nil for an org of injected events only

	mu sync.Mutex
	// labels: injected event id → the category it must be kept under, ""
	// when it must be dropped.
	labels map[string]string
}

// harness is a ClickHouse database, a simulator over a real socket and
// what a test needs to compare the two.
type harness struct {
	ch     *chserver.Server
	db     string
	read   *store.Store // the test's own connection, for reading
	sim    *oktasim.Server
	simURL string
	orgs   map[string]*simOrg
	conns  atomic.Int64 // open connections to the simulator
}

// newHarness creates a fresh database on ch (the shared server when nil)
// and a simulator serving specs.
func newHarness(t *testing.T, ch *chserver.Server, specs ...orgSpec) *harness {
	t.Helper()
	h := &harness{ch: ch, orgs: map[string]*simOrg{}}
	if h.ch == nil {
		h.ch = chtest.Start(t)
		h.db = chtest.NewDatabase(t, h.ch)
	} else {
		h.db = "okta_risk"
	}
	var opts []oktasim.OrgOptions
	streams := map[string]*scenario.Stream{}
	for i, s := range specs {
		oo := oktasim.OrgOptions{
			Name:            s.name,
			Start:           s.start,
			Backlog:         s.backlog,
			EventsPerSecond: s.eps,
			Tokens:          []string{"token-" + s.name},
			Clients:         s.clients,
			Users:           s.users,
			// Far above what a test uses: the client never waits for a
			// spent window (the faults test its 429 handling).
			RateLimit: oktasim.RateLimitOptions{PerMinute: 1_000_000, PerPrincipal: 1_000_000},
		}
		if s.scenario != "none" {
			sc := s.scenario
			if sc == "" {
				sc = scenario.ScenarioBench
			}
			so := scenario.Options{Org: s.name, Seed: int64(100 + i), Users: 100, Scenario: sc}
			if sc == scenario.ScenarioBench {
				so.RiskShare = 0.2 // plenty of kept events in a short test
			}
			st, err := scenario.New(so)
			require.NoError(t, err)
			oo.Source = st
			streams[s.name] = st
		}
		opts = append(opts, oo)
	}
	sim, err := oktasim.New(oktasim.Options{Orgs: opts, Seed: 1})
	require.NoError(t, err)
	h.sim = sim
	for _, s := range specs {
		h.orgs[s.name] = &simOrg{name: s.name, org: sim.Org(s.name), stream: streams[s.name], labels: map[string]string{}}
	}
	ts := httptest.NewUnstartedServer(sim)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			h.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			h.conns.Add(-1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	h.simURL = ts.URL

	h.read = simtest.OpenStore(t, chtest.Config(h.ch, h.db))
	return h
}

// tenant is the config of the org's tenant: an API token, polls every
// 200ms, pages of 100.
func (h *harness) tenant(name string) config.Tenant {
	return config.Tenant{
		Name:    name,
		BaseURL: h.sim.BaseURL(h.simURL, name),
		Auth:    config.Auth{Method: config.AuthAPIToken, Token: config.Secret("token-" + name)},
		Poll: config.Poll{
			Interval:       200 * time.Millisecond,
			PageLimit:      100,
			RateLimitShare: 0.5,
			RequestTimeout: 30 * time.Second,
		},
	}
}

// config is a complete configuration for tenants (every org when none is
// given), HTTP disabled.
func (h *harness) config(tenants ...config.Tenant) *config.Config {
	cfg := config.Default()
	cfg.ClickHouse = chtest.Config(h.ch, h.db)
	cfg.ClickHouse.BatchMaxWait = 100 * time.Millisecond
	cfg.HTTP.Listen = ""
	if len(tenants) == 0 {
		for _, name := range h.sim.Orgs() {
			tenants = append(tenants, h.tenant(name))
		}
	}
	cfg.Tenants = tenants
	return &cfg
}

// fastRetries shortens the pollers' backoffs (production: 1s-2m, and
// 30s-10m for auth errors).
func fastRetries(s *poll.Settings) {
	s.RetryMin, s.RetryMax = 10*time.Millisecond, 200*time.Millisecond
	s.AuthMin, s.AuthMax = 10*time.Millisecond, 200*time.Millisecond
}

// running is one App.Run in the background.
type running struct {
	app    *App
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// start runs an App on cfg with fast retries, then tune (optional), until
// stop (or the end of the test).
func (h *harness) start(t *testing.T, cfg *config.Config, tune func(*poll.Settings), opts ...func(*Options)) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	return h.startCtx(t, ctx, cancel, cfg, tune, opts...)
}

func (h *harness) startCtx(t *testing.T, ctx context.Context, cancel context.CancelFunc, cfg *config.Config,
	tune func(*poll.Settings), opts ...func(*Options)) *running {
	t.Helper()
	r := &running{reg: prometheus.NewRegistry(), cancel: cancel, done: make(chan error, 1)}
	o := Options{
		Config:   cfg,
		Registry: r.reg,
		Version:  "test",
		TunePoller: func(s *poll.Settings) {
			fastRetries(s)
			if tune != nil {
				tune(s)
			}
		},
	}
	for _, f := range opts {
		f(&o)
	}
	var err error
	r.app, err = New(o)
	require.NoError(t, err)
	go func() { r.done <- r.app.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and checks it returned nil.
func (r *running) stop(t *testing.T) {
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			require.NoError(t, err)
		case <-time.After(waitFor):
			t.Error("App.Run did not return after cancel")
		}
	})
}

// wait waits for Run to return by itself (its context ended).
func (r *running) wait(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		select {
		case err := <-r.done:
			require.NoError(t, err)
		case <-time.After(waitFor):
			t.Fatal("App.Run did not return")
		}
	})
}

// status returns the poller status of tenant.
func (r *running) status(tenant string) (poll.Status, bool) {
	for _, s := range r.app.Statuses() {
		if s.Tenant == tenant {
			return s, true
		}
	}
	return poll.Status{}, false
}

// integrated waits until tenant's poller knows its integration time.
func (r *running) integrated(t *testing.T, tenant string) time.Time {
	t.Helper()
	var at time.Time
	eventually(t, waitFor, func() bool {
		s, _ := r.status(tenant)
		at = s.IntegratedAt
		return !at.IsZero()
	}, "tenant %s never integrated", tenant)
	return at
}

// label records what must become of an injected event.
func (o *simOrg) label(id, category string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.labels[id] = category
}

func (o *simOrg) labelOf(id string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c, ok := o.labels[id]
	return c, ok
}

// injectRisk injects n events of the org: even ones kept (user.risk.detect,
// user_risk), odd ones dropped (a LOW-risk sign-in). It labels them.
func (o *simOrg) injectRisk(prefix string, n int) {
	raws := make([][]byte, n)
	for k := range n {
		id := fmt.Sprintf("inj-%s-%s-%04d", o.name, prefix, k)
		if k%2 == 0 {
			raws[k] = rawEvent(id, "user.risk.detect", "{level=HIGH, detectionName=Admin Reported User Risk}")
			o.label(id, string(event.CategoryUserRisk))
		} else {
			raws[k] = rawEvent(id, "user.session.start", "{level=LOW}")
			o.label(id, "")
		}
	}
	o.org.Inject(raws...)
}

func rawEvent(id, eventType, risk string) []byte {
	return fmt.Appendf(nil, `{"uuid":%q,"published":%q,"eventType":%q,"version":"0","severity":"WARN",`+
		`"displayMessage":"injected","actor":{"id":"00u9","type":"User","alternateId":"mallory@example.com","displayName":"Mallory"},`+
		`"target":[{"id":"00u9","type":"User","alternateId":"mallory@example.com","displayName":"Mallory"}],`+
		`"client":{"ipAddress":"198.51.100.7"},"outcome":{"result":"SUCCESS"},"transaction":{"type":"WEB","id":"tx-%s"},`+
		`"debugContext":{"debugData":{"risk":%q}}}`,
		id, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), eventType, id, risk)
}

// want returns what ClickHouse must hold for the org: every event persisted
// at or after since that must be kept, id → category (simtest.OrgTruth).
// Generated events are judged by the scenario's Expect, injected ones by
// their label.
func (h *harness) want(t *testing.T, name string, since time.Time) map[string]string {
	t.Helper()
	o := h.orgs[name]
	return simtest.OrgTruth(t, o.org, since, math.MaxInt64, simtest.TruthOptions{Label: o.labelOf, Stream: o.stream}).Categories()
}

// keptBefore returns the kept events of the org persisted before since.
func (h *harness) keptBefore(t *testing.T, name string, since time.Time) map[string]string {
	t.Helper()
	all := h.want(t, name, time.Time{})
	after := h.want(t, name, since)
	for id := range after {
		delete(all, id)
	}
	return all
}

func (h *harness) table(name string) string { return "`" + h.db + "`." + name }

// kept returns tenant's rows in risk_events FINAL: event id → category.
func (h *harness) kept(t *testing.T, tenant string) map[string]string {
	t.Helper()
	return simtest.Stored(t, h.read, tenant).Categories
}

func (h *harness) uint(t *testing.T, q string, args ...any) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, h.read.Conn().QueryRow(context.Background(), q, args...).Scan(&n), q)
	return n
}

// state returns tenant's poll state as stored.
func (h *harness) state(t *testing.T, tenant string) (store.PollState, bool) {
	t.Helper()
	st, ok, err := h.read.LoadPollState(context.Background(), tenant)
	require.NoError(t, err)
	return st, ok
}

// caughtUp reports whether tenant's stored cursor is at the end of its
// org's log (every visible event fetched and written).
func (h *harness) caughtUp(t *testing.T, tenant string) bool {
	t.Helper()
	st, ok := h.state(t, tenant)
	return ok && cursorIndex(t, st.Cursor) == h.orgs[tenant].org.Len()
}

// converged waits until tenant's cursor is at the end of the org's log and
// risk_events holds as many events as want, then requires that it holds
// exactly want, each event once.
func (h *harness) converged(t *testing.T, tenant string, want map[string]string, d time.Duration) {
	t.Helper()
	require.NotEmpty(t, want, "a test of nothing")
	eventually(t, d, func() bool {
		return h.caughtUp(t, tenant) && len(h.kept(t, tenant)) >= len(want)
	}, "tenant %s did not catch up with %d events", tenant, len(want))
	h.requireExactly(t, tenant, want)
}

// requireExactly requires risk_events FINAL to hold exactly want for
// tenant, each event once.
func (h *harness) requireExactly(t *testing.T, tenant string, want map[string]string) {
	t.Helper()
	simtest.RequireExactlyOnce(t, h.read, tenant, simtest.TruthOf(want))
}

// cursorIndex is the log position in a simulator polling URL's after
// cursor (<ms>_<index>); -1 for a URL without one.
func cursorIndex(t *testing.T, u string) int64 {
	t.Helper()
	pu, err := url.Parse(u)
	require.NoError(t, err)
	after := pu.Query().Get("after")
	if after == "" {
		return -1
	}
	return simtest.AfterIndex(t, after)
}

// writeCall is one Write a poller made through a hookSink.
type writeCall struct {
	Events      []string // event ids
	DeadLetters int
	Cursor      string // the batch's state cursor
	Err         error
	// SimRequests is how many requests the simulator had answered when
	// the Write was made.
	SimRequests int64
}

// hookSink wraps the real writer for one tenant. Hook (optional) decides
// what each Write of a batch with a poll state (the integration, then one
// per page) does: n counts those batches from 0, write is the real
// writer's Write. Other batches (the attack-factor restore at start) are
// written as they are.
type hookSink struct {
	inner poll.Sink
	hook  func(n int, b store.Batch, write func(store.Batch) error) error
	org   *oktasim.Org

	mu     sync.Mutex
	calls  []writeCall
	states int
}

// Write passes each of bs through the hook as a write of its own, in
// order, and stops at the first that fails.
func (s *hookSink) Write(ctx context.Context, bs ...store.Batch) error {
	for _, b := range bs {
		if err := s.writeOne(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (s *hookSink) writeOne(ctx context.Context, b store.Batch) error {
	c := writeCall{DeadLetters: len(b.DeadLetters)}
	for _, e := range b.Events {
		c.Events = append(c.Events, e.ID)
	}
	if s.org != nil {
		for _, k := range s.org.Stats().Requests {
			c.SimRequests += k
		}
	}
	write := func(b store.Batch) error { return s.inner.Write(ctx, b) }
	if b.State == nil || s.hook == nil {
		c.Err = write(b)
	} else {
		c.Cursor = b.State.Cursor
		s.mu.Lock()
		n := s.states
		s.states++
		s.mu.Unlock()
		c.Err = s.hook(n, b, write)
	}
	if b.State != nil {
		c.Cursor = b.State.Cursor
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	return c.Err
}

func (s *hookSink) all() []writeCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]writeCall(nil), s.calls...)
}

// pages returns the writes of batches with a poll state (the integration
// and the pages).
func (s *hookSink) pages() []writeCall {
	var out []writeCall
	for _, c := range s.all() {
		if c.Cursor != "" {
			out = append(out, c)
		}
	}
	return out
}

// hooks installs hookSinks on the tenants named in sinks (the map's keys).
func hooks(sinks map[string]*hookSink) func(*poll.Settings) {
	return func(s *poll.Settings) {
		if hs, ok := sinks[s.Tenant]; ok {
			hs.inner = s.Sink
			s.Sink = hs
		}
	}
}

// requireMonotonicCursors requires that the cursors of the successful
// writes never move backwards.
func requireMonotonicCursors(t *testing.T, calls []writeCall) {
	t.Helper()
	prev := int64(-1)
	for i, c := range calls {
		if c.Err != nil || c.Cursor == "" {
			continue
		}
		idx := cursorIndex(t, c.Cursor)
		require.GreaterOrEqual(t, idx, prev, "write %d moved the cursor back", i)
		prev = idx
	}
}

// metric returns the value of the counter or gauge name{labels} in reg (0
// when absent).
func metric(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !labelsMatch(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	return 0
}

// metricSum sums name over the series matching labels.
func metricSum(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) (sum float64, byLabel map[string]float64) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	byLabel = map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !labelsMatch(m, labels) || m.Counter == nil {
				continue
			}
			sum += m.Counter.GetValue()
			var rest []string
			for _, lp := range m.GetLabel() {
				if _, ok := labels[lp.GetName()]; !ok {
					rest = append(rest, lp.GetValue())
				}
			}
			byLabel[strings.Join(rest, ",")] += m.Counter.GetValue()
		}
	}
	return sum, byLabel
}

func labelsMatch(m *dto.Metric, labels map[string]string) bool {
	have := map[string]string{}
	for _, lp := range m.GetLabel() {
		have[lp.GetName()] = lp.GetValue()
	}
	for k, v := range labels {
		if have[k] != v {
			return false
		}
	}
	return true
}

var errCrash = errors.New("simulated crash")

// approved proposes act on the user for tenant (once the response service
// has started) and approves it: alice approves bob's proposal.
func (r *running) approved(t *testing.T, tenant string, act config.ResponseAction, userID string) respond.Action {
	t.Helper()
	var a respond.Action
	eventually(t, waitFor, func() bool {
		var err error
		a, _, err = r.app.respond.Propose(t.Context(), respond.Proposal{Tenant: tenant, Action: act, UserID: userID, By: "bob"})
		if errors.Is(err, respond.ErrStarting) {
			return false
		}
		require.NoError(t, err)
		return true
	})
	a, err := r.app.respond.Approve(t.Context(), a.ID, "alice", "")
	require.NoError(t, err)
	return a
}

// action is the response action id as the service has it now.
func (r *running) action(t *testing.T, id string) respond.Action {
	t.Helper()
	a, ok := r.app.respond.Get(id)
	require.True(t, ok)
	return a
}

// feature is the verdict on tenant's feature f as status shows it.
func (r *running) feature(tenant string, f privilege.Feature) (verdict string, ok bool, reason string) {
	for _, p := range r.app.FeaturePermissions()[tenant] {
		if p.Feature == string(f) {
			return p.Verdict, p.OK, p.Reason
		}
	}
	return "", false, ""
}
