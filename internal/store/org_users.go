package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riskpipe/riskpipe/internal/score"
)

// The read queries over org_users (schema/002): each org's population.
// The writer's side is score_tables.go (orgUserColumns, orgUserRows);
// LoadScoreState reads it back for the score engine.

// Rankings ranks each org's population at now: the users seen within
// window (org_users) or with a score above 0 now (attack_factor_latest,
// brought to now with halfLife), and the distribution of those scores (one
// row per distinct score: at most 10,001 per org). orgs must not be empty.
func (r *Reader) Rankings(ctx context.Context, orgs []string, now time.Time, halfLife, window time.Duration) (map[string]score.Ranking, error) {
	positive := map[string]map[float64]uint64{}
	pop := map[string]uint64{}
	for _, o := range orgs {
		positive[o] = map[float64]uint64{}
	}
	scoreNow := ScoreAtSQL(now, halfLife)
	args := []any{}
	query := fmt.Sprintf(`SELECT tenant, s, count()
FROM
(
    SELECT tenant, %s AS s
    FROM %s FINAL
    WHERE tenant IN %s
)
WHERE s > 0
GROUP BY tenant, s`, scoreNow, r.table("attack_factor_latest"), in(&args, orgs))
	rows, err := r.conn.Query(ctx, query, args...)
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
	args = append(args, now.Add(-window).Unix())
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
GROUP BY tenant`, r.table("org_users"), seenIn, scoreNow, r.table("attack_factor_latest"), latestIn)
	rows2, err := r.conn.Query(ctx, query, args...)
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
