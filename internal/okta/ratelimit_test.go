package okta

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// serverDate is the Date the fake server claims; it is far from the fake
// client clock on purpose, so only skew-corrected arithmetic passes.
var serverDate = time.Date(2031, 7, 4, 8, 0, 0, 0, time.UTC)

func rateHeaders(w http.ResponseWriter, limit, remaining string, resetIn time.Duration) {
	w.Header().Set("Date", serverDate.Format(http.TimeFormat))
	if limit != "" {
		w.Header().Set("X-Rate-Limit-Limit", limit)
	}
	if remaining != "" {
		w.Header().Set("X-Rate-Limit-Remaining", remaining)
	}
	if resetIn != 0 {
		w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(serverDate.Add(resetIn).Unix(), 10))
	}
}

func TestRateLimited(t *testing.T) {
	tests := []struct {
		name            string
		headers         func(w http.ResponseWriter, f *fakeOkta)
		wantWait        time.Duration // Until - time of the 429
		wantConcurrency bool
		wantLimit       int
	}{
		{
			name:      "rate 429 with headers: until the reset, skew corrected",
			headers:   func(w http.ResponseWriter, _ *fakeOkta) { rateHeaders(w, "60", "0", 30*time.Second) },
			wantWait:  30 * time.Second,
			wantLimit: 60,
		},
		{
			name:     "429 without headers: default wait",
			headers:  func(http.ResponseWriter, *fakeOkta) {},
			wantWait: defaultRateLimitWait,
		},
		{
			name:     "429 with an invalid reset: default wait",
			headers:  func(w http.ResponseWriter, _ *fakeOkta) { w.Header().Set("X-Rate-Limit-Reset", "soon") },
			wantWait: defaultRateLimitWait,
		},
		{
			name: "no Date header: reset taken as is",
			headers: func(w http.ResponseWriter, f *fakeOkta) {
				w.Header()["Date"] = nil
				w.Header().Set("X-Rate-Limit-Limit", "50")
				w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(f.clock.Now().Add(45*time.Second).Unix(), 10))
			},
			wantWait:  45 * time.Second,
			wantLimit: 50,
		},
		{
			name:     "reset in the past: minimum wait",
			headers:  func(w http.ResponseWriter, _ *fakeOkta) { rateHeaders(w, "60", "0", -time.Hour) },
			wantWait: minRateLimitWait, wantLimit: 60,
		},
		{
			name:            "concurrency 429 carries limit 0",
			headers:         func(w http.ResponseWriter, _ *fakeOkta) { rateHeaders(w, "0", "0", 5*time.Second) },
			wantWait:        5 * time.Second,
			wantConcurrency: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, "")
			f.logs = func(w http.ResponseWriter, r *http.Request, hit int) {
				if hit == 1 {
					tt.headers(w, f)
					oktaError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
					return
				}
				writePage(w, `[]`)
			}
			m, err := NewMetrics(prometheus.NewRegistry())
			require.NoError(t, err)
			c := newTestClient(t, f, func(s *Settings) { s.Metrics = m })

			_, err = c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
			rl, ok := IsRateLimited(err)
			require.True(t, ok, "%T %v", err, err)
			require.Equal(t, 1, f.count("logs"), "a 429 is not retried inside Fetch")
			hitAt := f.times("logs")[0]
			require.Equal(t, hitAt.Add(tt.wantWait), rl.Until)
			require.Equal(t, tt.wantConcurrency, rl.Concurrency)
			require.Equal(t, tt.wantLimit, rl.Limit)
			require.False(t, IsRetryable(err))
			kind := "rate"
			if tt.wantConcurrency {
				kind = "concurrency"
			}
			require.Equal(t, 1.0, counterValue(t, m.rateLimited, "acme", kind))

			// The caller ignores the error and fetches at once: the client
			// still waits for Until before sending.
			_, err = c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
			require.NoError(t, err)
			second := f.times("logs")[1]
			require.False(t, second.Before(rl.Until), "second request at %s, before %s", second, rl.Until)
		})
	}
}

