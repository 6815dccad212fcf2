package api

import (
	"context"
	"fmt"
	"time"
)

// FactorUpdate is one row of attack_factor_updates: a user's attack factor
// as it changed at UpdatedAt, and why.
type FactorUpdate struct {
	Tenant    string    `json:"tenant"`
	UserID    string    `json:"user_id"`
	UserLogin string    `json:"user_login"`
	UpdatedAt time.Time `json:"updated_at"`
	// Score is 0-100: how much the user is attacked.
	Score float64 `json:"score"`
	// Percentile is 0-100: the share of the org's users with a lower score.
	Percentile float64 `json:"percentile"`
	Level      string  `json:"level"` // low | medium | high | critical
	// Signals counts the user's weighted signals of the last 30 days.
	Signals uint32 `json:"signals"`
	// CauseEventID is the kept event that moved the factor most (empty
	// for a periodic refresh); CauseCategory its category, or "refresh".
	CauseEventID  string `json:"cause_event_id"`
	CauseCategory string `json:"cause_category"`
	Explanation   string `json:"explanation"`
}

const factorColumns = `tenant, user_id, user_login, updated_at, score, percentile, level, signals,
    cause_event_id, cause_category, explanation`

func (a *API) queryFactors(ctx context.Context, query string, args ...any) ([]FactorUpdate, error) {
	rows, err := a.s.Conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query attack factors: %w", err)
	}
	defer rows.Close()
	out := []FactorUpdate{}
	for rows.Next() {
		var f FactorUpdate
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
