package respond

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskpipe/riskpipe/internal/config"
)

type metrics struct {
	actions     *prometheus.CounterVec // tenant, action, state
	pending     *prometheus.GaugeVec   // tenant
	exhausted   *prometheus.GaugeVec   // tenant
	budgetWaits *prometheus.CounterVec // tenant
	verified    *prometheus.CounterVec // tenant, outcome
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_response_actions_total",
			Help: "Response actions entering each state, by tenant, action and state.",
		}, []string{"tenant", "action", "state"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riskpipe_response_pending",
			Help: "Response actions waiting for a person (proposed or needs_identity).",
		}, []string{"tenant"}),
		exhausted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riskpipe_response_budget_exhausted",
			Help: "1 while the tenant's max_actions_per_hour is spent and actions wait.",
		}, []string{"tenant"}),
		budgetWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_response_budget_waits_total",
			Help: "Times an action had to wait because the hourly budget was spent.",
		}, []string{"tenant"}),
		verified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_response_verifications_total",
			Help: "Succeeded actions verified from the System Log, or flagged as not seen there in time.",
		}, []string{"tenant", "outcome"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.actions, m.pending, m.exhausted, m.budgetWaits, m.verified} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) initTenant(t string) {
	m.pending.WithLabelValues(t)
	m.exhausted.WithLabelValues(t)
	m.budgetWaits.WithLabelValues(t)
}

func (m *metrics) transition(tenant string, a config.ResponseAction, s State) {
	m.actions.WithLabelValues(tenant, string(a), string(s)).Inc()
}
