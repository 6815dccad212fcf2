package bench

import (
	"fmt"
	"time"
)

// BacklogRuns are the runs of one catch-up configuration.
type BacklogRuns struct {
	Orgs         int
	EventsPerOrg int64
	Runs         []BacklogResult
}

func secs(d time.Duration) float64 { return d.Seconds() }

func loadRange(rs []BacklogResult) string {
	lo, hi := 1e9, 0.0
	for _, r := range rs {
		for _, l := range r.LoadAvg {
			lo, hi = min(lo, l), max(hi, l)
		}
	}
	if hi == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f–%.1f", lo, hi)
}

// ThroughputTable shows catch-up throughput and cost: medians over runs
// (min–max in parentheses).
func ThroughputTable(groups []BacklogRuns) *Table {
	t := &Table{Header: []string{"orgs", "events", "runs", "events/s", "wall s", "riskpipe CPU-s/100k",
		"ClickHouse CPU-s/100k", "simulator+harness CPU-s/100k", "riskpipe peak RSS MB", "requests/1000 events", "429s", "load avg"}}
	for _, g := range groups {
		per100k := func(d func(BacklogResult) time.Duration) Stat {
			return Of(g.Runs, func(r BacklogResult) float64 { return d(r).Seconds() / (float64(r.Events) / 1e5) })
		}
		t.Add(fmt.Sprint(g.Orgs), Num(float64(g.EventsPerOrg*int64(g.Orgs)), 0), fmt.Sprint(len(g.Runs)),
			Of(g.Runs, func(r BacklogResult) float64 { return r.EventsPerSec }).Format(0),
			Of(g.Runs, func(r BacklogResult) float64 { return secs(r.Wall) }).Format(1),
			Of(g.Runs, func(r BacklogResult) float64 { return r.CPUPer100k }).Format(2),
			per100k(func(r BacklogResult) time.Duration { return r.ClickHouseCPU }).Format(2),
			per100k(func(r BacklogResult) time.Duration { return r.HarnessCPU }).Format(2),
			Of(g.Runs, func(r BacklogResult) float64 { return MB(r.PeakRSS) }).Format(0),
			Of(g.Runs, func(r BacklogResult) float64 { return r.RequestsPer1000 }).Format(3),
			Of(g.Runs, func(r BacklogResult) float64 { return float64(r.Status429) }).Format(0),
			loadRange(g.Runs))
	}
	return t
}

// MemoryTable shows peak RSS while catching up.
func MemoryTable(groups []BacklogRuns) *Table {
	t := &Table{Header: []string{"orgs", "events", "runs", "riskpipe peak RSS MB (VmHWM)", "maxrss at exit MB (wait4)", "events/s", "load avg"}}
	for _, g := range groups {
		t.Add(fmt.Sprint(g.Orgs), Num(float64(g.EventsPerOrg*int64(g.Orgs)), 0), fmt.Sprint(len(g.Runs)),
			Of(g.Runs, func(r BacklogResult) float64 { return MB(r.PeakRSS) }).Format(0),
			Of(g.Runs, func(r BacklogResult) float64 { return MB(r.MaxRSS) }).Format(0),
			Of(g.Runs, func(r BacklogResult) float64 { return r.EventsPerSec }).Format(0),
			loadRange(g.Runs))
	}
	return t
}

// FreshnessTable shows persisted-to-queryable delays, one row per
// configuration (the runs of one fleet size).
func FreshnessTable(groups ...[]FreshnessResult) *Table {
	t := &Table{Header: []string{"orgs", "events/s per org", "interval", "runs", "kept events measured", "missing",
		"p50 s", "p90 s", "p99 s", "max s", "riskpipe cores", "ClickHouse cores", "riskpipe RSS MB", "requests/org/interval", "429s"}}
	for _, rs := range groups {
		if len(rs) > 0 {
			freshnessRow(t, rs)
		}
	}
	return t
}

func freshnessRow(t *Table, rs []FreshnessResult) {
	f := rs[0]
	t.Add(fmt.Sprint(f.Orgs), Num(f.Rate, 0), f.Interval.String(), fmt.Sprint(len(rs)),
		Of(rs, func(r FreshnessResult) float64 { return float64(r.Kept) }).Format(0),
		Of(rs, func(r FreshnessResult) float64 { return float64(r.Missing) }).Format(0),
		Of(rs, func(r FreshnessResult) float64 { return secs(r.P50) }).Format(2),
		Of(rs, func(r FreshnessResult) float64 { return secs(r.P90) }).Format(2),
		Of(rs, func(r FreshnessResult) float64 { return secs(r.P99) }).Format(2),
		Of(rs, func(r FreshnessResult) float64 { return secs(r.Max) }).Format(2),
		Of(rs, func(r FreshnessResult) float64 { return r.PipelineCores }).Format(3),
		Of(rs, func(r FreshnessResult) float64 { return r.ClickHouseCores }).Format(3),
		Of(rs, func(r FreshnessResult) float64 { return MB(r.RSS) }).Format(0),
		Of(rs, func(r FreshnessResult) float64 { return r.RequestsPerInterval }).Format(2),
		Of(rs, func(r FreshnessResult) float64 { return float64(r.Status429) }).Format(0))
}

