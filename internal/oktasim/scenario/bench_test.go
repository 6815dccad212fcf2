package scenario

import (
	"testing"
	"time"
)

// BenchmarkEvent measures building one event; events/s is per core.
func BenchmarkEvent(b *testing.B) {
	for _, sc := range []string{ScenarioDemo, ScenarioBench} {
		b.Run(sc, func(b *testing.B) {
			s, err := New(Options{Org: "acme", Seed: 1, Scenario: sc})
			if err != nil {
				b.Fatal(err)
			}
			p := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
			var size int
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				size += len(s.Event(int64(i), p).Raw)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(size)/float64(b.N), "bytes/event")
		})
	}
}
