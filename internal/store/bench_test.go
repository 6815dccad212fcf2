package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkWriterFlush writes pages of 10k events (about 1.3 KB of raw JSON
// each), one page per flush, with their counts and poll state.
//
//	go test -run '^$' -bench WriterFlush -benchtime 20x ./internal/store/
func BenchmarkWriterFlush(b *testing.B) {
	const perFlush = 10_000
	s := newStore(b)
	w, _ := newWriter(b, s, WriterOptions{MaxRows: perFlush, MaxWait: time.Hour})
	ctx := context.Background()
	events := makeEvents(0, perFlush)
	counts := []TypeCount{{Day: published0, EventType: "user.risk.change", Kept: true, Events: perFlush}}
	raw := 0
	for _, e := range events {
		raw += len(e.Raw)
	}

	b.ReportAllocs()
	b.SetBytes(int64(raw))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		// MaxRows is reached by the batch alone: one flush per Write.
		err := w.Write(ctx, Batch{Tenant: "bench", Events: events, Counts: counts, State: &PollState{Cursor: "c"}})
		require.NoError(b, err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(perFlush*b.N)/elapsed.Seconds(), "rows/s")
}
