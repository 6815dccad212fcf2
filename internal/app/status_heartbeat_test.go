package app

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/store"
)

// hbLog is a log destination safe for the App's goroutines.
type hbLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *hbLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *hbLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

// withHTTP serves the App's handler on a fresh loopback port; the address
// arrives on the returned channel once the pollers run.
func withHTTP(t *testing.T) (func(*Options), <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ready := make(chan string, 1)
	return func(o *Options) {
		o.Listener = ln
		o.Ready = func(addr string) { ready <- addr }
	}, ready
}

func heartbeatEvery(d time.Duration) func(*Options) {
	return func(o *Options) { o.HeartbeatInterval = d }
}

// pollerStatuses reads poller_status through the store, by tenant.
func (h *harness) pollerStatuses(t *testing.T) map[string]store.PollerStatus {
	t.Helper()
	rows, err := h.read.LoadPollerStatuses(t.Context())
	require.NoError(t, err)
	out := map[string]store.PollerStatus{}
	for _, r := range rows {
		out[r.Tenant] = r
	}
	return out
}

// scrape GETs /metrics over HTTP and parses the exposition.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	body := get(t, base+"/metrics", "", http.StatusOK)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err)
	return mfs
}

// series returns the series of family name whose labels include labels.
func series(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) []*dto.Metric {
	var out []*dto.Metric
	for _, m := range mfs[name].GetMetric() {
		if labelsMatch(m, labels) {
			out = append(out, m)
		}
	}
	return out
}

// The heartbeat writes every poller's status to poller_status while the
// App runs and, with state "stopped", once more at shutdown; it keeps
// riskpipe_tenant_stalled current with the API's stall rule; /metrics,
// scraped over HTTP, has per tenant what an operator needs.
func TestHeartbeatStatusesAndMetrics(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, orgSpec{name: "acme", eps: 100}, orgSpec{name: "quiet", scenario: "none"})
	cfg := h.config()
	// quiet receives nothing: stalled 2s after the start. acme receives
	// events on every poll (every 200ms), so it never is.
	cfg.API.StallAfter = 2 * time.Second
	httpOpt, ready := withHTTP(t)
	started := time.Now()
	r := h.start(t, cfg, nil, httpOpt, heartbeatEvery(50*time.Millisecond))
	base := "http://" + <-ready
	at := map[string]time.Time{"acme": r.integrated(t, "acme"), "quiet": r.integrated(t, "quiet")}

	// Kept events and attack factors written.
	eventually(t, waitFor, func() bool {
		return len(h.kept(t, "acme")) >= 20 &&
			h.uint(t, "SELECT count() FROM "+h.table("attack_factor_updates")+" WHERE tenant = 'acme'") > 0
	}, "acme's kept events and attack factors")

	// poller_status follows the pollers.
	eventually(t, waitFor, func() bool {
		st := h.pollerStatuses(t)
		return st["acme"].EventsPolled > 0 && st["acme"].EventsKept > 0 && !st["acme"].LastCursorAdvance.IsZero()
	}, "acme's heartbeat")
	rows := h.pollerStatuses(t)
	require.Len(t, rows, 2)
	for name, row := range rows {
		require.Equal(t, at[name].Truncate(time.Second), row.IntegratedAt, name)
		require.False(t, row.StartedAt.Before(started.Truncate(time.Second)), "%s: started_at is this process's start", name)
		require.False(t, row.UpdatedAt.IsZero(), name)
		require.Contains(t, []string{"polling", "caught_up"}, row.State, name)
	}
	require.True(t, rows["quiet"].LastCursorAdvance.IsZero(), "quiet received nothing")

	// The stall gauge: quiet stalls, acme does not; both as the API says.
	stalled := func(tenant string) float64 {
		return metric(t, r.reg, "riskpipe_tenant_stalled", map[string]string{"tenant": tenant})
	}
	eventually(t, waitFor, func() bool { return stalled("quiet") == 1 && stalled("acme") == 0 }, "quiet stalls, acme does not")
	q, _ := r.status("quiet")
	isStalled, _ := q.Stalled(started, time.Now(), cfg.API.StallAfter)
	require.True(t, isStalled, "the API's rule agrees")
	// An event revives quiet.
	h.orgs["quiet"].injectRisk("wake-up", 2)
	eventually(t, waitFor, func() bool { return stalled("quiet") == 0 }, "quiet received an event: not stalled")

	// /metrics over HTTP, per tenant.
	mfs := scrape(t, base)
	for _, tenant := range []string{"acme", "quiet"} {
		labels := map[string]string{"tenant": tenant}
		for _, name := range []string{
			"riskpipe_events_polled_total", "riskpipe_events_kept_total", "riskpipe_events_dropped_total",
			"riskpipe_events_dead_lettered_total", "riskpipe_poll_duration_seconds", "riskpipe_write_errors_total",
			"riskpipe_last_successful_poll_timestamp_seconds", "riskpipe_lag_seconds",
			"riskpipe_okta_rate_limit_remaining", "riskpipe_okta_rate_limited_total", "riskpipe_tenant_stalled",
		} {
			if tenant == "quiet" && name == "riskpipe_events_dropped_total" {
				continue // injected: one kept, one dropped, maybe not yet
			}
			require.NotEmpty(t, series(mfs, name, labels), "%s{tenant=%q} missing from /metrics", name, tenant)
		}
	}
	require.Len(t, series(mfs, "riskpipe_okta_rate_limited_total", map[string]string{"tenant": "acme"}), 2, "kind rate and concurrency")
	require.Positive(t, series(mfs, "riskpipe_okta_rate_limit_remaining", map[string]string{"tenant": "acme"})[0].GetGauge().GetValue())
	require.Positive(t, series(mfs, "riskpipe_poll_duration_seconds", map[string]string{"tenant": "acme"})[0].GetHistogram().GetSampleCount())
	require.Positive(t, series(mfs, "riskpipe_last_successful_poll_timestamp_seconds", map[string]string{"tenant": "acme"})[0].GetGauge().GetValue())
	require.Positive(t, mfs["riskpipe_store_batch_rows"].GetMetric()[0].GetHistogram().GetSampleCount())
	require.Positive(t, mfs["riskpipe_store_write_duration_seconds"].GetMetric()[0].GetHistogram().GetSampleCount())
	for _, table := range []string{"risk_events", "attack_factor_updates", "poll_state"} {
		s := series(mfs, "riskpipe_store_rows_written_total", map[string]string{"table": table})
		require.Len(t, s, 1, table)
		require.Positive(t, s[0].GetCounter().GetValue(), table)
	}
	info := series(mfs, "riskpipe_build_info", map[string]string{"version": "test"})
	require.Len(t, info, 1)
	require.Equal(t, 1.0, info[0].GetGauge().GetValue())
	require.Positive(t, series(mfs, "riskpipe_status_writes_total", map[string]string{"result": "ok"})[0].GetCounter().GetValue())
	require.Zero(t, series(mfs, "riskpipe_status_writes_total", map[string]string{"result": "error"})[0].GetCounter().GetValue())

	// At shutdown, after the pollers stopped: their final counts, "stopped".
	r.stop(t)
	rows = h.pollerStatuses(t)
	for _, name := range []string{"acme", "quiet"} {
		s, ok := r.status(name)
		require.True(t, ok)
		require.Equal(t, StateStopped, rows[name].State, name)
		require.Equal(t, s.EventsPolled, rows[name].EventsPolled, "%s: the last row holds the final count", name)
		require.Equal(t, s.EventsKept, rows[name].EventsKept, name)
		require.Equal(t, s.LastCursorAdvance.Truncate(time.Second).UTC(), rows[name].LastCursorAdvance, name)
	}
}

