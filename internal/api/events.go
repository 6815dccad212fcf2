package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/riskpipe/riskpipe/internal/store"
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
	events, err := a.events(r.Context(), org, store.EventFilter{
		From: q.from, To: q.to, After: &store.EventKey{PublishedMS: q.after.PublishedMS, EventID: q.after.EventID},
		Categories: q.categories, UserID: q.userID, Limit: q.limit + 1, Raw: q.raw,
	})
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
	e, ok, err := a.r.EventByID(r.Context(), org, r.PathValue("event_id"))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &httpError{status: http.StatusNotFound, msg: "no such event in this org"}
	}
	return Event(e), nil
}

// events reads an org's events (store.Reader.Events) as the API shows
// them.
func (a *API) events(ctx context.Context, org string, f store.EventFilter) ([]Event, error) {
	evs, err := a.r.Events(ctx, org, f)
	if err != nil {
		return nil, err
	}
	out := make([]Event, len(evs))
	for i, e := range evs {
		out[i] = Event(e)
	}
	return out, nil
}
