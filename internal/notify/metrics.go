package notify

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	total     *prometheus.CounterVec
	queue     prometheus.Gauge
	pending   prometheus.Gauge
	overflows prometheus.Counter
	retries   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "riskpipe_notifications_total",
			Help: "Notification messages by tenant, kind, channel and status (pending when created; then sent, failed or folded; no_recipient when a finding had nobody to tell)."},
			[]string{"tenant", "kind", "channel", "status"}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{Name: "riskpipe_notification_queue",
			Help: "Confirmed batches waiting between the pipeline and the notifier (bounded; see riskpipe_notification_queue_overflows_total)."}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "riskpipe_notifications_pending",
			Help: "Messages created and not yet delivered (including ones waiting for a retry)."}),
		overflows: prometheus.NewCounter(prometheus.CounterOpts{Name: "riskpipe_notification_queue_overflows_total",
			Help: "Batches that did not fit the queue; their tenant's recent rows were re-read from ClickHouse instead."}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "riskpipe_notification_retries_total",
			Help: "Failed delivery attempts that will be retried with backoff."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.total, m.queue, m.pending, m.overflows, m.retries} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// init creates the series of a tenant's main kinds at 0, so alerts on
// increase() see the first failure.
func (m *metrics) init(tenant string) {
	for _, k := range []Kind{KindAttackStarted, KindUserCritical, KindCriticalIncident} {
		m.total.WithLabelValues(tenant, string(k), string(ChannelEmail), string(StatusFailed))
		m.total.WithLabelValues(tenant, string(k), string(ChannelEmail), string(StatusSent))
	}
}

func (m *metrics) count(tenant string, k Kind, ch Channel, st Status) {
	m.total.WithLabelValues(tenant, string(k), string(ch), string(st)).Inc()
}
