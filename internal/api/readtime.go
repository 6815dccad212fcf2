package api

import (
	"context"
	"time"

	"github.com/riskpipe/riskpipe/internal/score"
	"github.com/riskpipe/riskpipe/internal/store"
)

// Factors as of the time of reading (score/readtime.go): the users list
// and a user's current factor show each stored score brought to the time
// of the request, and percentiles and levels computed from those scores
// over the org's population now, so that within one answer equal scores
// share a percentile and a lower score never has a higher one.

// scoreNowSQL is score.Config.ScoreAt in SQL at now (store.ScoreAtSQL).
func (a *API) scoreNowSQL(now time.Time) string {
	return store.ScoreAtSQL(now, a.s.Score.HalfLife)
}

// rankings ranks each org's population at now (store.Reader.Rankings).
func (a *API) rankings(ctx context.Context, orgs []string, now time.Time) (map[string]score.Ranking, error) {
	return a.r.Rankings(ctx, orgs, now, a.s.Score.HalfLife, a.s.Score.PopulationWindow)
}

// TopUsers returns, per org, the n users with the highest attack factor
// above 0 now, as GET /api/v1/users?org=<org>&limit=n shows them: scores
// decayed to now, percentiles and levels ranked in the org now, ties by
// user id. It is for readers outside HTTP (the demo's closing summary);
// Percentile and Level of the stored row are replaced, UpdatedAt stays
// when the factor last changed.
func (a *API) TopUsers(ctx context.Context, orgs []string, n int) (map[string][]FactorUpdate, error) {
	out := make(map[string][]FactorUpdate, len(orgs))
	if len(orgs) == 0 || n <= 0 {
		return out, nil
	}
	now := a.s.Now()
	ranks, err := a.rankings(ctx, orgs, now)
	if err != nil {
		return nil, err
	}
	factors, err := a.r.TopFactors(ctx, orgs, n, now, a.s.Score.HalfLife)
	if err != nil {
		return nil, err
	}
	for _, sf := range factors {
		f := FactorUpdate(sf)
		f.Percentile = ranks[f.Tenant].Percentile(f.Score)
		f.Level = a.s.Score.Bands.Level(f.Score)
		out[f.Tenant] = append(out[f.Tenant], f)
	}
	return out, nil
}
