package api

import (
	"context"
	"fmt"
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

// rankings ranks each org's population at now: the users seen within the
// population window (org_users) or with a score above 0 now, and the
// distribution of those scores (one row per distinct score: at most 10,001
// per org).
func (a *API) rankings(ctx context.Context, orgs []string, now time.Time) (map[string]score.Ranking, error) {
	positive := map[string]map[float64]uint64{}
	pop := map[string]uint64{}
	for _, o := range orgs {
		positive[o] = map[float64]uint64{}
	}
	args := []any{}
	query := fmt.Sprintf(`SELECT tenant, s, count()
FROM
(
    SELECT tenant, %s AS s
    FROM %s FINAL
    WHERE tenant IN %s
)
WHERE s > 0
GROUP BY tenant, s`, a.scoreNowSQL(now), a.table("attack_factor_latest"), in(&args, orgs))
	rows, err := a.s.Conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query score distribution: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			t string
			s float64
			n uint64
		)
		if err := rows.Scan(&t, &s, &n); err != nil {
			return nil, fmt.Errorf("scan score distribution: %w", err)
		}
		if positive[t] != nil {
			positive[t][s] = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read score distribution: %w", err)
	}

	args = []any{}
	seenIn := in(&args, orgs)
	args = append(args, now.Add(-a.s.Score.PopulationWindow).Unix())
	latestIn := in(&args, orgs)
	query = fmt.Sprintf(`SELECT tenant, uniqExact(user_id)
FROM
(
    SELECT tenant, user_id
    FROM %s
    WHERE tenant IN %s
    GROUP BY tenant, user_id
    HAVING max(last_seen) > toDateTime(?)
    UNION ALL
    SELECT tenant, user_id
    FROM
    (
        SELECT tenant, user_id, %s AS s
        FROM %s FINAL
        WHERE tenant IN %s
    )
    WHERE s > 0
)
GROUP BY tenant`, a.table("org_users"), seenIn, a.scoreNowSQL(now), a.table("attack_factor_latest"), latestIn)
	rows2, err := a.s.Conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query population: %w", err)
	}
	defer rows2.Close()
	for rows2.Next() {
		var (
			t string
			n uint64
		)
		if err := rows2.Scan(&t, &n); err != nil {
			return nil, fmt.Errorf("scan population: %w", err)
		}
		pop[t] = n
	}
	if err := rows2.Err(); err != nil {
		return nil, fmt.Errorf("read population: %w", err)
	}
	out := make(map[string]score.Ranking, len(orgs))
	for _, o := range orgs {
		out[o] = score.NewRanking(pop[o], positive[o])
	}
	return out, nil
}
