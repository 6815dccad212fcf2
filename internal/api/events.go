package api

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Event is one kept System Log event (a row of risk_events).
type Event struct {
	Tenant  string `json:"tenant"`
	EventID string `json:"event_id"`
	// Published is Okta's `published`, to the millisecond.
	Published         time.Time `json:"published"`
	EventType         string    `json:"event_type"`
	Category          string    `json:"category"`
	Severity          string    `json:"severity"`
	DisplayMessage    string    `json:"display_message"`
	RiskLevel         string    `json:"risk_level"`
	RiskReasons       string    `json:"risk_reasons"`
	RiskDetection     string    `json:"risk_detection"`
	PreviousRiskLevel string    `json:"previous_risk_level"`
	UserID            string    `json:"user_id"`
	UserLogin         string    `json:"user_login"`
	ActorLogin        string    `json:"actor_login"`
	ClientIP          string    `json:"client_ip"`
	Country           string    `json:"country"`
	Outcome           string    `json:"outcome"`
	OutcomeReason     string    `json:"outcome_reason"`
	ThreatSuspected   bool      `json:"threat_suspected"`
	// ThreatDetections maps ThreatInsight detection names to their level.
	ThreatDetections map[string]string `json:"threat_detections"`
	TransactionID    string            `json:"transaction_id"`
	IngestedAt       time.Time         `json:"ingested_at"`
	// Raw is the event's JSON exactly as Okta sent it (only when asked for).
	Raw json.RawMessage `json:"raw,omitempty"`
}

// EventPage is the answer of GET /api/v1/orgs/{org}/events.
type EventPage struct {
	Events []Event `json:"events"`
	// Next resumes after the last event (pass it as ?after=); empty when
	// this page holds the last events of the range.
	Next string `json:"next"`
}

const eventColumns = `tenant, event_id, published, published_ms, event_type, category, severity,
    display_message, risk_level, risk_reasons, risk_detection, previous_risk_level, user_id, user_login,
    actor_login, client_ip, country, outcome, outcome_reason, threat_suspected,
    threat_detection_names, threat_detection_levels, transaction_id, ingested_at`

type eventCursor struct {
	PublishedMS uint64 `json:"p"`
	EventID     string `json:"e"`
}

// listEvents pages through an org's kept events in [from, to), oldest
// first, in (published_ms, event_id) order.
func (a *API) listEvents(r *http.Request) (any, error) {
	org, err := pathOrg(r)
	if err != nil {
		return nil, err
	}
	q, err := parseEventQuery(r, a.s.Now())
	if err != nil {
		return nil, err
	}
	where := []string{"published >= toDateTime(?)", "published < toDateTime(?)",
		"(published_ms > ? OR (published_ms = ? AND event_id > ?))"}
	args := []any{q.from.Unix(), q.to.Unix(), q.after.PublishedMS, q.after.PublishedMS, q.after.EventID}
	if len(q.categories) > 0 {
		where = append(where, "category IN "+in(&args, q.categories))
	}
	if q.userID != "" {
		where = append(where, "user_id = ?")
		args = append(args, q.userID)
	}
	events, err := a.boundedEvents(r.Context(), org, strings.Join(where, " AND "), args, false, q.limit+1, q.raw)
	if err != nil {
		return nil, err
	}
	page := EventPage{Events: events}
	if len(events) > q.limit {
		page.Events = events[:q.limit]
		last := page.Events[q.limit-1]
		page.Next = encodeCursor(eventCursor{PublishedMS: uint64(last.Published.UnixMilli()), EventID: last.EventID})
	}
	return page, nil
}

type eventQuery struct {
	from, to   time.Time
	categories []string
	userID     string
	raw        bool
	limit      int
	after      eventCursor
}

