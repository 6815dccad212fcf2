package store

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	batchRows prometheus.Histogram
	latency   prometheus.Histogram
	flushes   *prometheus.CounterVec
	errors    *prometheus.CounterVec
	rows      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, queueLen func() float64) *metrics {
	m := &metrics{
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "riskpipe_store_batch_rows",
			Help:    "Rows written by one flush, all tables together.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10), // 1 .. 262144
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "riskpipe_store_write_duration_seconds",
			Help:    "Time one flush took, all its inserts together, failed ones included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12), // 1ms .. ~60s
		}),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_store_flushes_total",
			Help: "Flushes by what started them: size (MaxRows, MaxBytes), idle (group commit), age (MaxWait) or shutdown.",
		}, []string{"trigger"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_store_write_errors_total",
			Help: "Failed flushes, by kind (retryable or permanent); every batch of one failed.",
		}, []string{"kind"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_store_rows_written_total",
			Help: "Rows acknowledged by ClickHouse, by table.",
		}, []string{"table"}),
	}
	for _, t := range []string{"size", "idle", "age", "shutdown"} {
		m.flushes.WithLabelValues(t)
	}
	for _, k := range []string{"retryable", "permanent"} {
		m.errors.WithLabelValues(k)
	}
	if reg == nil {
		return m
	}
	m.batchRows = register(reg, m.batchRows)
	m.latency = register(reg, m.latency)
	m.flushes = register(reg, m.flushes)
	m.errors = register(reg, m.errors)
	m.rows = register(reg, m.rows)
	register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "riskpipe_store_queue_batches",
		Help: "Batches waiting in the writer's queue.",
	}, queueLen))
	return m
}

// register registers c, or returns the collector already registered under
// its name (a second Writer on the same registry shares the metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a programming error: names clash with another metric
	}
	return c
}
