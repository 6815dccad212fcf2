package app

import (
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/classify"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/store"
)

// outcome turns a classify.Result into a batch's rows and the metrics'
// counts.
func TestOutcome(t *testing.T) {
	// 23:30 in UTC+2 is 21:30 UTC: counts go to that UTC day.
	now := time.Date(2026, 3, 14, 23, 30, 0, 0, time.FixedZone("UTC+2", 2*3600))
	day := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	newest := time.Date(2026, 3, 14, 21, 29, 58, 0, time.UTC)
	ev := func(id, typ string, cat event.Category) event.Event {
		return event.Event{ID: id, EventType: typ, Category: cat}
	}
	tests := []struct {
		name string
		give classify.Result
		want poll.Outcome
	}{
		{
			name: "empty page",
			want: poll.Outcome{Rows: store.Batch{Events: []event.Event{}}, Kept: map[string]int{}, Dropped: map[string]int{}},
		},
		{
			name: "kept, re-attributed, dropped and dead-lettered",
			give: classify.Result{
				Kept: []event.Event{
					ev("a", "user.risk.detect", event.CategoryUserRisk),
					ev("b", "user.risk.detect", event.CategoryUserRisk),
					ev("c", "security.threat.detected", event.CategoryThreatInsight),
				},
				Updated: []event.Event{ev("z", "security.threat.detected", event.CategoryThreatInsight)},
				Dropped: []classify.Drop{
					{EventType: "user.session.start", Reason: classify.ReasonNotRiskEvent, Count: 5},
					{EventType: "policy.evaluate_sign_on", Reason: classify.ReasonRiskBelowHigh, Count: 2},
					{EventType: "user.session.start", Reason: classify.ReasonThreatSuspected, Count: 1},
				},
				DeadLetters: []classify.DeadLetter{
					{Reason: classify.DeadLetterInvalidJSON, Detail: "unexpected end of input", Payload: []byte(`{"uuid":`)},
					{Reason: classify.DeadLetterNotObject, Payload: []byte(`42`)},
				},
				NewestPublished: newest,
			},
			want: poll.Outcome{
				Rows: store.Batch{
					// Re-attributed events are written again, but were
					// counted when first kept.
					Events: []event.Event{
						ev("a", "user.risk.detect", event.CategoryUserRisk),
						ev("b", "user.risk.detect", event.CategoryUserRisk),
						ev("c", "security.threat.detected", event.CategoryThreatInsight),
						ev("z", "security.threat.detected", event.CategoryThreatInsight),
					},
					Counts: []store.TypeCount{
						{Day: day, EventType: "policy.evaluate_sign_on", Reason: "risk_below_high", Events: 2},
						{Day: day, EventType: "security.threat.detected", Kept: true, Reason: "threat_insight", Events: 1},
						{Day: day, EventType: "user.risk.detect", Kept: true, Reason: "user_risk", Events: 2},
						{Day: day, EventType: "user.session.start", Reason: "not_risk_event", Events: 5},
						{Day: day, EventType: "user.session.start", Reason: "threat_suspected", Events: 1},
					},
					DeadLetters: []store.DeadLetter{
						{Reason: "invalid_json: unexpected end of input", Payload: []byte(`{"uuid":`), ReceivedAt: now},
						{Reason: "not_object", Payload: []byte(`42`), ReceivedAt: now},
					},
				},
				Kept:            map[string]int{"user_risk": 2, "threat_insight": 1},
				Dropped:         map[string]int{"not_risk_event": 5, "risk_below_high": 2, "threat_suspected": 1},
				NewestPublished: newest,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := outcome(tt.give, now)
			sort.Slice(got.Rows.Counts, func(i, j int) bool {
				a, b := got.Rows.Counts[i], got.Rows.Counts[j]
				if a.EventType != b.EventType {
					return a.EventType < b.EventType
				}
				return a.Reason < b.Reason
			})
			require.Equal(t, tt.want, got)
		})
	}
}

// NewClassifyFunc runs the real classifier: one page of raw events in,
// rows out, every input accounted for.
func TestNewClassifyFunc(t *testing.T) {
	raws := []json.RawMessage{
		rawEvent("keep-1", "user.risk.detect", "{level=HIGH}"),
		rawEvent("drop-1", "user.session.start", "{level=LOW}"),
		rawEvent("keep-2", "user.session.start", "{level=HIGH, reasons=Anomalous Device}"),
		rawEvent("extra-1", "app.oauth2.token.grant", ""),
		json.RawMessage(`"not an event"`),
	}
	now := time.Now().UTC()
	out := NewClassifyFunc([]string{"app.oauth2.token.grant"})(raws, now)

	var ids []string
	for _, e := range out.Rows.Events {
		ids = append(ids, e.ID)
	}
	require.Equal(t, []string{"keep-1", "keep-2", "extra-1"}, ids)
	require.Equal(t, map[string]int{"user_risk": 1, "high_risk": 1, "extra": 1}, out.Kept)
	require.Equal(t, map[string]int{"risk_below_high": 1}, out.Dropped)
	require.Len(t, out.Rows.DeadLetters, 1)
	var counted uint64
	for _, c := range out.Rows.Counts {
		counted += c.Events
	}
	require.EqualValues(t, len(raws)-len(out.Rows.DeadLetters), counted, "every event counted once")
	require.False(t, out.NewestPublished.IsZero())
}
