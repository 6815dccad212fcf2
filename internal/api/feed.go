package api

import (
	"fmt"
	"net/http"
	"time"
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
	args := []any{}
	query := fmt.Sprintf(`SELECT %s, version
FROM %s
WHERE tenant IN %s
  AND (version > ? OR (version = ? AND (tenant > ? OR (tenant = ? AND
      (user_id > ? OR (user_id = ? AND cause_event_id > ?))))))
ORDER BY version, tenant, user_id, cause_event_id
LIMIT %d`, factorColumns, a.table("attack_factor_updates"), in(&args, orgs), limit+1)
	args = append(args, cur.Version, cur.Version, cur.Tenant, cur.Tenant, cur.UserID, cur.UserID, cur.EventID)
	rows, err := a.s.Conn.Query(r.Context(), query, args...)
	if err != nil {
		return nil, fmt.Errorf("query factor updates: %w", err)
	}
	defer rows.Close()
	var last feedCursor
	for rows.Next() {
		var (
			f       FactorUpdate
			version uint64
		)
		if err := rows.Scan(&f.Tenant, &f.UserID, &f.UserLogin, &f.UpdatedAt, &f.Score, &f.Percentile, &f.Level,
			&f.Signals, &f.CauseEventID, &f.CauseCategory, &f.Explanation, &version); err != nil {
			return nil, fmt.Errorf("scan factor update: %w", err)
		}
		if len(out.Updates) == limit {
			out.More = true
			break
		}
		f.UpdatedAt = f.UpdatedAt.UTC()
		out.Updates = append(out.Updates, f)
		last = feedCursor{Version: version, Tenant: f.Tenant, UserID: f.UserID, EventID: f.CauseEventID}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read factor updates: %w", err)
	}
	if len(out.Updates) > 0 {
		out.Next = encodeCursor(last)
	}
	return out, nil
}
