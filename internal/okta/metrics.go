package okta

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Okta client's Prometheus metrics, shared by the clients
// of all tenants (label tenant). A nil *Metrics records nothing.
type Metrics struct {
	requests      *prometheus.CounterVec
	remaining     *prometheus.GaugeVec
	rateLimited   *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	tokenRequests *prometheus.CounterVec
}

// Token request outcomes (label outcome of token_requests_total).
const (
	tokenOK            = "ok"
	tokenDPoPNonce     = "dpop_nonce"    // 400 use_dpop_nonce, retried with the nonce
	tokenDPoPRequired  = "dpop_required" // 400 invalid_dpop_proof in auto mode, retried with DPoP
	tokenAuthError     = "auth_error"
	tokenRateLimited   = "rate_limited"
	tokenRetryable     = "retryable_error"
	tokenInvalidAnswer = "invalid_response"
)

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered):
//
//	riskpipe_okta_requests_total{tenant,code}            API attempts by HTTP status ("error": no response)
//	riskpipe_okta_rate_limit_remaining{tenant}           last X-Rate-Limit-Remaining
//	riskpipe_okta_rate_limited_total{tenant,kind}        429s, kind=rate|concurrency
//	riskpipe_okta_request_duration_seconds{tenant}       API attempt latency (headers received)
//	riskpipe_okta_token_requests_total{tenant,outcome}   token endpoint requests
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	const ns, sub = "riskpipe", "okta"
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "System Log API request attempts, by HTTP status code (error: no response).",
		}, []string{"tenant", "code"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "rate_limit_remaining",
			Help: "Last X-Rate-Limit-Remaining seen on the System Log API.",
		}, []string{"tenant"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "rate_limited_total",
			Help: "HTTP 429 answers, by kind (rate: window spent, concurrency: too many requests in flight).",
		}, []string{"tenant", "kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help:    "System Log API attempt latency until the response headers arrive.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"tenant"}),
		tokenRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "token_requests_total",
			Help: "OAuth token endpoint requests, by outcome.",
		}, []string{"tenant", "outcome"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.remaining, m.rateLimited, m.duration, m.tokenRequests} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register okta metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) attempt(tenant string, status int, d time.Duration) {
	if m == nil {
		return
	}
	code := "error"
	if status != 0 {
		code = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(tenant, code).Inc()
	if status != 0 {
		m.duration.WithLabelValues(tenant).Observe(d.Seconds())
	}
}

func (m *Metrics) setRemaining(tenant string, n int) {
	if m != nil {
		m.remaining.WithLabelValues(tenant).Set(float64(n))
	}
}

func (m *Metrics) limited(tenant string, concurrency bool) {
	if m == nil {
		return
	}
	kind := "rate"
	if concurrency {
		kind = "concurrency"
	}
	m.rateLimited.WithLabelValues(tenant, kind).Inc()
}

func (m *Metrics) token(tenant, outcome string) {
	if m != nil {
		m.tokenRequests.WithLabelValues(tenant, outcome).Inc()
	}
}

// InitTenant creates tenant's 429 counters (kind rate and concurrency) at
// 0, so /metrics lists them before the first 429.
func (m *Metrics) InitTenant(tenant string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(tenant, "rate")
	m.rateLimited.WithLabelValues(tenant, "concurrency")
}