func TestLimiterAdapts(t *testing.T) {
	tests := []struct {
		name      string
		share     float64
		limit     string
		remaining string
		wantRate  rate.Limit
		wantGate  bool // next request waits for the reset
	}{
		{name: "limit 60, share 0.5: 30/min", share: 0.5, limit: "60", remaining: "59", wantRate: rate.Limit(30.0 / 60)},
		{name: "limit 120, share 0.25: 30/min", share: 0.25, limit: "120", remaining: "119", wantRate: rate.Limit(30.0 / 60)},
		{name: "limit 600, share 1: 600/min", share: 1, limit: "600", remaining: "1", wantRate: rate.Limit(10)},
		{name: "no headers: rate kept", share: 0.5, wantRate: initialRate},
		{name: "limit 0 (concurrency): rate kept", share: 0.5, limit: "0", remaining: "0", wantRate: initialRate},
		{name: "remaining at others' part: wait for reset", share: 0.5, limit: "60", remaining: "30",
			wantRate: rate.Limit(30.0 / 60), wantGate: true},
		{name: "remaining just above others' part: no wait", share: 0.5, limit: "60", remaining: "31",
			wantRate: rate.Limit(30.0 / 60)},
		{name: "share 1, window spent: wait for reset", share: 1, limit: "50", remaining: "0",
			wantRate: rate.Limit(50.0 / 60), wantGate: true},
	}
	const resetIn = 40 * time.Second
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, "")
			f.logs = func(w http.ResponseWriter, r *http.Request, hit int) {
				if hit == 1 && tt.limit != "" {
					rateHeaders(w, tt.limit, tt.remaining, resetIn)
				}
				writePage(w, `[]`)
			}
			m, err := NewMetrics(prometheus.NewRegistry())
			require.NoError(t, err)
			c := newTestClient(t, f, func(s *Settings) { s.RateLimitShare = tt.share; s.Metrics = m })
			require.Equal(t, initialRate, c.limiter.lim.Limit())

			_, err = c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
			require.NoError(t, err)
			require.Equal(t, tt.wantRate, c.limiter.lim.Limit())
			require.Equal(t, limiterBurst, c.limiter.lim.Burst())
			if tt.remaining != "" {
				n, _ := strconv.Atoi(tt.remaining)
				require.Equal(t, float64(n), gaugeValue(t, m.remaining, "acme"))
				require.Equal(t, n, c.RateLimit().Remaining)
			}

			_, err = c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
			require.NoError(t, err)
			times := f.times("logs")
			gap := times[1].Sub(times[0])
			if tt.wantGate {
				require.GreaterOrEqual(t, gap, resetIn)
			} else {
				// Only the token bucket: one request's worth of the rate.
				require.Less(t, gap, resetIn)
				require.InDelta(t, float64(time.Second)/float64(tt.wantRate), float64(gap), float64(time.Millisecond))
			}
			// A response without headers keeps what was learnt.
			require.Equal(t, tt.wantRate, c.limiter.lim.Limit())
		})
	}
}

func TestRetryAt(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("Date", serverDate.Format(http.TimeFormat))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(serverDate.Add(24*time.Hour).Unix(), 10))
	require.Equal(t, now.Add(maxRateLimitWait), retryAt(h, now), "a reset far away is capped")
	h.Set("X-Rate-Limit-Reset", "-5")
	require.Equal(t, now.Add(defaultRateLimitWait), retryAt(h, now))
}

func TestMetricsRegisterOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := NewMetrics(reg)
	require.NoError(t, err)
	_, err = NewMetrics(reg)
	require.Error(t, err)
	var are prometheus.AlreadyRegisteredError
	require.True(t, errors.As(err, &are))
}

func TestMetricsCountAttempts(t *testing.T) {
	f := newFakeOkta(t, "")
	f.logs = func(w http.ResponseWriter, r *http.Request, hit int) {
		if hit == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		writePage(w, `[]`)
	}
	m, err := NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	c := newTestClient(t, f, func(s *Settings) { s.Metrics = m })
	_, err = c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
	require.NoError(t, err)
	require.Equal(t, 1.0, counterValue(t, m.requests, "acme", "500"))
	require.Equal(t, 1.0, counterValue(t, m.requests, "acme", "200"))
	var h dto.Metric
	require.NoError(t, m.duration.WithLabelValues("acme").(prometheus.Histogram).Write(&h))
	require.Equal(t, uint64(2), h.GetHistogram().GetSampleCount())
}

func counterValue(t *testing.T, v *prometheus.CounterVec, labels ...string) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, v.WithLabelValues(labels...).Write(&m))
	return m.GetCounter().GetValue()
}

func gaugeValue(t *testing.T, v *prometheus.GaugeVec, labels ...string) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, v.WithLabelValues(labels...).Write(&m))
	return m.GetGauge().GetValue()
}
