package api

import (
	"context"
	"fmt"
	"time"

	"github.com/riskpipe/riskpipe/internal/score"
)

// Factors as of the time of reading (score/readtime.go): the users list
// and a user's current factor show each stored score brought to the time
// of the request, and percentiles and levels computed from those scores
// over the org's population now, so that within one answer equal scores
// share a percentile and a lower score never has a higher one.

// scoreNowSQL is score.Config.ScoreAt in SQL, over attack_factor_latest's
// score and updated_at, at now: 1 − s_now/100 = (1 − s/100)^(2^(−Δ/half_life)).
// ClickHouse computes it once, for the order and for the values shown.
func (a *API) scoreNowSQL(now time.Time) string {
	return fmt.Sprintf("round(100 * (1 - pow(1 - least(score, 100) / 100, pow(2, -greatest(0, %d - toInt64(updated_at)) / %d))), 2)",
		now.Unix(), int64(a.s.Score.HalfLife.Seconds()))
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
	args := []any{}
	query := fmt.Sprintf(`SELECT tenant, user_id, user_login, updated_at, %s AS score_now,
    percentile, level, signals, cause_event_id, cause_category, explanation
FROM %s FINAL
WHERE tenant IN %s AND score_now > 0
ORDER BY tenant, score_now DESC, user_id
LIMIT %d BY tenant`, a.scoreNowSQL(now), a.table("attack_factor_latest"), in(&args, orgs), n)
	factors, err := a.queryFactors(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	for _, f := range factors {
		f.Percentile = ranks[f.Tenant].Percentile(f.Score)
		f.Level = a.s.Score.Bands.Level(f.Score)
		out[f.Tenant] = append(out[f.Tenant], f)
	}
	return out, nil
}
