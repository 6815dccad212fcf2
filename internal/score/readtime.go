package score

import (
	"math"
	"sort"
	"time"
)

// Reading factors at the time of reading.
//
// attack_factor_latest holds each user's factor as of its updated_at: a
// page that changes a user writes a row, and the hourly Refresh rewrites
// only the users that moved by MaterialChange. Between rows a score decays
// and the org's other users move, so stored scores and percentiles of
// different users are of different times and can contradict each other
// (a lower score with a higher percentile). Readers therefore bring every
// stored score to the time of reading with ScoreAt and rank the org anew
// with a Ranking of those scores: within one answer, equal scores share a
// percentile and a lower score never has a higher one.

// ScoreAt is a score computed at updatedAt brought to t. Every signal
// decays alike, so the weighted sum x at t is x at updatedAt times
// f = 2^(−(t − updatedAt)/HalfLife), and since score = 100·(1 − e^(−x/Scale)):
//
//	1 − ScoreAt/100 = (1 − score/100)^f
//
// (independent of Scale), rounded to 2 decimals. A t before updatedAt
// leaves the score as it is. Signals passing the horizon meanwhile are not
// dropped: they keep under 0.1% of their weight there.
func (c Config) ScoreAt(score float64, updatedAt, t time.Time) float64 {
	hl := c.HalfLife
	if hl <= 0 {
		hl = DefaultHalfLife
	}
	d := t.Sub(updatedAt)
	if d <= 0 || score <= 0 {
		return score
	}
	f := math.Exp2(-d.Seconds() / hl.Seconds())
	return round2(100 * (1 - math.Pow(1-min(score, 100)/100, f)))
}

// Ranking is an org's population at one time, for percentiles: its size
// and the scores above 0 among it (the others are 0).
type Ranking struct {
	pop      uint64
	positive uint64    // users with a score above 0
	scores   []float64 // their distinct scores, ascending
	below    []uint64  // below[i]: users with a positive score lower than scores[i]
}

// NewRanking ranks a population of population users whose scores above 0
// are counted in positive (score → users). A population smaller than the
// positive users counts as their number.
func NewRanking(population uint64, positive map[float64]uint64) Ranking {
	r := Ranking{scores: make([]float64, 0, len(positive))}
	for s, k := range positive {
		if s > 0 && k > 0 {
			r.scores = append(r.scores, s)
		}
	}
	sort.Float64s(r.scores)
	r.below = make([]uint64, len(r.scores))
	for i, s := range r.scores {
		r.below[i] = r.positive
		r.positive += positive[s]
	}
	r.pop = max(population, r.positive)
	return r
}

// Population is the number of users ranked.
func (r Ranking) Population() uint64 { return r.pop }

// Rank is how a reader shows a score of the org ranked in r: its
// percentile there and its level (c's Bands, the defaults when zero).
func (c Config) Rank(r Ranking, score float64) (percentile float64, level string) {
	b := c.Bands
	if b == (Bands{}) {
		b = DefaultBands()
	}
	return r.Percentile(score), b.Level(score)
}

// Percentile is the percentage of the population with a score strictly
// below score, rounded to 2 decimals; 0 for a score of 0
// (docs/attack-factor.md): equal scores share a percentile.
func (r Ranking) Percentile(score float64) float64 {
	if score <= 0 || r.pop == 0 {
		return 0
	}
	lower := r.positive // every positive score is below one above them all
	if i := sort.SearchFloat64s(r.scores, score); i < len(r.scores) {
		lower = r.below[i]
	}
	zero := r.pop - r.positive
	return round2(100 * float64(zero+lower) / float64(r.pop))
}
