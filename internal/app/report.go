package app

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/riskpipe/riskpipe/internal/store"
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
	rd := store.NewReader(conn, db)
	cats, err := rd.KeptByCategory(ctx)
	if err != nil {
		return nil, fmt.Errorf("summary by category: %w", err)
	}
	for _, c := range cats {
		s := get(c.Tenant)
		s.Kept += c.Events
		s.Categories = append(s.Categories, CategoryCount{c.Category, c.Events})
	}
	top, err := rd.TopFactors(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("summary top users: %w", err)
	}
	for _, f := range top {
		get(f.Tenant).TopUsers = append(get(f.Tenant).TopUsers, UserSignals{
			Login: f.UserLogin, Score: f.Score, Percentile: f.Percentile, Level: f.Level,
			Signals: f.Signals, Explanation: f.Explanation, Updated: f.UpdatedAt,
		})
	}
	return out, nil
}
