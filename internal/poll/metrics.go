package poll

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pollers' Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	polled       *prometheus.CounterVec
	kept         *prometheus.CounterVec
	dropped      *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	pollDuration *prometheus.HistogramVec
	fetchErrors  *prometheus.CounterVec
	writeErrors  *prometheus.CounterVec
	lastSuccess  *prometheus.GaugeVec
	lag          *prometheus.GaugeVec
}

// NewMetrics registers the pollers' metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		polled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_events_polled_total", Help: "System Log events fetched, by tenant.",
		}, []string{"tenant"}),
		kept: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_events_kept_total", Help: "Events kept as risk events, by tenant and category.",
		}, []string{"tenant", "category"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_events_dropped_total", Help: "Events dropped, by tenant and reason.",
		}, []string{"tenant", "reason"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_events_dead_lettered_total", Help: "Payloads written to dead_letters, by tenant.",
		}, []string{"tenant"}),
		pollDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "riskpipe_poll_duration_seconds", Help: "Duration of one System Log page fetch, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"tenant"}),
		fetchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_poll_errors_total", Help: "Failed page fetches, by tenant and kind (rate_limited, auth, forbidden, retryable, permanent, invalid_page).",
		}, []string{"tenant", "kind"}),
		writeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_write_errors_total", Help: "Failed batch writes seen by pollers (the cursor did not advance).",
		}, []string{"tenant"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riskpipe_last_successful_poll_timestamp_seconds", Help: "Unix time of the last page fetched and written.",
		}, []string{"tenant"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riskpipe_lag_seconds", Help: "Now minus the newest published time seen, at the last page.",
		}, []string{"tenant"}),
	}
	for _, c := range []prometheus.Collector{m.polled, m.kept, m.dropped, m.deadLettered, m.pollDuration, m.fetchErrors, m.writeErrors, m.lastSuccess, m.lag} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observePoll(tenant string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.pollDuration.WithLabelValues(tenant).Observe(d.Seconds())
}

func (m *Metrics) fetchError(tenant, kind string) {
	if m == nil {
		return
	}
	m.fetchErrors.WithLabelValues(tenant, kind).Inc()
}

func (m *Metrics) writeError(tenant string) {
	if m == nil {
		return
	}
	m.writeErrors.WithLabelValues(tenant).Inc()
}

func (m *Metrics) deadLetters(tenant string, n int) {
	if m == nil {
		return
	}
	m.deadLettered.WithLabelValues(tenant).Add(float64(n))
}

func (m *Metrics) observePage(tenant string, polled int, out Outcome, now time.Time) {
	if m == nil {
		return
	}
	m.polled.WithLabelValues(tenant).Add(float64(polled))
	for cat, n := range out.Kept {
		m.kept.WithLabelValues(tenant, cat).Add(float64(n))
	}
	for reason, n := range out.Dropped {
		m.dropped.WithLabelValues(tenant, reason).Add(float64(n))
	}
	if n := len(out.Rows.DeadLetters); n > 0 {
		m.deadLettered.WithLabelValues(tenant).Add(float64(n))
	}
	m.lastSuccess.WithLabelValues(tenant).Set(float64(now.Unix()))
	if !out.NewestPublished.IsZero() {
		m.lag.WithLabelValues(tenant).Set(now.Sub(out.NewestPublished).Seconds())
	}
}

// InitTenant creates tenant's series of the counters that have no other
// label (events polled, dead-lettered, write errors) at 0, so /metrics
// lists every polled tenant before its first event and rate() sees the
// first increase.
func (m *Metrics) InitTenant(tenant string) {
	if m == nil {
		return
	}
	m.polled.WithLabelValues(tenant)
	m.deadLettered.WithLabelValues(tenant)
	m.writeErrors.WithLabelValues(tenant)
}
