// Package threat turns Okta ThreatInsight's org-level signals
// (security.attack.start and security.attack.end: "ThreatInsight detects
// that an org is [no longer] under attack") into attacks with a start and
// an end, for the dashboard's timeline.
package threat

import (
	"cmp"
	"slices"
	"time"
)

// Mark is one security.attack.start (Start) or security.attack.end event.
type Mark struct {
	At      time.Time
	Start   bool
	EventID string
}

// Attack is a period an org was under attack. Start is nil when the
// attack began before the marks read (an end without its start); End is
// nil while it goes on (a start without an end).
type Attack struct {
	Start        *time.Time `json:"start"`
	End          *time.Time `json:"end"`
	StartEventID string     `json:"start_event_id"`
	EndEventID   string     `json:"end_event_id"`
}

// Ongoing reports whether the attack has not ended.
func (a Attack) Ongoing() bool { return a.End == nil }

// Timeline pairs marks into attacks, oldest first. Okta announces an
// attack once and its end once; a repeated start during an attack (a
// replay, or Okta re-announcing it) does not open another one, and a
// repeated end after an end closes nothing.
func Timeline(marks []Mark) []Attack {
	marks = slices.Clone(marks)
	slices.SortStableFunc(marks, func(x, y Mark) int {
		// At the same second an end sorts before a start: back-to-back
		// attacks stay two.
		return cmp.Or(x.At.Compare(y.At), cmp.Compare(boolInt(x.Start), boolInt(y.Start)))
	})
	var (
		out  []Attack
		open *Attack
	)
	for _, m := range marks {
		at := m.At
		switch {
		case m.Start && open == nil:
			out = append(out, Attack{Start: &at, StartEventID: m.EventID})
			open = &out[len(out)-1]
		case m.Start:
			// Already under attack.
		case open != nil:
			open.End, open.EndEventID = &at, m.EventID
			open = nil
		case len(out) == 0:
			// The end of an attack that began before the first mark.
			out = append(out, Attack{End: &at, EndEventID: m.EventID})
		}
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
