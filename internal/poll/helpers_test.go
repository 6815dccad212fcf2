package poll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/store"
)

// waitFor bounds every wait for a condition: generous, since the tests
// assert on what happens, never on how fast.
const waitFor = 60 * time.Second

const (
	tenant    = "acme"
	testToken = "poll-test-token"
	// dropType is the one event type testClassify drops.
	dropType = "user.session.start"
)

// eventually waits until cond holds (or fails the test after waitFor).
func eventually(t *testing.T, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	require.Eventually(t, cond, waitFor, 5*time.Millisecond, msgAndArgs...)
}

// sim is a simulator with one org, served over a real socket.
type sim struct {
	srv  *oktasim.Server
	org  *oktasim.Org
	base string
}

// startSim serves orgs (SSWS token testToken, rate limits far above what a
// test uses, so the okta client never pauses for a spent window).
func startSim(t *testing.T, orgs ...oktasim.OrgOptions) (*oktasim.Server, string) {
	t.Helper()
	for i := range orgs {
		orgs[i].Tokens = []string{testToken}
		if orgs[i].RateLimit == (oktasim.RateLimitOptions{}) {
			orgs[i].RateLimit = oktasim.RateLimitOptions{PerMinute: 1_000_000, PerPrincipal: 1_000_000}
		}
	}
	s, err := oktasim.New(oktasim.Options{Orgs: orgs, Seed: 1})
	require.NoError(t, err)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

func newSim(t *testing.T, oo oktasim.OrgOptions) *sim {
	t.Helper()
	oo.Name = tenant
	s, u := startSim(t, oo)
	return &sim{srv: s, org: s.Org(tenant), base: s.BaseURL(u, tenant)}
}

// requests is how many /api/v1/logs (and token) requests the org answered.
func (s *sim) requests() int64 {
	var n int64
	for _, c := range s.org.Stats().Requests {
		n += c
	}
	return n
}

// newClient is the real okta client for one simulated org. It does not
// retry by itself, so every failure reaches the poller.
func newClient(t *testing.T, name, base string) *okta.Client {
	t.Helper()
	c, err := okta.New(okta.Settings{
		Tenant:         name,
		BaseURL:        base,
		Auth:           config.Auth{Method: config.AuthAPIToken, Token: config.Secret(testToken)},
		MaxRetries:     -1,
		RequestTimeout: 30 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// prime makes one request with c. A client starts slow (10 requests a
// minute) until a response tells it the org's rate limit, and fault answers
// carry no rate-limit headers: tell it before the test, as a running
// poller's client would know.
func prime(t *testing.T, c *okta.Client) {
	t.Helper()
	_, err := c.Fetch(t.Context(), c.PollURL(time.Now(), 1))
	require.NoError(t, err)
}

// rawEvent is a small but well-formed System Log event.
func rawEvent(id, eventType string) []byte {
	return fmt.Appendf(nil, `{"uuid":%q,"published":%q,"eventType":%q,"version":"0","severity":"INFO",`+
		`"displayMessage":"test event","actor":{"id":"00u1","type":"User","alternateId":"alice@example.com","displayName":"Alice"},`+
		`"outcome":{"result":"SUCCESS"},"transaction":{"type":"WEB","id":"tx-%s"},`+
		`"debugContext":{"debugData":{"risk":"{level=HIGH, reasons=Anomalous Location}"}}}`,
		id, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), eventType, id)
}

// makeEvents returns n events ev-<prefix>-<k> and their ids. Every
// dropEvery-th event (dropEvery > 0) has dropType.
func makeEvents(prefix string, n, dropEvery int) (ids []string, raws [][]byte) {
	ids = make([]string, n)
	raws = make([][]byte, n)
	for k := range n {
		ids[k] = fmt.Sprintf("ev-%s-%04d", prefix, k)
		typ := "user.risk.detect"
		if dropEvery > 0 && k%dropEvery == dropEvery-1 {
			typ = dropType
		}
		raws[k] = rawEvent(ids[k], typ)
	}
	return ids, raws
}

// inject appends makeEvents(prefix, n, dropEvery) to org, persisted now,
// and returns their ids.
func inject(org *oktasim.Org, prefix string, n, dropEvery int) []string {
	ids, raws := makeEvents(prefix, n, dropEvery)
	org.Inject(raws...)
	return ids
}

// testClassify keeps every event except those of dropType, and
// dead-letters what is not an event: enough to see what the poller does
// with pages, without the real rules.
func testClassify(raws []json.RawMessage, now time.Time) Outcome {
	out := Outcome{Kept: map[string]int{}, Dropped: map[string]int{}}
	for _, raw := range raws {
		e, err := event.Decode(raw, now)
		if err != nil {
			out.Rows.DeadLetters = append(out.Rows.DeadLetters, store.DeadLetter{Reason: "not an event", Payload: bytes.Clone(raw), ReceivedAt: now})
			continue
		}
		if e.Published.After(out.NewestPublished) {
			out.NewestPublished = e.Published
		}
		if e.EventType == dropType {
			out.Dropped["not_risk_event"]++
			out.Rows.Counts = append(out.Rows.Counts, store.TypeCount{Day: now, EventType: e.EventType, Reason: "not_risk_event", Events: 1})
			continue
		}
		e.Category = event.CategoryUserRisk
		out.Rows.Events = append(out.Rows.Events, e)
		out.Kept[string(e.Category)]++
		out.Rows.Counts = append(out.Rows.Counts, store.TypeCount{Day: now, EventType: e.EventType, Kept: true, Reason: string(e.Category), Events: 1})
	}
	return out
}

// recordingSource is the real client, recording the URL of every Fetch.
type recordingSource struct {
	Source
	mu   sync.Mutex
	urls []string
}

func (r *recordingSource) Fetch(ctx context.Context, pageURL string) (*okta.Page, error) {
	r.mu.Lock()
	r.urls = append(r.urls, pageURL)
	r.mu.Unlock()
	return r.Source.Fetch(ctx, pageURL)
}

func (r *recordingSource) fetched() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.urls...)
}

// sinkCall is one Write the poller made.
type sinkCall struct {
	Batch store.Batch
	Err   error
	// Status is the poller's status when it called Write.
	Status Status
	// Requests is how many requests the simulator had answered by then.
	Requests int64
}

// fakeSink records every Write. Before decides each Write's outcome (nil:
// success, or Next's outcome when Next is set); a successful Write commits
// its state to State.
type fakeSink struct {
	// Before runs at every Write, with the call's index (0 first) and
	// batch, and returns the error the Write fails with.
	Before func(n int, b store.Batch) error
	// Next, when set, writes what Before let through (e.g. the real store
	// writer).
	Next     Sink
	State    *fakeState
	poller   *Poller
	requests func() int64

	mu    sync.Mutex
	calls []sinkCall
}

// Write records each of bs as a call of its own, in order, and stops at
// the first that fails.
func (s *fakeSink) Write(ctx context.Context, bs ...store.Batch) error {
	for _, b := range bs {
		if err := s.writeOne(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (s *fakeSink) writeOne(ctx context.Context, b store.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	n := len(s.calls)
	s.mu.Unlock()
	c := sinkCall{Batch: b, Status: s.poller.Status()}
	if s.requests != nil {
		c.Requests = s.requests()
	}
	if s.Before != nil {
		c.Err = s.Before(n, b)
	}
	if c.Err == nil && s.Next != nil {
		c.Err = s.Next.Write(ctx, b)
	}
	if c.Err == nil && b.State != nil && s.State != nil {
		s.State.commit(*b.State)
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	return c.Err
}

func (s *fakeSink) all() []sinkCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkCall(nil), s.calls...)
}

// committed returns the batches that were written successfully.
func (s *fakeSink) committed() []store.Batch {
	var out []store.Batch
	for _, c := range s.all() {
		if c.Err == nil {
			out = append(out, c.Batch)
		}
	}
	return out
}

// keptIDs returns the ids of the committed events, in order.
func (s *fakeSink) keptIDs() []string {
	var ids []string
	for _, b := range s.committed() {
		for _, e := range b.Events {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

func (s *fakeSink) deadLetters() []store.DeadLetter {
	var out []store.DeadLetter
	for _, b := range s.committed() {
		out = append(out, b.DeadLetters...)
	}
	return out
}

// fakeState is a StateStore whose first FailLoads loads fail.
type fakeState struct {
	mu        sync.Mutex
	st        store.PollState
	found     bool
	FailLoads int
	loads     int
}

var errCHDown = &store.RetryableError{Err: errors.New("clickhouse down")}

func (f *fakeState) LoadPollState(ctx context.Context, name string) (store.PollState, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	if f.loads <= f.FailLoads {
		return store.PollState{}, false, errCHDown
	}
	return f.st, f.found, nil
}

func (f *fakeState) commit(st store.PollState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st, f.found = st, true
}

func (f *fakeState) get() (store.PollState, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st, f.found
}

// fixture is one poller on the real okta client against one simulated
// org, with a fake sink and state store.
type fixture struct {
	sim     *sim
	client  *okta.Client
	src     *recordingSource
	sink    *fakeSink
	state   *fakeState
	reg     *prometheus.Registry
	metrics *Metrics
	poller  *Poller
}

// newFixture builds (and starts nothing): interval 50ms, pages of 10,
// no start delay, millisecond backoffs. mod may change the settings.
func newFixture(t *testing.T, oo oktasim.OrgOptions, mod func(*Settings)) *fixture {
	t.Helper()
	f := &fixture{sim: newSim(t, oo), state: &fakeState{}, reg: prometheus.NewRegistry()}
	f.client = newClient(t, tenant, f.sim.base)
	prime(t, f.client)
	var err error
	f.src = &recordingSource{Source: f.client}
	f.sink = &fakeSink{State: f.state, requests: f.sim.requests}
	f.metrics, err = NewMetrics(f.reg)
	require.NoError(t, err)
	s := Settings{
		Tenant:        tenant,
		Interval:      50 * time.Millisecond,
		PageLimit:     10,
		Source:        f.src,
		Sink:          f.sink,
		State:         f.state,
		Classify:      testClassify,
		Metrics:       f.metrics,
		MaxStartDelay: time.Nanosecond,
		RetryMin:      time.Millisecond,
		RetryMax:      20 * time.Millisecond,
		AuthMin:       time.Millisecond,
		AuthMax:       20 * time.Millisecond,
	}
	if mod != nil {
		mod(&s)
	}
	f.poller = New(s)
	f.sink.poller = f.poller
	return f
}

// start runs the poller until the returned stop is called (or the test
// ends); stop checks that Run returned nil.
func (f *fixture) start(t *testing.T) (stop func()) {
	t.Helper()
	return runInBackground(t, f.poller.Run)
}

func runInBackground(t *testing.T, run func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

// onIntegration runs f once, inside the poller's first Write (the one that
// records the integration time), before the poller fetches anything: the
// way to put events and faults exactly after the integration time.
func onIntegration(f func()) func(int, store.Batch) error {
	return func(n int, _ store.Batch) error {
		if n == 0 {
			f()
		}
		return nil
	}
}

// cursorIndex is the log position of a simulator polling URL: the index in
// its after cursor (<ms>_<index>), or -1 for a URL without one.
func cursorIndex(t *testing.T, u string) int64 {
	t.Helper()
	pu, err := url.Parse(u)
	require.NoError(t, err)
	after := pu.Query().Get("after")
	if after == "" {
		return -1
	}
	_, idx, ok := strings.Cut(after, "_")
	require.True(t, ok, "cursor %q", after)
	n, err := strconv.ParseInt(idx, 10, 64)
	require.NoError(t, err)
	return n
}

func idsOf(evs []event.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// value reads a counter or gauge.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	require.NoError(t, m.Write(&d))
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	t.Fatalf("%s is neither a counter nor a gauge", m.Desc())
	return 0
}

// series counts the series a collector has.
func series(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric)
	go func() { c.Collect(ch); close(ch) }()
	n := 0
	for range ch {
		n++
	}
	return n
}