func parseEventQuery(r *http.Request, now time.Time) (eventQuery, error) {
	var q eventQuery
	var err error
	if q.to, err = timeParam(r, "to", now); err != nil {
		return q, err
	}
	if q.from, err = timeParam(r, "from", notBeforeMinTime(q.to.Add(-24*time.Hour))); err != nil {
		return q, err
	}
	if !q.from.Before(q.to) {
		return q, badRequest("from must be before to")
	}
	if q.limit, err = intParam(r, "limit", 100, 1, 1000); err != nil {
		return q, err
	}
	if q.categories, err = enumListParam(r, "category", categories); err != nil {
		return q, err
	}
	vals := r.URL.Query()
	q.userID = vals.Get("user_id")
	q.raw = vals.Get("raw") == "true" || vals.Get("raw") == "1"
	err = decodeCursor(vals.Get("after"), "after", &q.after)
	return q, err
}

// getEvent returns one event with its raw JSON.
func (a *API) getEvent(r *http.Request) (any, error) {
	org, err := pathOrg(r)
	if err != nil {
		return nil, err
	}
	// PREWHERE on the sorting key before FINAL is the same as WHERE after
	// it, and skips reading the other columns (raw above all) of the
	// granules that do not hold the event.
	query := fmt.Sprintf("SELECT %s, raw FROM %s FINAL PREWHERE tenant = ? AND event_id = ? LIMIT 1",
		eventColumns, a.table("risk_events"))
	events, err := a.queryEvents(r.Context(), query, true, org, r.PathValue("event_id"))
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, &httpError{status: http.StatusNotFound, msg: "no such event in this org"}
	}
	return events[0], nil
}

// queryEvents runs a query selecting eventColumns (and raw when withRaw).
func (a *API) queryEvents(ctx context.Context, query string, withRaw bool, args ...any) ([]Event, error) {
	out, _, err := a.queryEventsMS(ctx, query, withRaw, args...)
	return out, err
}

