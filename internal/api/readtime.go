package api

import (
	"context"
	"time"

	"github.com/riskpipe/riskpipe/internal/score"
)

// Factors as of the time of reading (score/readtime.go): the users list
// and a user's current factor show each stored score brought to the time
// of the request, and percentiles and levels computed from those scores
// over the org's population now, so that within one answer equal scores
// share a percentile and a lower score never has a higher one.

// rankings ranks each org's population at now (store.Reader.Rankings).
func (a *API) rankings(ctx context.Context, orgs []string, now time.Time) (map[string]score.Ranking, error) {
	return a.r.Rankings(ctx, orgs, now, a.s.Score.HalfLife, a.s.Score.PopulationWindow)
}
