package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Dead-letter reasons of a *DecodeError: the closed set of ways an input can
// fail to be an event.
const (
	// DecodeInvalidJSON: the input is not valid JSON (includes empty input
	// and trailing bytes after the value).
	DecodeInvalidJSON = "invalid_json"
	// DecodeNotObject: valid JSON, but not an object (array, string, null...).
	DecodeNotObject = "not_object"
)

// DecodeError is returned by Decode for input that is not a JSON object.
// Reason is DecodeInvalidJSON or DecodeNotObject and is meant for the
// dead-letter table; Detail is a human-readable explanation.
type DecodeError struct {
	Reason string
	Detail string
}

func (e *DecodeError) Error() string {
	if e.Detail == "" {
		return "decode event: " + e.Reason
	}
	return "decode event: " + e.Reason + ": " + e.Detail
}

// wireEvent holds only the fields riskpipe projects; the rest of the event is
// validated and skipped without building values. It is filled by decodeWire
// (scan.go) exactly as json.Unmarshal would fill it with type errors ignored:
// keys match these fields case-insensitively, which accepts Okta's camelCase
// and the lower-cased top-level keys of some fixtures (eventtype,
// debugcontext) alike, and a field of the wrong JSON type is skipped, leaving
// that projection empty.
type wireEvent struct {
	UUID                  string          `json:"uuid"`
	Published             json.RawMessage `json:"published"`
	EventType             string          `json:"eventType"`
	LegacyEventType       string          `json:"legacyEventType"`
	Severity              string          `json:"severity"`
	DisplayMessage        string          `json:"displayMessage"`
	Actor                 wireActor       `json:"actor"`
	Target                []wireActor     `json:"target"`
	Client                wireClient      `json:"client"`
	Request               wireRequest     `json:"request"`
	Outcome               wireOutcome     `json:"outcome"`
	Transaction           wireID          `json:"transaction"`
	AuthenticationContext wireAuthContext `json:"authenticationContext"`
	DebugContext          wireDebugCtx    `json:"debugContext"`
	SecurityContext       wireSecurityCtx `json:"securityContext"`
}

type wireActor struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
}

type wireClient struct {
	IPAddress           string `json:"ipAddress"`
	GeographicalContext struct {
		Country string `json:"country"`
	} `json:"geographicalContext"`
}

type wireRequest struct {
	IPChain []wireHop `json:"ipChain"`
}

type wireHop struct {
	IP string `json:"ip"`
}

type wireOutcome struct {
	Result string `json:"result"`
	Reason string `json:"reason"`
}

type wireID struct {
	ID string `json:"id"`
}

type wireAuthContext struct {
	ExternalSessionID string `json:"externalSessionId"`
}

type wireDebugCtx struct {
	DebugData wireDebugData `json:"debugData"`
}

// wireDebugData: Okta writes these keys in camelCase, the Admin Console shows
// them capitalised (ThreatSuspected) and the event-type catalog in
// snake_case. Case-insensitive matching covers the first two; the snake_case
// fields are used only when the camelCase ones are absent.
type wireDebugData struct {
	Risk                json.RawMessage `json:"risk"`
	LogOnlySecurityData json.RawMessage `json:"logOnlySecurityData"`
	ThreatSuspected     json.RawMessage `json:"threatSuspected"`
	ThreatDetections    json.RawMessage `json:"threatDetections"`

	LogOnlySecurityDataSnake json.RawMessage `json:"log_only_security_data"`
	ThreatSuspectedSnake     json.RawMessage `json:"threat_suspected"`
	ThreatDetectionsSnake    json.RawMessage `json:"threat_detections"`
}

type wireSecurityCtx struct {
	Risk json.RawMessage `json:"risk"`
}

// Decode decodes one System Log event. raw must be a JSON object; anything
// else returns a *DecodeError. Within an object every field is optional and
// a field of the wrong type only leaves its projection empty, so Decode never
// fails on content. Event.Raw is a copy of raw; now stands in for a missing
// or unparseable `published` (see Event.PublishedNote).
func Decode(raw []byte, now time.Time) (Event, error) {
	e, err := DecodeShared(raw, now)
	e.Raw = bytes.Clone(e.Raw)
	return e, err
}

// DecodeShared is Decode without the copy: Event.Raw is raw itself. The
// classifier uses it because it drops most events, and copies Raw only for
// those it keeps, so a page's body is not copied event by event.
func DecodeShared(raw []byte, now time.Time) (Event, error) {
	body := trimSpace(raw)
	if len(body) == 0 {
		return Event{}, &DecodeError{Reason: DecodeInvalidJSON, Detail: "empty input"}
	}
	if body[0] != '{' {
		return Event{}, notObjectError(raw)
	}
	var w wireEvent
	if msg := decodeWire(raw, &w); msg != "" {
		return Event{}, &DecodeError{Reason: DecodeInvalidJSON, Detail: msg}
	}
	return project(raw, &w, now), nil
}

