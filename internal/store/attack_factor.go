package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riskpipe/riskpipe/internal/score"
)

// The read queries over the attack-factor tables (schema/002):
// attack_factor_updates and attack_factor_latest. The writer's side is
// score_tables.go (factorColumns, factorRows); LoadScoreState reads them
// back for the score engine.

// Factor is one row of attack_factor_updates or attack_factor_latest: a
// user's attack factor as it changed at UpdatedAt, and why.
type Factor struct {
	Tenant        string
	UserID        string
	UserLogin     string
	UpdatedAt     time.Time // UTC
	Score         float64
	Percentile    float64
	Level         string
	Signals       uint32
	CauseEventID  string
	CauseCategory string
	Explanation   string
}

const factorSelect = `tenant, user_id, user_login, updated_at, score, percentile, level, signals,
    cause_event_id, cause_category, explanation`

// ScoreAtSQL is score.Config.ScoreAt in SQL, over attack_factor_latest's
// score and updated_at, at now with halfLife: 1 − s_now/100 =
// (1 − s/100)^(2^(−Δ/half_life)). ClickHouse computes it once, for the
// order and for the values shown.
func ScoreAtSQL(now time.Time, halfLife time.Duration) string {
	return fmt.Sprintf("round(100 * (1 - pow(1 - least(score, 100) / 100, pow(2, -greatest(0, %d - toInt64(updated_at)) / %d))), 2)",
		now.Unix(), int64(halfLife.Seconds()))
}

func (r *Reader) queryFactors(ctx context.Context, query string, args ...any) ([]Factor, error) {
	rows, err := r.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query attack factors: %w", err)
	}
	defer rows.Close()
	out := []Factor{}
	for rows.Next() {
		var f Factor
		if err := rows.Scan(&f.Tenant, &f.UserID, &f.UserLogin, &f.UpdatedAt, &f.Score, &f.Percentile, &f.Level,
			&f.Signals, &f.CauseEventID, &f.CauseCategory, &f.Explanation); err != nil {
			return nil, fmt.Errorf("scan attack factor: %w", err)
		}
		f.UpdatedAt = f.UpdatedAt.UTC()
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read attack factors: %w", err)
	}
	return out, nil
}

// LatestFactor returns a user's row of attack_factor_latest with its score
// brought to now (ScoreAtSQL); false when the user has none. Percentile
// and Level are as stored.
func (r *Reader) LatestFactor(ctx context.Context, tenant, userID string, now time.Time, halfLife time.Duration) (Factor, bool, error) {
	latest, err := r.queryFactors(ctx, fmt.Sprintf(`SELECT tenant, user_id, user_login, updated_at, %s AS score_now,
    percentile, level, signals, cause_event_id, cause_category, explanation
FROM %s FINAL WHERE tenant = ? AND user_id = ? LIMIT 1`, ScoreAtSQL(now, halfLife), r.table("attack_factor_latest")), tenant, userID)
	if err != nil || len(latest) == 0 {
		return Factor{}, false, err
	}
	return latest[0], true, nil
}

// FactorHistory returns a user's newest limit factor updates, newest
// first. Replayed rows are identical: one per (updated_at, cause_event_id).
func (r *Reader) FactorHistory(ctx context.Context, tenant, userID string, limit int) ([]Factor, error) {
	return r.queryFactors(ctx, fmt.Sprintf(`SELECT %s FROM %s
WHERE tenant = ? AND user_id = ?
ORDER BY updated_at DESC, cause_event_id DESC
LIMIT 1 BY updated_at, cause_event_id
LIMIT %d`, factorSelect, r.table("attack_factor_updates"), limit), tenant, userID)
}

// FeedKey is a position in the change feed's order: (version, tenant,
// user_id, cause_event_id). version is the writer's flush version.
type FeedKey struct {
	Version uint64
	Tenant  string
	UserID  string
	EventID string
}

// FeedUpdate is a row of the change feed and its position.
type FeedUpdate struct {
	Factor
	Key FeedKey
}

