package app

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/riskpipe/riskpipe/internal/score"
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

// UserSignals is one user's attack factor now (attack_factor_latest
// brought to the time of reading).
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
// with the highest attack factor now (sc: the score model that brings
// stored factors to the time of reading).
func Summary(ctx context.Context, conn driver.Conn, db string, sc score.Config, n int) (map[string]*TenantSummary, error) {
	out := map[string]*TenantSummary{}
	get := func(t string) *TenantSummary {
		if out[t] == nil {
			out[t] = &TenantSummary{}
		}
		return out[t]
	}
	reader := store.NewReader(conn, db)
	cats, err := reader.KeptByCategory(ctx)
	if err != nil {
		return nil, fmt.Errorf("summary by category: %w", err)
	}
	for _, c := range cats {
		s := get(c.Tenant)
		s.Kept += c.Events
		s.Categories = append(s.Categories, CategoryCount{c.Category, c.Events})
	}

	// The most attacked users as the API shows them: scores decayed to
	// now, percentiles and levels ranked now (store.Reader.TopUsers), not
	// the stored values of each user's last update.
	tenants := slices.Sorted(maps.Keys(out))
	top, err := reader.TopUsers(ctx, tenants, n, time.Now(), sc)
	if err != nil {
		return nil, fmt.Errorf("summary top users: %w", err)
	}
	for _, t := range tenants {
		for _, f := range top[t] {
			out[t].TopUsers = append(out[t].TopUsers, UserSignals{Login: f.UserLogin, Score: f.Score, Percentile: f.Percentile,
				Level: f.Level, Signals: f.Signals, Explanation: f.Explanation, Updated: f.UpdatedAt})
		}
	}
	return out, nil
}
