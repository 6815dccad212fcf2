package api

import "time"

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
