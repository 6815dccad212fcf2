package oktasim

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// limiter holds an org's /api/v1/logs limits: a per-minute bucket for the
// org, one per principal (API token or OAuth client), and an in-flight cap.
// Windows start at a bucket's first request after the previous window, so
// they are "not synchronized with wall clock minutes", as Okta says.
type limiter struct {
	opts       RateLimitOptions
	mu         sync.Mutex
	org        bucket
	principals map[string]*bucket
	inflight   atomic.Int64
}

type bucket struct {
	limit int
	used  int
	reset time.Time
}

// rateState is what the X-Rate-Limit-* headers report.
type rateState struct {
	limit, remaining int
	reset            time.Time
}

func newLimiter(o RateLimitOptions) *limiter {
	o.setDefaults()
	return &limiter{opts: o, org: bucket{limit: o.PerMinute}, principals: map[string]*bucket{}}
}

func (b *bucket) roll(now time.Time) {
	if !now.Before(b.reset) {
		b.used = 0
		b.reset = now.Add(time.Minute)
	}
}

func (b *bucket) state() rateState {
	return rateState{limit: b.limit, remaining: max(0, b.limit-b.used), reset: b.reset}
}

// take counts one request against the org and the principal buckets, or
// neither when one is exhausted (ok false, state of the exhausted one).
// The reported state is the bucket with fewer requests left (the org's on
// a tie): Okta does not say which one its headers reflect.
func (l *limiter) take(principal string, now time.Time) (rateState, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.principals[principal]
	if p == nil {
		p = &bucket{limit: l.opts.PerPrincipal}
		l.principals[principal] = p
	}
	l.org.roll(now)
	p.roll(now)
	if l.org.used >= l.org.limit {
		return l.org.state(), false
	}
	if p.used >= p.limit {
		return p.state(), false
	}
	l.org.used++
	p.used++
	if p.limit-p.used < l.org.limit-l.org.used {
		return p.state(), true
	}
	return l.org.state(), true
}

// peek reports the org bucket without counting a request.
func (l *limiter) peek(now time.Time) rateState {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.org.roll(now)
	return l.org.state()
}

// enter admits one in-flight request; leave must follow when ok.
func (l *limiter) enter() bool {
	if l.inflight.Add(1) > int64(l.opts.Concurrency) && !l.opts.Disabled {
		l.inflight.Add(-1)
		return false
	}
	return true
}

func (l *limiter) leave() { l.inflight.Add(-1) }

func setRateHeaders(h http.Header, st rateState) {
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(st.limit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(st.remaining))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(ceilUnix(st.reset), 10))
}

// ceilUnix is t in epoch seconds, rounded up so waiting until it suffices.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
