package bench

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Freshness measures, at a steady rate, the delay from an event's
// persistence in the simulator to its row being queryable in ClickHouse.
type Freshness struct {
	Setup         // EventsPerSecond is the steady rate per org
	Warmup        time.Duration
	Duration      time.Duration // events persisted in this window are measured
	PollEvery     time.Duration // how often the harness looks for new rows (default 50ms)
	SettleTimeout time.Duration // how long to wait for the window's last events (default 2 intervals + 20s)
}

// FreshnessResult is one freshness measurement.
type FreshnessResult struct {
	Orgs    int
	Rate    float64 // events/s per org
	Kept    int     // kept events measured
	Missing int     // kept events never seen (must be 0)
	// Delays from persisted to first seen by the harness's poll, which
	// runs every PollEvery: each delay is late by up to PollEvery plus
	// one query.
	P50, P90, P99, Max time.Duration
	// Steady-state cost over the window: riskpipe CPU as a share of one
	// core, its RSS, and System Log requests per org per poll interval.
	PipelineCores        float64
	ClickHouseCores      float64
	RSS, PeakRSS         int64
	RequestsPerInterval  float64
	Status429            int64
	LoadAvg              [2]float64
	Interval, PollPeriod time.Duration
}

// RunFreshness runs one freshness measurement.
func (h *Harness) RunFreshness(ctx context.Context, f Freshness) (res FreshnessResult, err error) {
	if f.EventsPerSecond <= 0 || f.Duration <= 0 {
		return res, fmt.Errorf("bench: freshness needs a rate and a duration")
	}
	if f.Interval <= 0 {
		f.Interval = 15 * time.Second // riskpipe's default
	}
	if f.PollEvery <= 0 {
		f.PollEvery = 50 * time.Millisecond
	}
	if f.SettleTimeout <= 0 {
		f.SettleTimeout = 2*f.Interval + 20*time.Second
	}
	rate := f.EventsPerSecond
	f.EventsPerSecond = 0 // the steady rate starts after integration
	r, err := h.Start(ctx, f.Setup)
	if err != nil {
		return res, err
	}
	defer func() {
		if _, serr := r.Stop(); err == nil && serr != nil {
			err = serr
		}
	}()
	res.Orgs, res.Rate, res.Interval, res.PollPeriod = len(r.orgs), rate, f.Interval, f.PollEvery

	for _, name := range r.orgs {
		r.sim.Org(name).SetRate(rate)
	}
	seen := map[string]time.Time{} // event_id → first seen
	watch := newRowWatcher(r, f.PollEvery)
	// Rows are watched from the start, so the warm-up's rows are not
	// mistaken for the window's.
	if err := watch.until(ctx, time.Now().Add(f.Warmup), seen); err != nil {
		return res, err
	}
	from := make([]int64, len(r.orgs))
	for i, name := range r.orgs {
		from[i] = r.sim.Org(name).Len()
	}
	before, err := r.Sample()
	if err != nil {
		return res, err
	}
	if err := watch.until(ctx, time.Now().Add(f.Duration), seen); err != nil {
		return res, err
	}
	after, err := r.Sample()
	if err != nil {
		return res, err
	}
	to := make([]int64, len(r.orgs))
	for i, name := range r.orgs {
		to[i] = r.sim.Org(name).Len()
	}

	// The window's kept events and when they were persisted.
	type kept struct {
		id        string
		persisted time.Time
	}
	var want []kept
	for i, name := range r.orgs {
		org := r.sim.Org(name)
		for j := from[i]; j < to[i]; j++ {
			if r.streams[i].Expect(j) == "" {
				continue
			}
			ev, p, ok := org.EventAt(j)
			if !ok {
				return res, fmt.Errorf("org %s: event %d not visible", name, j)
			}
			want = append(want, kept{ev.ID, p})
		}
	}
	// Wait for the window's last events (at most a poll interval late).
	settle := time.Now().Add(f.SettleTimeout)
	for {
		missing := 0
		for _, k := range want {
			if _, ok := seen[k.id]; !ok {
				missing++
			}
		}
		if missing == 0 || time.Now().After(settle) {
			res.Missing = missing
			break
		}
		if err := watch.until(ctx, time.Now().Add(time.Second), seen); err != nil {
			return res, err
		}
	}

	delays := make([]time.Duration, 0, len(want))
	for _, k := range want {
		if t, ok := seen[k.id]; ok {
			delays = append(delays, t.Sub(k.persisted))
		}
	}
	res.Kept = len(want)
	if len(delays) > 0 {
		slices.Sort(delays)
		res.P50, res.P90, res.P99 = quantile(delays, 0.50), quantile(delays, 0.90), quantile(delays, 0.99)
		res.Max = delays[len(delays)-1]
	}
	window := after.At.Sub(before.At)
	res.PipelineCores = after.Pipeline.Sub(before.Pipeline).Total().Seconds() / window.Seconds()
	res.ClickHouseCores = after.ClickHouse.Sub(before.ClickHouse).Total().Seconds() / window.Seconds()
	res.RSS, res.PeakRSS = after.PipeMem.RSS, after.PipeMem.Peak
	reqs, tooMany := requestDelta(before, after)
	res.RequestsPerInterval = float64(reqs) / float64(len(r.orgs)) / (window.Seconds() / f.Interval.Seconds())
	res.Status429 = tooMany
	res.LoadAvg = [2]float64{before.LoadAvg, after.LoadAvg}
	return res, nil
}

// quantile is the nearest-rank q-quantile of sorted d.
func quantile[T any](d []T, q float64) T {
	i := int(q*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// rowWatcher polls ClickHouse for new kept rows and records when each
// event id was first seen. ingested_at is the flush's start, to the
// second, and a flush may take seconds on a loaded machine: each poll asks
// for rows ingested up to 30 s before the previous poll.
type rowWatcher struct {
	r     *Run
	every time.Duration
	since time.Time
}

func newRowWatcher(r *Run, every time.Duration) *rowWatcher {
	return &rowWatcher{r: r, every: every, since: time.Now().Add(-time.Minute)}
}

func (w *rowWatcher) until(ctx context.Context, end time.Time, seen map[string]time.Time) error {
	tick := time.NewTicker(w.every)
	defer tick.Stop()
	for {
		at := time.Now()
		ids, err := w.r.reader().IngestedSince(ctx, w.r.orgs, w.since.Add(-30*time.Second))
		if err != nil {
			return fmt.Errorf("watch rows: %w", err)
		}
		for _, id := range ids {
			if _, ok := seen[id]; !ok {
				seen[id] = at
			}
		}
		w.since = at
		if err := w.r.pipe.Exited(); err != nil {
			return fmt.Errorf("riskpipe exited: %w%s", err, w.r.logTail())
		}
		if !time.Now().Before(end) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
