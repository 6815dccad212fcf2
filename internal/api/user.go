package api

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

// UserDetail is the answer of GET /api/v1/orgs/{org}/users/{user_id}.
type UserDetail struct {
	Tenant    string `json:"tenant"`
	UserID    string `json:"user_id"`
	UserLogin string `json:"user_login"`
	// Current is the user's latest attack factor, with its explanation;
	// null while the user has none.
	Current *FactorUpdate `json:"current"`
	// History is the factor's updates, oldest first (the newest 500).
	History []FactorUpdate `json:"history"`
	// Signals counts the user's kept events of the last 30 days per category.
	Signals map[string]uint64 `json:"signals"`
	// Events are the user's kept events, newest first (?events=, default
	// 100), without their raw JSON (GET .../events/{event_id} has it).
	Events []Event `json:"events"`
}

const historyLimit = 500

func (a *API) getUser(r *http.Request) (any, error) {
	org, err := pathOrg(r)
	if err != nil {
		return nil, err
	}
	nEvents, err := intParam(r, "events", 100, 0, 1000)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("user_id")
	ctx := r.Context()
	d := UserDetail{Tenant: org, UserID: id, Signals: map[string]uint64{}, Events: []Event{}}

	// The current factor as of now, ranked in the org now (readtime.go);
	// updated_at stays when the factor last changed.
	now := a.s.Now()
	latest, err := a.queryFactors(ctx, fmt.Sprintf(`SELECT tenant, user_id, user_login, updated_at, %s AS score_now,
    percentile, level, signals, cause_event_id, cause_category, explanation
FROM %s FINAL WHERE tenant = ? AND user_id = ? LIMIT 1`, a.scoreNowSQL(now), a.table("attack_factor_latest")), org, id)
	if err != nil {
		return nil, err
	}
	if len(latest) > 0 {
		cur := &latest[0]
		ranks, err := a.rankings(ctx, []string{org}, now)
		if err != nil {
			return nil, err
		}
		cur.Percentile = ranks[org].Percentile(cur.Score)
		cur.Level = a.s.Score.Bands.Level(cur.Score)
		d.Current = cur
		d.UserLogin = d.Current.UserLogin
	}
	// Replayed rows are identical: one per (updated_at, cause_event_id).
	d.History, err = a.queryFactors(ctx, fmt.Sprintf(`SELECT %s FROM %s
WHERE tenant = ? AND user_id = ?
ORDER BY updated_at DESC, cause_event_id DESC
LIMIT 1 BY updated_at, cause_event_id
LIMIT %d`, factorColumns, a.table("attack_factor_updates"), historyLimit), org, id)
	if err != nil {
		return nil, err
	}
	slices.Reverse(d.History)
	if nEvents > 0 {
		d.Events, err = a.boundedEvents(ctx, org, "user_id = ?", []any{id}, true, nEvents, false)
		if err != nil {
			return nil, err
		}
	}
	one := []UserSummary{{Tenant: org, UserID: id, Signals: d.Signals}}
	if err := a.addSignals(ctx, one, now.Add(-signalWindow), now.Add(time.Second), false); err != nil {
		return nil, err
	}
	if d.Current == nil && len(d.History) == 0 && len(d.Events) == 0 {
		return nil, &httpError{status: http.StatusNotFound, msg: "no such user in this org"}
	}
	if d.UserLogin == "" && len(d.Events) > 0 {
		d.UserLogin = d.Events[0].UserLogin
	}
	return d, nil
}
