package score

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestScoreAt(t *testing.T) {
	c := DefaultConfig()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	x := func(score float64) float64 { return -c.Scale * math.Log(1-score/100) }
	for _, tc := range []struct {
		name  string
		give  float64
		after time.Duration
		want  float64
	}{
		{"no time passed", 55.07, 0, 55.07},
		{"earlier than updated", 55.07, -time.Hour, 55.07},
		{"zero stays zero", 0, 30 * 24 * time.Hour, 0},
		// A leaked credential (x = 40) 14 and 28 days later: x = 20, 10
		// (docs/attack-factor.md, worked examples).
		{"one half-life", 55.07, 14 * 24 * time.Hour, 32.97},
		{"two half-lives", 55.07, 28 * 24 * time.Hour, 18.13},
		{"one day", 39.35, 24 * time.Hour, round2(100 * -math.Expm1(-x(39.35)*math.Exp2(-1.0/14)/c.Scale))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.InDelta(t, tc.want, c.ScoreAt(tc.give, t0, t0.Add(tc.after)), 0.011)
		})
	}
	// Order is kept: decaying two users to the same time never swaps them.
	a := c.ScoreAt(60, t0, t0.Add(40*24*time.Hour))
	b := c.ScoreAt(50, t0.Add(10*24*time.Hour), t0.Add(40*24*time.Hour))
	require.Greater(t, b, a, "the newer row of a lower score can be above an older higher one")
}

func TestRankingPercentile(t *testing.T) {
	// 10 users: u9 55.07, u7 25.92, u3 18.13, seven at 0
	// (docs/attack-factor.md's example): 90, 80, 70, 0.
	r := NewRanking(10, map[float64]uint64{55.07: 1, 25.92: 1, 18.13: 1})
	require.Equal(t, 90.0, r.Percentile(55.07))
	require.Equal(t, 80.0, r.Percentile(25.92))
	require.Equal(t, 70.0, r.Percentile(18.13))
	require.Equal(t, 0.0, r.Percentile(0))
	require.Equal(t, 100.0, r.Percentile(99), "above everyone")
	require.Equal(t, 70.0, r.Percentile(1), "above the zeros only")

	ties := NewRanking(4, map[float64]uint64{30: 2, 10: 1})
	require.Equal(t, 50.0, ties.Percentile(30), "ties share a percentile")
	require.Equal(t, 25.0, ties.Percentile(10))
	require.Equal(t, uint64(4), ties.Population())

	small := NewRanking(1, map[float64]uint64{30: 2})
	require.Equal(t, uint64(2), small.Population(), "every positive user is in the population")
	require.Equal(t, 0.0, NewRanking(0, nil).Percentile(10))
}
