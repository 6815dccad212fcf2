package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
)

// These tests check the harness's accounting against real processes (the
// riskpipe binary, ClickHouse, the simulator), never speed: no test
// asserts a duration or a rate.

func TestMain(m *testing.M) { chtest.Main(m) }

func newHarness(t *testing.T) *Harness {
	t.Helper()
	srv := chtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	h, err := New(ctx, Options{ClickHouse: srv, WorkDir: t.TempDir(), Logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h
}

// TestQuick is `riskbench all --quick` in small: a catch-up, a freshness
// window and the query latencies, each checked for what it counts.
func TestQuick(t *testing.T) {
	h := newHarness(t)
	m := h.Machine()
	require.Positive(t, m.CPUs)
	require.NotEmpty(t, m.ClickHouse)
	require.Contains(t, h.RiskpipeVersion(), "riskpipe ")

	t.Run("backlog", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		const events = 20_000
		res, err := h.RunBacklog(ctx, Backlog{Setup: Setup{Orgs: 1, RateLimit: Unlimited, Interval: time.Second}, Events: events})
		require.NoError(t, err)
		t.Logf("%+v", res)

		// The oracle, independently: the org's first events are the backlog.
		st, err := scenario.New(scenario.Options{Org: OrgName(0), Users: 500, Scenario: scenario.ScenarioBench, RiskShare: 0.02})
		require.NoError(t, err)
		var want uint64
		for i := range int64(events) {
			if st.Expect(i) != "" {
				want++
			}
		}
		require.Equal(t, uint64(events*0.02), want, "bench scenario: exactly 2% risk events")
		require.Equal(t, want, res.Kept)
		require.Equal(t, want, res.Stored, "ClickHouse holds every kept event once (FINAL)")
		require.Equal(t, int64(events), res.Events)

		require.Positive(t, res.Wall)
		require.GreaterOrEqual(t, res.WallFromBacklog, res.Wall)
		require.Positive(t, res.PipelineCPU, "riskpipe CPU read from /proc/<pid>/stat")
		require.Positive(t, res.PeakRSS, "riskpipe VmHWM")
		require.Positive(t, res.MaxRSS, "riskpipe wait4 maxrss")
		require.Positive(t, res.ClickHouseCPU)
		require.Positive(t, res.HarnessCPU)
		require.GreaterOrEqual(t, res.Requests, int64(events/1000), "at least one request per full page")
		require.Zero(t, res.Status429)
		require.InDelta(t, res.PipelineCPU.Seconds()/(events/1e5), res.CPUPer100k, 1e-9)
	})

	t.Run("freshness", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, err := h.RunFreshness(ctx, Freshness{
			Setup:  Setup{Orgs: 1, RateLimit: Unlimited, Interval: time.Second, EventsPerSecond: 200},
			Warmup: time.Second, Duration: 4 * time.Second,
		})
		require.NoError(t, err)
		t.Logf("%+v", res)
		require.Positive(t, res.Kept, "2% of about 800 events")
		require.Zero(t, res.Missing, "every kept event of the window reached ClickHouse")
		require.Positive(t, res.P50)
		require.LessOrEqual(t, res.P50, res.P99)
		require.LessOrEqual(t, res.P99, res.Max)
		require.Positive(t, res.PipelineCores)
		require.Positive(t, res.RSS)
		require.Positive(t, res.RequestsPerInterval)
	})

	t.Run("budget", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, err := h.RunBudget(ctx, Budget{
			Setup:  Setup{Orgs: 2, RateLimit: RateLimitDefaults(), Interval: 2 * time.Second},
			Events: 2_000, SteadyRate: 20, SteadyFor: 4 * time.Second,
		})
		require.NoError(t, err)
		t.Logf("%+v", res)
		require.Equal(t, int64(4_000), res.Events)
		require.GreaterOrEqual(t, res.CatchUpRequests, int64(4), "two full pages per org at least")
		require.Positive(t, res.SteadyRequests)
		require.Positive(t, res.Intervals)
		require.Zero(t, res.CatchUp429, "riskpipe stays within Okta's default limits")
		require.Zero(t, res.Steady429)
		require.Equal(t, 120, res.RateLimitPerMinute)
	})

	t.Run("queries", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, err := h.RunQueries(ctx, Queries{Rows: 10_000, Reps: 2, Optimize: true})
		require.NoError(t, err)
		require.Len(t, res.Queries, len(QueryNames))
		for i, q := range res.Queries {
			require.Equal(t, QueryNames[i], q.Name)
			require.Positive(t, q.P50, q.Name)
			require.Positive(t, q.Bytes, q.Name)
		}
		require.Positive(t, res.DiskBytes)
	})
}

func TestProcReadsThisProcess(t *testing.T) {
	busy := time.Now().Add(30 * time.Millisecond)
	for time.Now().Before(busy) {
	}
	c, err := ProcCPU(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, c.Total())
	m, err := ProcMem(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, m.RSS)
	require.GreaterOrEqual(t, m.Peak, m.RSS)
	_, err = ProcCPU(-1)
	require.Error(t, err)
}

func TestSummarize(t *testing.T) {
	for _, tt := range []struct {
		give []float64
		want Stat
	}{
		{give: []float64{3}, want: Stat{Median: 3, Min: 3, Max: 3, N: 1}},
		{give: []float64{5, 1, 3}, want: Stat{Median: 3, Min: 1, Max: 5, N: 3}},
		{give: []float64{4, 1, 3, 2}, want: Stat{Median: 2.5, Min: 1, Max: 4, N: 4}},
	} {
		require.Equal(t, tt.want, Summarize(tt.give))
	}
	require.True(t, math.IsNaN(Summarize(nil).Median))
	require.Equal(t, "6,512 (6,100–6,900)", Stat{Median: 6512, Min: 6100, Max: 6900, N: 3}.Format(0))
	require.Equal(t, "1,234,567.89", Num(1234567.891, 2))
	require.Equal(t, "-1,000", Num(-1000, 0))
}

func TestQuantile(t *testing.T) {
	d := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	require.Equal(t, 5, quantile(d, 0.5))
	require.Equal(t, 9, quantile(d, 0.9))
	require.Equal(t, 10, quantile(d, 0.99))
	require.Equal(t, 1, quantile(d, 0))
}

func TestUpdateSection(t *testing.T) {
	p := filepath.Join(t.TempDir(), "B.md")
	require.NoError(t, UpdateSection(p, "a", "first"))
	require.NoError(t, os.WriteFile(p, append(must(os.ReadFile(p)), "\nhand-written\n"...), 0o644))
	require.NoError(t, UpdateSection(p, "b", "second"))
	require.NoError(t, UpdateSection(p, "a", "third\n"))
	require.Equal(t, "<!-- riskbench:a -->\nthird\n<!-- /riskbench:a -->\n\nhand-written\n\n<!-- riskbench:b -->\nsecond\n<!-- /riskbench:b -->\n",
		string(must(os.ReadFile(p))))

	require.NoError(t, os.WriteFile(p, []byte("<!-- riskbench:a -->\nno end\n"), 0o644))
	require.Error(t, UpdateSection(p, "a", "x"))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