// FactorFeed returns up to limit rows of attack_factor_updates of orgs
// (not empty) after the key, in the feed's order.
func (r *Reader) FactorFeed(ctx context.Context, orgs []string, after FeedKey, limit int) ([]FeedUpdate, error) {
	args := []any{}
	query := fmt.Sprintf(`SELECT %s, version
FROM %s
WHERE tenant IN %s
  AND (version > ? OR (version = ? AND (tenant > ? OR (tenant = ? AND
      (user_id > ? OR (user_id = ? AND cause_event_id > ?))))))
ORDER BY version, tenant, user_id, cause_event_id
LIMIT %d`, factorSelect, r.table("attack_factor_updates"), in(&args, orgs), limit)
	args = append(args, after.Version, after.Version, after.Tenant, after.Tenant, after.UserID, after.UserID, after.EventID)
	rows, err := r.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query factor updates: %w", err)
	}
	defer rows.Close()
	var out []FeedUpdate
	for rows.Next() {
		var u FeedUpdate
		f := &u.Factor
		if err := rows.Scan(&f.Tenant, &f.UserID, &f.UserLogin, &f.UpdatedAt, &f.Score, &f.Percentile, &f.Level,
			&f.Signals, &f.CauseEventID, &f.CauseCategory, &f.Explanation, &u.Key.Version); err != nil {
			return nil, fmt.Errorf("scan factor update: %w", err)
		}
		f.UpdatedAt = f.UpdatedAt.UTC()
		u.Key.Tenant, u.Key.UserID, u.Key.EventID = f.Tenant, f.UserID, f.CauseEventID
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read factor updates: %w", err)
	}
	return out, nil
}

// TopFactors returns, per org of orgs, the n users with the highest
// score above 0 brought to now (ScoreAtSQL), by tenant, then that score
// descending, then user id. Percentile and Level are as stored.
func (r *Reader) TopFactors(ctx context.Context, orgs []string, n int, now time.Time, halfLife time.Duration) ([]Factor, error) {
	if len(orgs) == 0 || n <= 0 {
		return []Factor{}, nil
	}
	args := []any{}
	query := fmt.Sprintf(`SELECT tenant, user_id, user_login, updated_at, %s AS score_now,
    percentile, level, signals, cause_event_id, cause_category, explanation
FROM %s FINAL
WHERE tenant IN %s AND score_now > 0
ORDER BY tenant, score_now DESC, user_id
LIMIT %d BY tenant`, ScoreAtSQL(now, halfLife), r.table("attack_factor_latest"), in(&args, orgs), n)
	return r.queryFactors(ctx, query, args...)
}

// TopUsers returns, per org of orgs, the n users with the highest attack
// factor above 0 now, as every reader shows them (GET /api/v1/users, the
// demo's summary): scores brought to now with sc, percentiles and levels
// ranked in the org now (sc.Rank), ties by user id. UpdatedAt stays when
// the factor last changed. A zero field of sc takes its default.
func (r *Reader) TopUsers(ctx context.Context, orgs []string, n int, now time.Time, sc score.Config) (map[string][]Factor, error) {
	out := make(map[string][]Factor, len(orgs))
	if len(orgs) == 0 || n <= 0 {
		return out, nil
	}
	sc = sc.WithDefaults()
	ranks, err := r.Rankings(ctx, orgs, now, sc.HalfLife, sc.PopulationWindow)
	if err != nil {
		return nil, err
	}
	factors, err := r.TopFactors(ctx, orgs, n, now, sc.HalfLife)
	if err != nil {
		return nil, err
	}
	for _, f := range factors {
		f.Percentile, f.Level = sc.Rank(ranks[f.Tenant], f.Score)
		out[f.Tenant] = append(out[f.Tenant], f)
	}
	return out, nil
}

// TopLogin returns the login of the user with the highest stored score,
// of any tenant, whose login is LIKE pattern (ties by tenant, then user id).
func (r *Reader) TopLogin(ctx context.Context, pattern string) (string, error) {
	var login string
	err := r.conn.QueryRow(ctx, fmt.Sprintf("SELECT user_login FROM %s FINAL WHERE user_login LIKE ? ORDER BY score DESC, tenant, user_id LIMIT 1",
		r.table("attack_factor_latest")), pattern).Scan(&login)
	return login, err
}
