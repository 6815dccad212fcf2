package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/store"
)

// DefaultHeartbeatInterval is how often Run writes the pollers' statuses
// to poller_status and updates riskpipe_tenant_stalled.
const DefaultHeartbeatInterval = 15 * time.Second

// finalStatusTimeout bounds the last status write at shutdown, so a
// ClickHouse that is down delays the shutdown only this much.
const finalStatusTimeout = 5 * time.Second

// StateStopped is the state of the last poller_status row of a tenant
// written at shutdown.
const StateStopped = string(poll.StateStopped)

// heartbeat writes every poller's poll.Status to poller_status (so
// `riskpipe status` reads it from ClickHouse) and keeps the stall gauge
// current. It runs in its own goroutine and only reads the pollers'
// status snapshots, so it never blocks them.
type heartbeat struct {
	st         *store.Store
	statuses   func() []poll.Status
	started    time.Time
	stallAfter time.Duration
	every      time.Duration
	log        *slog.Logger

	stalled *prometheus.GaugeVec
	writes  *prometheus.CounterVec
	// health, when set, gets every beat's statuses.
	health *poll.HealthLog

	mu      sync.Mutex
	failing bool // the last write failed (log transitions only)

	// stallAfterNow, when set, is api.stall_after of the configuration in
	// force (a reload may change it).
	stallAfterNow func() time.Duration
}

// newHeartbeat registers the status metrics: riskpipe_tenant_stalled,
// riskpipe_status_writes_total and riskpipe_build_info.
func newHeartbeat(reg prometheus.Registerer, version string, st *store.Store, statuses func() []poll.Status,
	started time.Time, stallAfter, every time.Duration, log *slog.Logger) (*heartbeat, error) {
	if every <= 0 {
		every = DefaultHeartbeatInterval
	}
	h := &heartbeat{
		st: st, statuses: statuses, started: started, stallAfter: stallAfter, every: every, log: log,
		stalled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riskpipe_tenant_stalled",
			Help: "1 when the tenant's poller has received no event for longer than api.stall_after, else 0.",
		}, []string{"tenant"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskpipe_status_writes_total",
			Help: "Writes of the pollers' statuses to poller_status, by result (ok, error).",
		}, []string{"result"}),
	}
	h.writes.WithLabelValues("ok")
	h.writes.WithLabelValues("error")
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "riskpipe_build_info",
		Help: "Always 1; the version label is riskpipe's version.",
	}, []string{"version"})
	info.WithLabelValues(version).Set(1)
	for _, c := range []prometheus.Collector{h.stalled, h.writes, info} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// run beats at once and then every interval until ctx ends.
func (h *heartbeat) run(ctx context.Context) {
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		h.beat(ctx, "")
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// final writes the statuses once more after the pollers stopped, with
// state "stopped", before the writer and ClickHouse close. Cancelling ctx
// when it returns is safe: the store never lets a cancellation reach an
// insert's Send (store/send.go).
func (h *heartbeat) final(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalStatusTimeout)
	defer cancel()
	h.beat(ctx, poll.StateStopped)
}

// beat updates the stall gauge and writes the statuses (their State
// replaced by state, when given).
func (h *heartbeat) beat(ctx context.Context, state poll.State) {
	now := time.Now()
	sts := h.statuses()
	if h.health != nil && state == "" {
		h.health.Record(now, sts)
	}
	rows := make([]store.PollerStatus, 0, len(sts))
	for _, s := range sts {
		stallAfter := h.stallAfter
		if h.stallAfterNow != nil {
			stallAfter = h.stallAfterNow()
		}
		stalled, _ := s.Stalled(h.started, now, stallAfter)
		h.stalled.WithLabelValues(s.Tenant).Set(boolFloat(stalled))
		if state != "" {
			s.State = state
		}
		rows = append(rows, store.PollerStatus{
			Tenant: s.Tenant, State: string(s.State), IntegratedAt: s.IntegratedAt, LastPoll: s.LastPoll,
			LastSuccess: s.LastSuccess, LastCursorAdvance: s.LastCursorAdvance, NewestPublished: s.NewestPublished,
			LastError: s.LastError, ConsecutiveFailures: s.ConsecutiveFailures, EventsPolled: s.EventsPolled,
			EventsKept: s.EventsKept, StartedAt: h.started, UpdatedAt: now,
		})
	}
	err := h.st.WriteStatuses(ctx, rows)
	if err != nil && ctx.Err() != nil && state == "" {
		return // stopping: the final write follows
	}
	h.mu.Lock()
	was := h.failing
	h.failing = err != nil
	h.mu.Unlock()
	if err != nil {
		h.writes.WithLabelValues("error").Inc()
		if !was {
			h.log.Warn("writing poller status to clickhouse failing; retrying every interval", "err", err, "every", h.every)
		}
		return
	}
	h.writes.WithLabelValues("ok").Inc()
	if was {
		h.log.Info("writing poller status to clickhouse recovered")
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
