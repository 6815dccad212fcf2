package poll

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		name     string
		min, max time.Duration
		want     []time.Duration // the upper bound of each delay; each is drawn from [d/2, d]
	}{
		{"doubles up to the cap", time.Second, 10 * time.Second,
			[]time.Duration{1, 2, 4, 8, 10, 10}},
		{"min above max", 20 * time.Second, 10 * time.Second,
			[]time.Duration{10, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := backoff{min: tt.min, max: tt.max}
			for round := range 2 {
				for i, w := range tt.want {
					d := w * time.Second
					for range 20 {
						// Draw without advancing, to check the range.
						c := b
						got := c.next()
						require.GreaterOrEqual(t, got, d/2, "round %d attempt %d", round, i)
						require.LessOrEqual(t, got, d, "round %d attempt %d", round, i)
					}
					b.next()
				}
				b.reset() // starts over
			}
		})
	}

	t.Run("no overflow after many attempts", func(t *testing.T) {
		b := backoff{min: time.Second, max: time.Minute}
		for range 100 {
			got := b.next()
			require.Positive(t, got)
			require.LessOrEqual(t, got, time.Minute)
		}
	})
}

func TestSleep(t *testing.T) {
	done := make(chan struct{})
	require.True(t, sleep(done, 0), "nothing to wait")
	require.True(t, sleep(done, time.Millisecond))
	close(done)
	require.False(t, sleep(done, time.Hour), "interrupted")
}

func TestStartOffset(t *testing.T) {
	p := New(Settings{Tenant: "acme", Interval: time.Minute})
	require.Equal(t, p.startOffset(), New(Settings{Tenant: "acme", Interval: time.Minute}).startOffset(), "deterministic")
	require.Less(t, p.startOffset(), time.Minute, "within the interval (the default cap)")
	q := New(Settings{Tenant: "acme", Interval: time.Minute, MaxStartDelay: 10 * time.Second})
	require.Less(t, q.startOffset(), 10*time.Second)
	spread := map[time.Duration]bool{}
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		spread[New(Settings{Tenant: name, Interval: time.Minute}).startOffset()] = true
	}
	require.Greater(t, len(spread), 1, "tenants start at different offsets")
}
