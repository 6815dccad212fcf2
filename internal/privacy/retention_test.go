package privacy

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// Retention removes exactly the rows past their table's age: whole months
// by DROP PARTITION, the rest (a partly expired month, partition 0,
// unpartitioned tables) by a mutation.
func TestRetention(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var evs [][]any
	// One event a day for 100 days back, one with an unparsable time.
	for d := 0; d < 100; d++ {
		at := now.Add(-time.Duration(d)*24*time.Hour - time.Hour)
		evs = append(evs, []any{"acme", fmt.Sprintf("r%03d", d), at, uint64(at.UnixMilli()), "", at, uint64(1), fmt.Sprintf("u%d@example.com", d)})
	}
	old := now.Add(-200 * 24 * time.Hour)
	evs = append(evs, []any{"acme", "bad-time", old, uint64(old.UnixMilli()), "published unparsable", old, uint64(1), "x@example.com"})
	f.insert(t, "risk_events", []string{"tenant", "event_id", "published", "published_ms", "published_note", "ingested_at", "version", "user_login"}, evs...)
	var dls [][]any
	for d := 0; d < 40; d++ {
		dls = append(dls, []any{"acme", now.Add(-time.Duration(d) * 24 * time.Hour), fmt.Sprintf("fp%d", d)})
	}
	f.insert(t, "dead_letters", []string{"tenant", "received_at", "fingerprint"}, dls...)

	reg := prometheus.NewRegistry()
	ticks := make(chan time.Time)
	r, err := NewRetention(RetentionOptions{Conn: f.conn, Database: f.db, Now: func() time.Time { return now },
		Ages:  map[string]time.Duration{"risk_events": 45 * 24 * time.Hour, "dead_letters": 30 * 24 * time.Hour, "attack_factor_updates": 0},
		After: func(time.Duration) <-chan time.Time { return ticks }, Registerer: reg, PollInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	reps, err := r.Enforce(context.Background())
	require.NoError(t, err)
	require.Len(t, reps, 3, "risk_events, its index (risk_event_subjects) with risk_events' age, dead_letters")

	cutoff := now.Add(-45 * 24 * time.Hour)
	var kept, wrong uint64
	require.NoError(t, f.conn.QueryRow(context.Background(), fmt.Sprintf("SELECT count(), countIf(published < toDateTime(%d)) FROM `%s`.risk_events", cutoff.Unix(), f.db)).Scan(&kept, &wrong))
	require.Equal(t, uint64(45), kept, "days 0..44 kept")
	require.Zero(t, wrong)
	require.Equal(t, "risk_events", reps[0].Table)
	require.Equal(t, uint64(56), reps[0].RowsRemoved)
	require.GreaterOrEqual(t, reps[0].PartitionsDropped, 1, "whole months dropped")
	require.True(t, !reps[0].Oldest.Before(cutoff) && reps[0].Oldest.Before(cutoff.Add(24*time.Hour)), reps[0].Oldest)
	require.NoError(t, f.conn.QueryRow(context.Background(), fmt.Sprintf("SELECT count(), countIf(published < toDateTime(%d)) FROM `%s`.risk_event_subjects", cutoff.Unix(), f.db)).Scan(&kept, &wrong))
	require.Equal(t, uint64(45), kept, "the index of days 0..44 kept")
	require.Zero(t, wrong)
	require.Equal(t, "risk_event_subjects", reps[1].Table)
	require.Equal(t, uint64(56), reps[1].RowsRemoved)

	require.NoError(t, f.conn.QueryRow(context.Background(), "SELECT count() FROM `"+f.db+"`.dead_letters").Scan(&kept))
	require.Equal(t, uint64(31), kept, "30 days and the boundary second kept")
	require.Equal(t, float64(56), metricValue(t, r.rows.WithLabelValues("risk_events")))
	require.Equal(t, float64(reps[0].Oldest.Unix()), metricValue(t, r.oldest.WithLabelValues("risk_events")))

	// Run enforces at once and then at every tick; a second pass removes nothing.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	ticks <- now
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, float64(56), metricValue(t, r.rows.WithLabelValues("risk_events")))
}

func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	require.NoError(t, m.Write(&d))
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}
