package app

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/api"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
)

// After a run the metrics agree with ClickHouse, per tenant: events polled,
// kept (by category) and dropped (by reason). The HTTP endpoints serve the
// same, and shutting down closes every connection to Okta.
func TestMetricsMatchClickHouse(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil,
		orgSpec{name: "acme", scenario: scenario.ScenarioDemo, eps: 400},
		orgSpec{name: "globex", eps: 100},
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ready := make(chan string, 1)
	cfg := h.config()
	const apiToken = "metrics-test-token-0123456789"
	cfg.API.Tokens = []config.APIToken{{Name: "test", Token: config.Secret(apiToken), Tenants: []string{config.AllTenants}}}
	r := h.start(t, cfg, nil, func(o *Options) {
		o.Listener = ln
		o.Ready = func(addr string) { ready <- addr }
	})
	readyAddr := <-ready
	require.Equal(t, ln.Addr().String(), readyAddr)
	at := map[string]time.Time{"acme": r.integrated(t, "acme"), "globex": r.integrated(t, "globex")}
	eventually(t, waitFor, func() bool { return len(h.kept(t, "acme")) >= 30 && len(h.kept(t, "globex")) >= 30 })
	for name := range at {
		h.orgs[name].org.SetRate(0)
	}
	for name, since := range at {
		h.converged(t, name, h.want(t, name, since), waitFor)
	}

	// Over HTTP, while running.
	base := "http://" + readyAddr
	require.Equal(t, "ok\n", get(t, base+"/healthz", "", http.StatusOK))
	require.Equal(t, "ready\n", get(t, base+"/readyz", "", http.StatusOK))
	get(t, base+"/api/v1/orgs", "", http.StatusUnauthorized)
	var orgs api.OrgList
	require.NoError(t, json.Unmarshal([]byte(get(t, base+"/api/v1/orgs", apiToken, http.StatusOK)), &orgs))
	require.Len(t, orgs.Orgs, 2)
	for _, o := range orgs.Orgs {
		s, ok := r.status(o.Tenant)
		require.True(t, ok, o.Tenant)
		require.Equal(t, string(s.State), o.State, "the API shows the poller's status")
		require.NotNil(t, o.IntegratedAt)
		require.Equal(t, at[o.Tenant], o.IntegratedAt.UTC())
		require.Positive(t, o.EventsPolled)
	}
	exposition := get(t, base+"/metrics", "", http.StatusOK)
	require.Contains(t, exposition, `riskpipe_events_polled_total{tenant="acme"}`)
	require.Contains(t, exposition, `riskpipe_events_kept_total{category="threat_insight",tenant="acme"}`)

	r.stop(t)
	eventually(t, waitFor, func() bool { return h.conns.Load() == 0 }, "Run closed its connections to Okta")

	for name := range at {
		labels := map[string]string{"tenant": name}
		polled := metric(t, r.reg, "riskpipe_events_polled_total", labels)
		keptSum, keptBy := metricSum(t, r.reg, "riskpipe_events_kept_total", labels)
		droppedSum, droppedBy := metricSum(t, r.reg, "riskpipe_events_dropped_total", labels)

		// ClickHouse's view.
		counted := h.uint(t, "SELECT sum(events) FROM "+h.table("event_type_counts")+" WHERE tenant = ?", name)
		require.EqualValues(t, counted, polled, "%s: polled = every event counted in event_type_counts", name)
		from, to := h.orgs[name].org.TruthRange(at[name])
		require.EqualValues(t, to-from, polled, "%s: polled = every event after the integration", name)
		require.InDelta(t, polled, keptSum+droppedSum, 0, name)

		kept := h.kept(t, name)
		require.EqualValues(t, len(kept), keptSum, "%s: kept = rows in risk_events FINAL", name)
		byCategory := map[string]float64{}
		for _, cat := range kept {
			byCategory[cat]++
		}
		require.Equal(t, byCategory, keptBy, "%s: kept by category", name)

		rows, err := h.read.Conn().Query(t.Context(), "SELECT reason, sum(events) FROM "+h.table("event_type_counts")+
			" WHERE tenant = ? AND kept = 0 GROUP BY reason", name)
		require.NoError(t, err)
		dropped := map[string]float64{}
		for rows.Next() {
			var reason string
			var n uint64
			require.NoError(t, rows.Scan(&reason, &n))
			dropped[reason] = float64(n)
		}
		require.NoError(t, rows.Err())
		rows.Close()
		require.Equal(t, dropped, droppedBy, "%s: dropped by reason", name)

		s, _ := r.status(name)
		require.EqualValues(t, polled, s.EventsPolled)
		require.EqualValues(t, keptSum, s.EventsKept)
	}
	// The demo scenario's attack categories all made it.
	cats := map[string]bool{}
	for _, c := range h.kept(t, "acme") {
		cats[c] = true
	}
	require.True(t, cats[scenario.CategoryThreatInsight] && cats[scenario.CategoryHighRisk], "categories: %v", cats)
}

// get GETs url (with a bearer token, when given) and returns the body.
func get(t *testing.T, url, token string, wantStatus int) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, wantStatus, resp.StatusCode, "%s: %s", url, strings.TrimSpace(string(b)))
	return string(b)
}
