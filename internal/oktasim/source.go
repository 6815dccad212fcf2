package oktasim

import (
	"bytes"
	"encoding/json"
	"time"
)

// Event is one System Log event as served: Raw is its JSON object, written
// to pages byte for byte. ID is its uuid and Published its published time;
// both are for ground truth and bounded requests and must agree with Raw.
type Event struct {
	ID        string
	Raw       []byte
	Published time.Time
}

// Source produces an org's stream deterministically by index.
type Source interface {
	// Event returns the i-th event (0-based) of the org, persisted at
	// `persisted`. It must be deterministic in (i, persisted).
	//
	// Published must not be after persisted (events may be late, never
	// early): bounded requests rely on it to skip events persisted before
	// their since. It is called concurrently.
	Event(i int64, persisted time.Time) Event
}

// PublishedSource is an optional speed-up a Source may implement: bounded
// requests (since+until, or DESCENDING) order events by published, and call
// Published instead of generating every candidate event. It must return
// Event(i, persisted).Published.
type PublishedSource interface {
	Source
	Published(i int64, persisted time.Time) time.Time
}

// storedEvent is an injected event with its persisted time.
type storedEvent struct {
	Event
	persisted time.Time
}

// newStoredEvent copies raw and reads its uuid and published for ground
// truth; a raw event without a parsable published gets its persisted time.
// Raw that is not JSON is stored as is (it makes the page invalid, which is
// the point of injecting it).
func newStoredEvent(raw []byte, persisted time.Time) storedEvent {
	raw = bytes.TrimSpace(raw)
	ev := storedEvent{Event: Event{Raw: bytes.Clone(raw), Published: persisted}, persisted: persisted}
	var head struct {
		UUID      string `json:"uuid"`
		Published string `json:"published"`
	}
	if json.Unmarshal(raw, &head) == nil {
		ev.ID = head.UUID
		if t, err := time.Parse(time.RFC3339Nano, head.Published); err == nil {
			ev.Published = t
		}
	}
	return ev
}
