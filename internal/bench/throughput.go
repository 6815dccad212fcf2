package bench

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"time"
)

// Backlog is one catch-up measurement: each org gets a backlog of Events
// events persisted after its integration, served as fast as riskpipe asks
// (Setup.RateLimit, normally Unlimited), and the clock runs until
// ClickHouse holds every kept event.
type Backlog struct {
	Setup
	Events  int64         // per org
	Timeout time.Duration // default: generous, from the event count
}

// BacklogResult is what one catch-up measured.
type BacklogResult struct {
	Orgs   int
	Events int64  // all orgs
	Kept   uint64 // expected by the scenario's oracle (Expect)
	Stored uint64 // in ClickHouse (FINAL) when the run ended: equals Kept
	// Wall is from the first System Log request after the backlog
	// appeared (riskpipe woke up) to the moment the last kept event was
	// queryable (FINAL count equals the expected count). WallFromBacklog
	// also counts the wait for the next poll.
	Wall, WallFromBacklog time.Duration
	EventsPerSec          float64 // Events / Wall
	// CPU of riskpipe (utime+stime from /proc/<pid>/stat), of ClickHouse
	// and of the harness (the simulator generating and serving events,
	// and the harness's own count queries) during the backlog.
	PipelineCPU, ClickHouseCPU, HarnessCPU time.Duration
	CPUPer100k                             float64 // riskpipe CPU-s per 100k events
	PeakRSS                                int64   // riskpipe VmHWM, bytes
	MaxRSS                                 int64   // riskpipe wait4 maxrss at exit, bytes (cross-check)
	Requests                               int64   // System Log responses (any status) during the backlog
	Status429                              int64
	RequestsPer1000                        float64
	LoadAvg                                [2]float64 // 1-minute load average at start and end
}

// RunBacklog runs one catch-up measurement.
func (h *Harness) RunBacklog(ctx context.Context, b Backlog) (res BacklogResult, err error) {
	if b.Events <= 0 {
		return res, fmt.Errorf("bench: backlog of %d events", b.Events)
	}
	if b.Timeout <= 0 {
		// 1,000 events/s is far below any acceptable result.
		b.Timeout = 2*time.Minute + time.Duration(b.Events*int64(b.Orgs))*time.Millisecond
	}
	r, err := h.Start(ctx, b.Setup)
	if err != nil {
		return res, err
	}
	defer func() {
		fin, serr := r.Stop()
		res.MaxRSS = fin.MaxRSS
		if err == nil && serr != nil {
			err = serr
		}
	}()

	// What riskpipe must keep: the scenario's oracle, index by index.
	expect := map[string]uint64{}
	ranges := make([][2]int64, len(r.orgs))
	for i, name := range r.orgs {
		from := r.sim.Org(name).Len()
		ranges[i] = [2]int64{from, from + b.Events}
		var n uint64
		for j := from; j < from+b.Events; j++ {
			if r.streams[i].Expect(j) != "" {
				n++
			}
		}
		expect[name] = n
		res.Kept += n
	}
	res.Orgs, res.Events = len(r.orgs), b.Events*int64(len(r.orgs))

	before, err := r.Sample()
	if err != nil {
		return res, err
	}
	r.clock.Mark()
	for _, name := range r.orgs {
		r.sim.Org(name).AddBacklog(b.Events)
	}
	for i, name := range r.orgs { // nothing else may have been appended
		if got := r.sim.Org(name).Len(); got != ranges[i][1] {
			return res, fmt.Errorf("org %s holds %d events, want %d", name, got, ranges[i][1])
		}
	}
	done, stored, err := r.waitKept(ctx, expect, b.Timeout)
	if err != nil {
		return res, err
	}
	for _, n := range stored {
		res.Stored += n
	}
	after, err := r.Sample()
	if err != nil {
		return res, err
	}
	first := r.clock.First()
	res.Wall = done.Sub(first)
	res.WallFromBacklog = done.Sub(before.At)
	res.EventsPerSec = float64(res.Events) / res.Wall.Seconds()
	res.PipelineCPU = after.Pipeline.Sub(before.Pipeline).Total()
	res.ClickHouseCPU = after.ClickHouse.Sub(before.ClickHouse).Total()
	res.HarnessCPU = after.Harness.Sub(before.Harness).Total()
	res.CPUPer100k = res.PipelineCPU.Seconds() / (float64(res.Events) / 1e5)
	res.PeakRSS = after.PipeMem.Peak
	res.Requests, res.Status429 = requestDelta(before, after)
	res.RequestsPer1000 = float64(res.Requests) / (float64(res.Events) / 1000)
	res.LoadAvg = [2]float64{before.LoadAvg, after.LoadAvg}
	return res, nil
}

// closingRequests waits one poll interval after a catch-up and returns the
// requests per org sent meanwhile.
func (r *Run) closingRequests(ctx context.Context, after Sample) (float64, error) {
	interval := r.s.Interval
	if interval <= 0 {
		interval = 15 * time.Second
	}
	if err := sleepCtx(ctx, interval); err != nil {
		return 0, err
	}
	n, _ := requestDelta(after, Sample{Sim: r.sim.Stats()})
	return float64(n) / float64(len(r.orgs)), nil
}

// requestDelta is the number of System Log responses, and of 429s, between
// two samples, over all orgs.
func requestDelta(before, after Sample) (all, tooMany int64) {
	for org, st := range after.Sim {
		b := before.Sim[org].Requests
		for status, n := range st.Requests {
			d := n - b[status]
			all += d
			if status == http.StatusTooManyRequests {
				tooMany += d
			}
		}
	}
	return all, tooMany
}

// waitKept polls ClickHouse every 100 ms until every tenant holds exactly
// its expected number of kept events (read with FINAL), and returns when
// that was first seen. A cheap count without FINAL gates the FINAL one.
// More rows than expected under FINAL is an error: riskpipe kept an event
// it should have dropped.
func (r *Run) waitKept(ctx context.Context, expect map[string]uint64, timeout time.Duration) (time.Time, map[string]uint64, error) {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last map[string]uint64
	for {
		at := time.Now()
		raw, err := r.countKept(ctx, false)
		if err != nil {
			return time.Time{}, nil, err
		}
		if atLeast(raw, expect) {
			final, err := r.countKept(ctx, true)
			if err != nil {
				return time.Time{}, nil, err
			}
			last = final
			if maps.Equal(final, expect) {
				return at, final, nil
			}
			for t, n := range final {
				if n > expect[t] {
					return time.Time{}, nil, fmt.Errorf("tenant %s: %d kept events in ClickHouse, expected %d", t, n, expect[t])
				}
			}
		}
		if err := r.pipe.Exited(); err != nil {
			return time.Time{}, nil, fmt.Errorf("riskpipe exited: %w%s", err, r.logTail())
		}
		if time.Now().After(deadline) {
			return time.Time{}, nil, fmt.Errorf("kept events after %s: %v (FINAL %v), want %v%s", timeout, raw, last, expect, r.logTail())
		}
		select {
		case <-ctx.Done():
			return time.Time{}, nil, ctx.Err()
		case <-tick.C:
		}
	}
}

func atLeast(got, want map[string]uint64) bool {
	for t, n := range want {
		if got[t] < n {
			return false
		}
	}
	return true
}

// countKept counts risk_events rows per polled tenant.
func (r *Run) countKept(ctx context.Context, final bool) (map[string]uint64, error) {
	out, err := r.reader().KeptPerTenant(ctx, r.orgs, final)
	if err != nil {
		return nil, fmt.Errorf("count kept events: %w", err)
	}
	return out, nil
}
