package app

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// TenantSummary is what one org's kept events say, for the demo's closing
// summary.
type TenantSummary struct {
	Kept       uint64
	Categories []CategoryCount
	TopUsers   []UserSignals
}

// CategoryCount is the number of kept events of one category.
type CategoryCount struct {
	Name  string
	Count uint64
}

// UserSignals is one user's attack factor (attack_factor_latest).
type UserSignals struct {
	Login       string
	Score       float64
	Percentile  float64
	Level       string
	Signals     uint32
	Explanation string
	Updated     time.Time
}

// Summary reads, per tenant, the kept events by category and the n users
// with the highest attack factor.
func Summary(ctx context.Context, conn driver.Conn, db string, n int) (map[string]*TenantSummary, error) {
	out := map[string]*TenantSummary{}
	get := func(t string) *TenantSummary {
		if out[t] == nil {
			out[t] = &TenantSummary{}
		}
		return out[t]
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(
		"SELECT tenant, category, count() AS n FROM %s.risk_events FINAL GROUP BY tenant, category ORDER BY tenant, n DESC, category", db))
	if err != nil {
		return nil, fmt.Errorf("summary by category: %w", err)
	}
	for rows.Next() {
		var t, c string
		var cnt uint64
		if err := rows.Scan(&t, &c, &cnt); err != nil {
			rows.Close()
			return nil, err
		}
		s := get(t)
		s.Kept += cnt
		s.Categories = append(s.Categories, CategoryCount{c, cnt})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	rows, err = conn.Query(ctx, fmt.Sprintf(`SELECT tenant, user_login, score, percentile, level, signals, explanation, updated_at
FROM %s.attack_factor_latest FINAL WHERE score > 0
ORDER BY tenant, score DESC, user_id LIMIT ? BY tenant`, db), n)
	if err != nil {
		return nil, fmt.Errorf("summary top users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var u UserSignals
		if err := rows.Scan(&t, &u.Login, &u.Score, &u.Percentile, &u.Level, &u.Signals, &u.Explanation, &u.Updated); err != nil {
			return nil, err
		}
		get(t).TopUsers = append(get(t).TopUsers, u)
	}
	return out, rows.Err()
}