// BudgetTable shows Okta request use, one row per configuration.
func BudgetTable(steadyRate float64, interval time.Duration, groups ...[]BudgetResult) *Table {
	t := &Table{Header: []string{"orgs", "limit/min (share)", "runs", "catch-up events", "catch-up events/s",
		"requests/1000 events", "closing requests/org", "429s catching up", "steady events/s per org", "requests/org/interval", "429s steady"}}
	for _, rs := range groups {
		if len(rs) > 0 {
			budgetRow(t, rs, steadyRate, interval)
		}
	}
	return t
}

func budgetRow(t *Table, rs []BudgetResult, steadyRate float64, interval time.Duration) {
	b := rs[0]
	t.Add(fmt.Sprint(b.Orgs), fmt.Sprintf("%d (%.2g)", b.RateLimitPerMinute, b.Share), fmt.Sprint(len(rs)),
		Num(float64(b.Events), 0),
		Of(rs, func(r BudgetResult) float64 { return r.CatchUpPerSec }).Format(0),
		Of(rs, func(r BudgetResult) float64 { return r.RequestsPer1000 }).Format(3),
		Of(rs, func(r BudgetResult) float64 { return r.ClosingRequests }).Format(1),
		Of(rs, func(r BudgetResult) float64 { return float64(r.CatchUp429) }).Format(0),
		fmt.Sprintf("%s (interval %s)", Num(steadyRate, 0), interval),
		Of(rs, func(r BudgetResult) float64 { return r.RequestsPerInterval }).Format(3),
		Of(rs, func(r BudgetResult) float64 { return float64(r.Steady429) }).Format(0))
}

// SteadyRuns are the steady-state runs of one fleet size.
type SteadyRuns struct {
	Orgs int
	Runs []BudgetResult
}

// ScaleOrgsTable shows how catch-up and steady-state cost grow with orgs.
func ScaleOrgsTable(catchUp []BacklogRuns, steady []SteadyRuns, steadyRate float64, interval time.Duration) *Table {
	t := &Table{Header: []string{"orgs", "catch-up events", "catch-up events/s", "catch-up CPU-s/100k", "catch-up peak RSS MB",
		fmt.Sprintf("steady cores (%s ev/s/org, %s)", Num(steadyRate, 0), interval), "steady RSS MB", "steady requests/org/interval"}}
	for i := range max(len(catchUp), len(steady)) {
		cells := make([]string, 8)
		for j := range cells {
			cells[j] = "–"
		}
		if i < len(catchUp) {
			g := catchUp[i]
			cells[0] = fmt.Sprint(g.Orgs)
			cells[1] = Num(float64(g.EventsPerOrg*int64(g.Orgs)), 0)
			cells[2] = Of(g.Runs, func(r BacklogResult) float64 { return r.EventsPerSec }).Format(0)
			cells[3] = Of(g.Runs, func(r BacklogResult) float64 { return r.CPUPer100k }).Format(2)
			cells[4] = Of(g.Runs, func(r BacklogResult) float64 { return MB(r.PeakRSS) }).Format(0)
		}
		if i < len(steady) {
			s := steady[i]
			cells[0] = fmt.Sprint(s.Orgs)
			cells[5] = Of(s.Runs, func(r BudgetResult) float64 { return r.SteadyCores }).Format(3)
			cells[6] = Of(s.Runs, func(r BudgetResult) float64 { return MB(r.RSS) }).Format(0)
			cells[7] = Of(s.Runs, func(r BudgetResult) float64 { return r.RequestsPerInterval }).Format(2)
		}
		t.Add(cells...)
	}
	return t
}

// QueriesTable shows query latency by table size: p50 / p99 in ms.
func QueriesTable(rs []QueriesResult) *Table {
	t := &Table{Header: []string{"query"}}
	for _, r := range rs {
		t.Header = append(t.Header, fmt.Sprintf("%s rows: p50 / p99 ms", Num(float64(r.Rows), 0)))
	}
	for _, name := range QueryNames {
		cells := []string{name}
		for _, r := range rs {
			c := "–"
			for _, q := range r.Queries {
				if q.Name == name {
					c = fmt.Sprintf("%s / %s", Num(float64(q.P50.Microseconds())/1000, 1), Num(float64(q.P99.Microseconds())/1000, 1))
				}
			}
			cells = append(cells, c)
		}
		t.Add(cells...)
	}
	gen := []string{"(generate rows s / risk_events MB on disk / parts)"}
	for _, r := range rs {
		gen = append(gen, fmt.Sprintf("%s / %s / %d", Num(r.Generate.Seconds(), 1), Num(MB(r.DiskBytes), 0), r.Parts))
	}
	t.Add(gen...)
	return t
}
