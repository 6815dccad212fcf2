package api

import (
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
	where := []string{"tenant = ?", "published >= toDateTime(?)", "published < toDateTime(?)",
		"(published_ms > ? OR (published_ms = ? AND event_id > ?))"}
	args := []any{org, q.from.Unix(), q.to.Unix(), q.after.PublishedMS, q.after.PublishedMS, q.after.EventID}
	if len(q.categories) > 0 {
		where = append(where, "category IN "+in(&args, q.categories))
	}
	if q.userID != "" {
		where = append(where, "user_id = ?")
		args = append(args, q.userID)
	}
	cols := eventColumns
	if q.raw {
		cols += ", raw"
	}
	query := fmt.Sprintf("SELECT %s FROM %s FINAL WHERE %s ORDER BY published_ms, event_id LIMIT %d",
		cols, a.table("risk_events"), strings.Join(where, " AND "), q.limit+1)
	events, err := a.queryEvents(r.Context(), query, q.raw, args...)
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
	if q.from, err = timeParam(r, "from", q.to.Add(-24*time.Hour)); err != nil {
		return q, err
	}
	if !q.from.Before(q.to) {
		return q, badRequest("from must be before to")
	}
	if q.limit, err = intParam(r, "limit", 100, 1, 1000); err != nil {
		return q, err
	}
	vals := r.URL.Query()
	for _, c := range vals["category"] {
		for _, s := range strings.Split(c, ",") {
			if s = strings.TrimSpace(s); s != "" {
				q.categories = append(q.categories, s)
			}
		}
	}
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
	query := fmt.Sprintf("SELECT %s, raw FROM %s FINAL WHERE tenant = ? AND event_id = ? LIMIT 1",
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
	rows, err := a.s.Conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
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
			return nil, fmt.Errorf("scan event: %w", err)
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
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}

// rawJSON is raw as JSON: itself when valid, else a JSON string of it.
func rawJSON(raw string) json.RawMessage {
	if json.Valid([]byte(raw)) {
		return json.RawMessage(raw)
	}
	b, _ := json.Marshal(raw)
	return b
}
