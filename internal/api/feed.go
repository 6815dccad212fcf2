package api

import (
	"net/http"
	"time"

	"github.com/riskpipe/riskpipe/internal/store"
)

// FactorFeed is the answer of GET /api/v1/factor-updates.
type FactorFeed struct {
	Updates []FactorUpdate `json:"updates"`
	// Next is the cursor to resume from (pass it as ?after=): after the
	// last update returned, or the request's own position when there was
	// nothing new. Never empty.
	Next string `json:"next"`
	// More: another page is ready now; otherwise poll again later.
	More bool `json:"more"`
}

// feedCursor is a position in the feed's order: (version, tenant, user_id,
// cause_event_id). version is the store writer's flush version: it grows
// with every flush, and a flush's rows become visible together, before the
// next flush starts. So a row that becomes visible later sorts after every
// row visible now, whatever its updated_at: resuming after the last row
// read skips nothing, also when rows of the same updated_at second arrive
// in later flushes.
type feedCursor struct {
	Version uint64 `json:"v"`
	Tenant  string `json:"o"`
	UserID  string `json:"u"`
	EventID string `json:"e"`
}

// factorFeed returns the attack-factor updates after a cursor, over the
// orgs the token may read (or the subset named).
func (a *API) factorFeed(r *http.Request) (any, error) {
	orgs, err := queryOrgs(r)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit", 500, 1, 5000)
	if err != nil {
		return nil, err
	}
	var cur feedCursor
	after := r.URL.Query().Get("after")
	if err := decodeCursor(after, "after", &cur); err != nil {
		return nil, err
	}
	if after == "" {
		since, err := timeParam(r, "since", time.Unix(0, 0))
		if err != nil {
			return nil, err
		}
		// Versions are the flush's Unix time in nanoseconds: start before
		// the first row written at since (every tenant name is > "").
		if ns := since.UnixNano(); ns > 0 {
			cur.Version = uint64(ns) - 1
			cur.Tenant = "\U0010FFFF"
		}
	}
	out := FactorFeed{Updates: []FactorUpdate{}, Next: encodeCursor(cur)}
	if len(orgs) == 0 {
		return out, nil
	}
	rows, err := a.r.FactorFeed(r.Context(), orgs, store.FeedKey(cur), limit+1)
	if err != nil {
		return nil, err
	}
	var last feedCursor
	for _, u := range rows {
		if len(out.Updates) == limit {
			out.More = true
			break
		}
		out.Updates = append(out.Updates, FactorUpdate(u.Factor))
		last = feedCursor(u.Key)
	}
	if len(out.Updates) > 0 {
		out.Next = encodeCursor(last)
	}
	return out, nil
}
