package api

import (
	"net/http"
	"time"

	"github.com/riskpipe/riskpipe/internal/store"
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
	latest, ok, err := a.r.LatestFactor(ctx, org, id, now, a.s.Score.HalfLife)
	if err != nil {
		return nil, err
	}
	if ok {
		cur := FactorUpdate(latest)
		ranks, err := a.rankings(ctx, []string{org}, now)
		if err != nil {
			return nil, err
		}
		cur.Percentile, cur.Level = a.s.Score.Rank(ranks[org], cur.Score)
		d.Current = &cur
		d.UserLogin = d.Current.UserLogin
	}
	history, err := a.r.FactorHistory(ctx, org, id, historyLimit)
	if err != nil {
		return nil, err
	}
	d.History = make([]FactorUpdate, len(history))
	for i, f := range history {
		d.History[len(history)-1-i] = FactorUpdate(f) // oldest first
	}
	if nEvents > 0 {
		d.Events, err = a.events(ctx, org, store.EventFilter{UserID: id, Desc: true, Limit: nEvents})
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
