package bench

import (
	"context"
	"fmt"
	"time"
)

// Budget measures riskpipe's use of the Okta rate limit: a catch-up of
// Events per org under the org's limits (Setup.RateLimit, Okta's defaults
// when zero), then SteadyRate events/s per org for SteadyFor.
type Budget struct {
	Setup
	Events     int64
	SteadyRate float64
	SteadyFor  time.Duration
}

// BudgetResult is one budget measurement.
type BudgetResult struct {
	Orgs            int
	Events          int64 // catch-up, all orgs
	CatchUp         time.Duration
	CatchUpPerSec   float64 // events/s, all orgs
	CatchUpRequests int64
	RequestsPer1000 float64
	CatchUp429      int64
	// ClosingRequests is the mean number of requests per org in the poll
	// interval after the last kept event was queryable: the short page
	// that tells a poller it caught up, and any other before its next
	// regular poll.
	ClosingRequests float64
	// Steady phase: requests per org per poll interval.
	SteadyRequests      int64
	Intervals           float64
	RequestsPerInterval float64
	Steady429           int64
	// Steady-phase riskpipe cost: share of one core, RSS at the end and
	// peak RSS so far (VmHWM, catch-up included).
	SteadyCores        float64
	RSS, PeakRSS       int64
	RateLimitPerMinute int
	Share              float64
}

// RunBudget runs one budget measurement.
func (h *Harness) RunBudget(ctx context.Context, b Budget) (res BudgetResult, err error) {
	if b.Interval <= 0 {
		b.Interval = 15 * time.Second
	}
	if b.RateLimitShare <= 0 {
		b.RateLimitShare = 0.5
	}
	rl := b.RateLimit
	if rl.PerMinute <= 0 {
		rl.PerMinute = 120 // the simulator's (and Okta's Workforce) default
	}
	res.RateLimitPerMinute, res.Share = rl.PerMinute, b.RateLimitShare
	r, err := h.Start(ctx, b.Setup)
	if err != nil {
		return res, err
	}
	defer func() {
		if _, serr := r.Stop(); err == nil && serr != nil {
			err = serr
		}
	}()
	res.Orgs = len(r.orgs)

	if b.Events > 0 {
		expect := map[string]uint64{}
		for i, name := range r.orgs {
			from := r.sim.Org(name).Len()
			var n uint64
			for j := from; j < from+b.Events; j++ {
				if r.streams[i].Expect(j) != "" {
					n++
				}
			}
			expect[name] = n
		}
		before, err := r.Sample()
		if err != nil {
			return res, err
		}
		r.clock.Mark()
		for _, name := range r.orgs {
			r.sim.Org(name).AddBacklog(b.Events)
		}
		// At most share × limit requests a minute of 1,000 events each.
		perMin := b.RateLimitShare * float64(rl.PerMinute) * 1000
		timeout := 2*time.Minute + time.Duration(float64(b.Events)/perMin*float64(time.Minute))*2
		done, _, err := r.waitKept(ctx, expect, timeout)
		if err != nil {
			return res, err
		}
		after, err := r.Sample()
		if err != nil {
			return res, err
		}
		res.Events = b.Events * int64(len(r.orgs))
		res.CatchUp = done.Sub(r.clock.First())
		res.CatchUpPerSec = float64(res.Events) / res.CatchUp.Seconds()
		res.CatchUpRequests, res.CatchUp429 = requestDelta(before, after)
		res.RequestsPer1000 = float64(res.CatchUpRequests) / (float64(res.Events) / 1000)
		if res.ClosingRequests, err = r.closingRequests(ctx, after); err != nil {
			return res, err
		}
	}

	if b.SteadyRate > 0 && b.SteadyFor > 0 {
		for _, name := range r.orgs {
			r.sim.Org(name).SetRate(b.SteadyRate)
		}
		// Let every poller finish the round it is in.
		if err := sleepCtx(ctx, b.Interval+time.Second); err != nil {
			return res, err
		}
		before, err := r.Sample()
		if err != nil {
			return res, err
		}
		if err := sleepCtx(ctx, b.SteadyFor); err != nil {
			return res, err
		}
		after, err := r.Sample()
		if err != nil {
			return res, err
		}
		if err := r.pipe.Exited(); err != nil {
			return res, fmt.Errorf("riskpipe exited: %w%s", err, r.logTail())
		}
		res.SteadyRequests, res.Steady429 = requestDelta(before, after)
		res.Intervals = after.At.Sub(before.At).Seconds() / b.Interval.Seconds()
		res.RequestsPerInterval = float64(res.SteadyRequests) / float64(len(r.orgs)) / res.Intervals
		res.SteadyCores = after.Pipeline.Sub(before.Pipeline).Total().Seconds() / after.At.Sub(before.At).Seconds()
		res.RSS, res.PeakRSS = after.PipeMem.RSS, after.PipeMem.Peak
	}
	return res, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