// /readyz answers 200 while ClickHouse answers with the current schema and
// 503 while it is down (/healthz stays 200); the heartbeat's failures are
// counted, logged once when they start and once when they end, and never
// stop the App.
func TestReadyzFollowsClickHouse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ch := startPrivateCH(t, dir, 0)
	_, portStr, err := net.SplitHostPort(ch.Addr())
	require.NoError(t, err)
	port, err := strconv.Atoi(portStr)
	require.NoError(t, err)

	h := newHarness(t, ch, orgSpec{name: "acme", eps: 20})
	logs := &hbLog{}
	httpOpt, ready := withHTTP(t)
	r := h.start(t, h.config(), nil, httpOpt, heartbeatEvery(50*time.Millisecond), func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	base := "http://" + <-ready
	r.integrated(t, "acme")
	code := func(path string) int {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
		resp, err := c.Get(base + path)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, "ready\n", get(t, base+"/readyz", "", http.StatusOK), "migrated and reachable")
	require.Equal(t, "ok\n", get(t, base+"/healthz", "", http.StatusOK))
	eventually(t, waitFor, func() bool { return len(h.pollerStatuses(t)) == 1 })

	h.read.Close()
	require.NoError(t, ch.Stop())
	eventually(t, waitFor, func() bool { return code("/readyz") == http.StatusServiceUnavailable }, "/readyz: 503 while ClickHouse is down")
	require.Equal(t, http.StatusOK, code("/healthz"), "alive all the same")
	errs := func() float64 {
		return metric(t, r.reg, "riskpipe_status_writes_total", map[string]string{"result": "error"})
	}
	eventually(t, waitFor, func() bool { return errs() >= 3 }, "failed status writes are counted")
	const failing, recovered = "writing poller status to clickhouse failing", "writing poller status to clickhouse recovered"
	require.Equal(t, 1, logs.count(failing), "logged once, not per failure:\n%s", func() string { logs.mu.Lock(); defer logs.mu.Unlock(); return logs.buf.String() }())

	// Back on the same data and port.
	ch2 := startPrivateCH(t, dir, port)
	eventually(t, waitFor, func() bool { return code("/readyz") == http.StatusOK }, "/readyz: 200 once ClickHouse is back")
	eventually(t, waitFor, func() bool { return logs.count(recovered) == 1 }, "the recovery is logged")
	require.Equal(t, 1, logs.count(failing))
	h.read, err = store.Open(t.Context(), chtest.Config(ch2, h.db), nil)
	require.NoError(t, err)
	t.Cleanup(func() { h.read.Close() })
	before := errs()
	eventually(t, waitFor, func() bool {
		return metric(t, r.reg, "riskpipe_status_writes_total", map[string]string{"result": "ok"}) > 0 &&
			h.pollerStatuses(t)["acme"].UpdatedAt.After(time.Now().Add(-time.Minute))
	})
	r.stop(t)
	require.Equal(t, before, errs(), "no failure after the recovery")
	require.Equal(t, StateStopped, h.pollerStatuses(t)["acme"].State)
}
