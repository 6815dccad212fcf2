package event

import (
	"encoding/json"
	"time"
)

// decodeStd is the reference semantics of Decode: encoding/json filling the
// same wireEvent, with type errors ignored. FuzzDecode checks that Decode
// agrees with it on every input encoding/json can handle.
func decodeStd(raw []byte, now time.Time) (Event, bool) {
	body := trimSpace(raw)
	if len(body) == 0 || body[0] != '{' {
		return Event{}, false
	}
	var w wireEvent
	if !ignoreTypeErrors(json.Unmarshal(raw, &w)) {
		return Event{}, false
	}
	return project(raw, &w, now), true
}