// queryEventsMS is queryEvents that also returns each event's published_ms
// column as stored.
func (a *API) queryEventsMS(ctx context.Context, query string, withRaw bool, args ...any) ([]Event, []uint64, error) {
	rows, err := a.s.Conn.Query(ctx, query, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	var msOut []uint64
	for rows.Next() {
		var (
			e             Event
			ms            uint64
			threat        uint8
			names, levels []string
			raw           string
		)
		dst := []any{&e.Tenant, &e.EventID, &e.Published, &ms, &e.EventType, &e.Category, &e.Severity,
			&e.DisplayMessage, &e.RiskLevel, &e.RiskReasons, &e.RiskDetection, &e.PreviousRiskLevel, &e.UserID, &e.UserLogin,
			&e.ActorLogin, &e.ClientIP, &e.Country, &e.Outcome, &e.OutcomeReason, &threat,
			&names, &levels, &e.TransactionID, &e.IngestedAt}
		if withRaw {
			dst = append(dst, &raw)
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, nil, fmt.Errorf("scan event: %w", err)
		}
		if ms > 0 {
			e.Published = time.UnixMilli(int64(ms))
		}
		e.Published, e.IngestedAt = e.Published.UTC(), e.IngestedAt.UTC()
		e.ThreatSuspected = threat == 1
		e.ThreatDetections = map[string]string{}
		for i, n := range names {
			if i < len(levels) {
				e.ThreatDetections[n] = levels[i]
			}
		}
		if withRaw {
			e.Raw = rawJSON(raw)
		}
		out = append(out, e)
		msOut = append(msOut, ms)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read events: %w", err)
	}
	return out, msOut, nil
}

// rawJSON is raw as JSON: itself when valid, else a JSON string of it.
func rawJSON(raw string) json.RawMessage {
	if json.Valid([]byte(raw)) {
		return json.RawMessage(raw)
	}
	b, _ := json.Marshal(raw)
	return b
}

// boundedEvents returns the first limit rows of risk_events FINAL in
// tenant that satisfy where (conditions on a row's columns of eventColumns,
// with their args), in (published_ms, event_id) order, descending when
// desc; that is what
//
//	SELECT eventColumns FROM risk_events FINAL WHERE tenant = ? AND <where>
//	ORDER BY published_ms, event_id LIMIT <limit>
//
// returns, without merging the tenant's whole key range: FINAL reads every
// selected column of every row in the range before WHERE filters, as
// published and user_id are not in the sorting key. It first picks
// candidates without FINAL, from the sorted rows satisfying where (two
// narrow columns, a top-n sort of 2*limit rows: bounded memory): the first
// limit distinct event ids, each at its first row, i.e. keyed by its first
// (last when desc) published_ms among its versions satisfying where. Then
// it reads only those ids with FINAL, selected by PREWHERE on the sorting
// key (tenant, event_id): PREWHERE runs before FINAL, which is the same as
// after it for conditions on key columns only (every version of a row has
// the same key), and it skips the granules that hold no candidate.
//
// That is exact unless a candidate's newest version no longer satisfies
// where or sorts elsewhere than its key (an event rewritten with another
// user, category or published time), or unless more than limit of the
// rows are versions of events already seen: when the candidates were cut
// and the FINAL rows do not fill the limit up to the cut, an event beyond
// it could belong in the answer, and the query above runs as it is.
func (a *API) boundedEvents(ctx context.Context, tenant, where string, args []any, desc bool, limit int, raw bool) ([]Event, error) {
	dir := ""
	if desc {
		dir = " DESC"
	}
	cols := eventColumns
	if raw {
		cols += ", raw"
	}
	order := fmt.Sprintf("ORDER BY published_ms%s, event_id%s LIMIT %d", dir, dir, limit)
	maxRows := 2 * limit
	cq := fmt.Sprintf("SELECT event_id, published_ms FROM %s WHERE tenant = ? AND %s ORDER BY published_ms%s, event_id%s LIMIT %d",
		a.table("risk_events"), where, dir, dir, maxRows)
	rows, err := a.s.Conn.Query(ctx, cq, append([]any{tenant}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("query event candidates: %w", err)
	}
	var (
		ids      []string
		seen     = map[string]bool{}
		n        int    // rows read
		cutMS    uint64 // the key after which no candidate starts
		cutID    string
		complete = true // every row satisfying where was read
	)
	for rows.Next() {
		var (
			id string
			ms uint64
		)
		if err := rows.Scan(&id, &ms); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan event candidates: %w", err)
		}
		n++
		if len(ids) == limit {
			complete = false // rows beyond the limit-th distinct id
			continue
		}
		cutMS, cutID = ms, id
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read event candidates: %w", err)
	}
	if n == maxRows {
		complete = false
	}
	if len(ids) == 0 && complete {
		return []Event{}, nil // no version of any event satisfies where
	}
	if len(ids) > 0 {
		pargs := []any{tenant}
		q := fmt.Sprintf("SELECT %s FROM %s FINAL PREWHERE tenant = ? AND event_id IN %s WHERE %s %s",
			cols, a.table("risk_events"), in(&pargs, ids), where, order)
		events, ms, err := a.queryEventsMS(ctx, q, raw, append(pargs, args...)...)
		if err != nil {
			return nil, err
		}
		if complete {
			return events, nil // every event with a version in where was a candidate
		}
		if k := len(events); k == limit {
			// Every other event's versions in where sort after the cut:
			// the answer is exact if its last row does not.
			c := cmp.Compare(ms[k-1], cutMS)
			if c == 0 {
				c = strings.Compare(events[k-1].EventID, cutID)
			}
			if (!desc && c <= 0) || (desc && c >= 0) {
				return events, nil
			}
		}
	}
	a.fullReads.Add(1)
	q := fmt.Sprintf("SELECT %s FROM %s FINAL WHERE tenant = ? AND %s %s", cols, a.table("risk_events"), where, order)
	return a.queryEvents(ctx, q, raw, append([]any{tenant}, args...)...)
}
