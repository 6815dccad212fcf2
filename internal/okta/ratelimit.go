package okta

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is what Okta's X-Rate-Limit-* headers said (zero values when a
// header is absent or invalid).
type RateLimit struct {
	Limit     int       // X-Rate-Limit-Limit: requests per window (0 on a concurrency 429)
	Remaining int       // X-Rate-Limit-Remaining
	Reset     time.Time // X-Rate-Limit-Reset (server clock, UTC epoch seconds)
}

const (
	// initialRate is the pace before Okta has told us the org's limit: 10
	// requests a minute is below every plan's /api/v1/logs share (the
	// smallest plan allows 20/min per org, 50% of it per token), so the
	// first minute can never trip a 429.
	initialRate = rate.Limit(10.0 / 60)
	// burst 1 spreads requests evenly over the minute instead of spending
	// the budget at the start of it; Okta's windows are not aligned with
	// ours, so a burst could straddle two windows and look like twice the
	// rate.
	limiterBurst = 1
	// defaultRateLimitWait is the wait after a 429 whose headers do not say
	// when the window resets: the window itself. Okta documents no
	// Retry-After for the management API, only X-Rate-Limit-Reset, and
	// that "counters typically reset every 60 seconds, though they aren't
	// necessarily synchronized with wall clock minutes"
	// (developer.okta.com/docs/reference/rate-limits/): a minute from the
	// 429 is the latest the window can reset.
	defaultRateLimitWait = 60 * time.Second
	// minRateLimitWait and maxRateLimitWait bound the wait after a 429: at
	// least a second (a reset "now" on a skewed clock must not turn into a
	// hot loop), at most ten minutes (Okta's windows are a minute; a reset
	// far away is a broken header, not a reason to stop polling for hours).
	minRateLimitWait = time.Second
	maxRateLimitWait = 10 * time.Minute
)

// parseRateLimit reads the X-Rate-Limit-* headers. present reports whether
// X-Rate-Limit-Limit was there (a concurrency 429 sends it as 0).
func parseRateLimit(h http.Header) (rl RateLimit, present bool) {
	limit, present := headerInt(h, "X-Rate-Limit-Limit")
	rl.Limit = limit
	rl.Remaining, _ = headerInt(h, "X-Rate-Limit-Remaining")
	if reset, ok := headerInt(h, "X-Rate-Limit-Reset"); ok && reset > 0 {
		rl.Reset = time.Unix(int64(reset), 0).UTC()
	}
	return rl, present
}

func headerInt(h http.Header, key string) (int, bool) {
	v := strings.TrimSpace(h.Get(key))
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// localReset converts the server's reset time to the local clock: the
// distance between the server's Date and its reset, added to now. Without a
// valid Date, the reset is taken as is.
func localReset(reset time.Time, h http.Header, now time.Time) time.Time {
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		return now.Add(reset.Sub(d))
	}
	return reset
}

// retryAt is when a request may be sent again after a 429 with headers h.
func retryAt(h http.Header, now time.Time) time.Time {
	rl, _ := parseRateLimit(h)
	if rl.Reset.IsZero() {
		return now.Add(defaultRateLimitWait)
	}
	wait := localReset(rl.Reset, h, now).Sub(now)
	return now.Add(min(max(wait, minRateLimitWait), maxRateLimitWait))
}

// limiter paces the requests of one client to one Okta bucket. It is a
// token bucket (x/time/rate) whose rate follows the org's limit, plus a
// "not before" gate set by a 429 or by a nearly spent window.
type limiter struct {
	share float64
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	lim   *rate.Limiter

	mu        sync.Mutex
	notBefore time.Time
	last      RateLimit
}

func newLimiter(share float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *limiter {
	return &limiter{
		share: share,
		now:   now,
		sleep: sleep,
		lim:   rate.NewLimiter(initialRate, limiterBurst),
	}
}

// wait blocks until a request may be sent: after any gate, then after a
// token from the bucket. It returns ctx's error if ctx ends first.
func (l *limiter) wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		nb := l.notBefore
		l.mu.Unlock()
		now := l.now()
		if !now.Before(nb) {
			break
		}
		if err := l.sleep(ctx, nb.Sub(now)); err != nil {
			return err
		}
	}
	now := l.now()
	r := l.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		if err := l.sleep(ctx, d); err != nil {
			r.CancelAt(l.now())
			return err
		}
	}
	return ctx.Err()
}

// block makes the next request wait until t (a 429's Until).
func (l *limiter) block(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.notBefore) {
		l.notBefore = t
	}
}

// observe adapts to the rate-limit headers of a response: the rate becomes
// share × Limit per minute, and when Remaining has fallen to the part of
// the window that belongs to others ((1-share) × Limit), requests wait for
// the reset. Missing headers, and the Limit 0 of a concurrency 429, keep
// the current rate. It reports whether the rate changed.
func (l *limiter) observe(h http.Header) (rl RateLimit, changed bool) {
	rl, present := parseRateLimit(h)
	if !present && rl.Reset.IsZero() && h.Get("X-Rate-Limit-Remaining") == "" {
		return rl, false
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = rl
	if !present || rl.Limit == 0 {
		return rl, false
	}
	r := rate.Limit(l.share * float64(rl.Limit) / 60)
	if r != l.lim.Limit() {
		l.lim.SetLimitAt(now, r)
		changed = true
	}
	if _, ok := headerInt(h, "X-Rate-Limit-Remaining"); ok && !rl.Reset.IsZero() &&
		float64(rl.Remaining) <= (1-l.share)*float64(rl.Limit) {
		t := localReset(rl.Reset, h, now)
		if limit := now.Add(maxRateLimitWait); t.After(limit) { // a broken header cannot stop polling
			t = limit
		}
		if t.After(l.notBefore) {
			l.notBefore = t
		}
	}
	return rl, changed
}

func (l *limiter) lastSeen() RateLimit {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
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