// project builds the Event from a decoded wireEvent.
func project(raw []byte, w *wireEvent, now time.Time) Event {
	e := Event{
		EventType:       w.EventType,
		LegacyEventType: w.LegacyEventType,
		Severity:        w.Severity,
		DisplayMessage:  w.DisplayMessage,
		ActorID:         w.Actor.ID,
		ActorType:       w.Actor.Type,
		ActorLogin:      w.Actor.AlternateID,
		ActorName:       w.Actor.DisplayName,
		ClientIP:        w.Client.IPAddress,
		Country:         w.Client.GeographicalContext.Country,
		Outcome:         w.Outcome.Result,
		OutcomeReason:   w.Outcome.Reason,
		TransactionID:   w.Transaction.ID,
		SessionID:       w.AuthenticationContext.ExternalSessionID,
		Raw:             raw,
	}

	if id := strings.TrimSpace(w.UUID); id != "" {
		e.ID = id
	} else {
		e.ID, e.IDDerived = DerivedID(raw), true
	}
	e.Published, e.PublishedNote = parsePublished(w.Published, now)

	for _, t := range w.Target {
		if strings.EqualFold(t.Type, "User") {
			e.TargetUserID, e.TargetUserLogin = t.ID, t.AlternateID
			break
		}
	}
	if e.ClientIP == "" {
		for _, hop := range w.Request.IPChain {
			if hop.IP != "" {
				e.ClientIP = hop.IP
				break
			}
		}
	}

	dd := &w.DebugContext.DebugData
	logOnly := firstPresent(dd.LogOnlySecurityData, dd.LogOnlySecurityDataSnake)
	risk, src := pickRisk(
		[3]Risk{parseRiskValue(w.SecurityContext.Risk), parseRiskValue(dd.Risk), parseLogOnlySecurityData(logOnly)},
		[3]RiskSource{RiskSourceSecurityContext, RiskSourceDebugData, RiskSourceLogOnly},
	)
	e.RiskLevel, e.RiskReasons, e.RiskDetection, e.PreviousLevel, e.RiskSource =
		risk.Level, risk.Reasons, risk.DetectionName, risk.PreviousLevel, src
	e.ThreatSuspected = parseBool(firstPresent(dd.ThreatSuspected, dd.ThreatSuspectedSnake))
	e.ThreatDetections = parseThreatDetections(firstPresent(dd.ThreatDetections, dd.ThreatDetectionsSnake))
	return e
}

// DerivedID returns the id of an event without a uuid: "sha256:" and the hex
// SHA-256 of its canonical JSON (a generic decode re-encoded with sorted keys
// and no insignificant whitespace; numbers keep their literal text). The same
// event content therefore always gets the same id, however it is formatted.
// Input encoding/json cannot decode (invalid, or nested deeper than its
// 10000-level limit) is hashed as is.
func DerivedID(raw []byte) string {
	canon := raw
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	sum := sha256.Sum256(canon)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// notObjectError explains why raw (which does not start with '{') is not an
// event.
func notObjectError(raw []byte) error {
	if ok, msg := validJSON(raw); !ok {
		return &DecodeError{Reason: DecodeInvalidJSON, Detail: msg}
	}
	kind := "number"
	switch trimSpace(raw)[0] {
	case '[':
		kind = "array"
	case '"':
		kind = "string"
	case 'n':
		kind = "null"
	case 't', 'f':
		kind = "boolean"
	}
	return &DecodeError{Reason: DecodeNotObject, Detail: "json " + kind}
}

// ignoreTypeErrors reports whether err is nil or only an
// *json.UnmarshalTypeError (a wrong-typed field, skipped by encoding/json
// while it decoded the rest).
func ignoreTypeErrors(err error) bool {
	if err == nil {
		return true
	}
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// parseBool reads "true"/"false" in any case, or a JSON bool.
func parseBool(b json.RawMessage) bool {
	b = trimSpace(b)
	switch {
	case len(b) == 0:
		return false
	case string(b) == "true":
		return true
	case b[0] == '"':
		s, _ := unquote(b)
		return strings.EqualFold(strings.TrimSpace(s), "true")
	}
	return false
}

// parseThreatDetections reads debugData.threatDetections, a JSON string such
// as {"Password Spray":"HIGH"} (an object is accepted too). Invalid content
// gives nil; non-string values are left out.
func parseThreatDetections(b json.RawMessage) map[string]string {
	b = trimSpace(b)
	if len(b) == 0 {
		return nil
	}
	if s, ok := unquote(b); ok {
		b = trimSpace([]byte(s))
	}
	if !isObject(b) {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := unquote(v); ok {
			out[k] = s
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// firstPresent returns the first value that is present and not null.
func firstPresent(vals ...json.RawMessage) json.RawMessage {
	for _, v := range vals {
		if v = trimSpace(v); len(v) > 0 && string(v) != "null" {
			return v
		}
	}
	return nil
}

func isObject(b []byte) bool {
	b = trimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

// trimSpace trims JSON insignificant whitespace.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
