package privacy

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests *prometheus.CounterVec
	rows     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "riskpipe_privacy_requests_total",
			Help: "Privacy requests answered, by kind and final status."}, []string{"kind", "status"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "riskpipe_privacy_rows_total",
			Help: "Rows deleted or redacted by privacy deletions, by table and action."}, []string{"table", "action"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.rows)
	}
	return m
}
