// Package event decodes one Okta System Log event into the fields riskpipe
// needs, while keeping the event's raw JSON exactly as received.
//
// The SDK's LogEvent drops fields (actor detailEntry, device,
// securityContext.risk), so riskpipe never round-trips events through it:
// Raw is the source of truth and Event is a read-only projection of it.
//
// Decoding is tolerant by design: third-party and hand-written events lack
// uuid or published, write published in non-ISO forms, lower-case top-level
// keys (eventtype, debugcontext) or put values of the wrong JSON type in
// places. Only input that is not a JSON object is rejected (*DecodeError);
// anything else yields an Event whose unusable projections are empty.
package event

import (
	"encoding/json"
	"time"
)

// Category is the single class a kept event falls in, most specific first.
type Category string

// The categories, in the order the classifier tries them.
const (
	CategoryUserRisk          Category = "user_risk"
	CategoryEntityRisk        Category = "entity_risk"
	CategoryThreatInsight     Category = "threat_insight"
	CategoryLeakedCredentials Category = "leaked_credentials"
	CategoryHighRisk          Category = "high_risk"
	// CategoryExtra marks an event kept only because the tenant listed its
	// type in extra_event_types.
	CategoryExtra Category = "extra"
)

// Event is the projection of one System Log event.
type Event struct {
	// ID is the Okta uuid, or a deterministic id derived from the raw
	// content ("sha256:<hex>", see DerivedID) when the event has none;
	// IDDerived tells which.
	ID        string
	IDDerived bool

	// Published is the event's `published` time in UTC. When it is
	// missing, cannot be parsed or lies outside 1970..2106 (ClickHouse
	// DateTime) it is the ingestion time (Decode's now) and PublishedNote
	// says why ("published missing", `published "xyz" unparseable`).
	Published     time.Time
	PublishedNote string

	EventType       string
	LegacyEventType string
	Severity        string
	DisplayMessage  string

	// Actor and the first target of type User.
	ActorID, ActorType, ActorLogin, ActorName string
	TargetUserID, TargetUserLogin             string

	// UserID/UserLogin are the user the event concerns (set by the
	// classifier: target User for ITP/policy events, actor otherwise;
	// for ThreatInsight events the user of another event of the same
	// transaction, if one was seen). Decode leaves them empty.
	UserID, UserLogin string

	ClientIP      string // client.ipAddress, else the first request.ipChain[].ip
	Country       string // client.geographicalContext.country
	Outcome       string // outcome.result
	OutcomeReason string

	// Risk as found in debugData.risk, debugData.logOnlySecurityData or
	// securityContext.risk; the highest level wins, and on a tie
	// securityContext.risk, then debugData.risk, then logOnlySecurityData.
	// RiskReasons, RiskDetection and PreviousLevel come from the source that
	// gave RiskLevel, named by RiskSource.
	RiskLevel     string // LOW | MEDIUM | HIGH | ""
	RiskReasons   string // reasons as written by Okta (may contain commas); an array is joined with ", "
	RiskDetection string // detectionName, when present
	PreviousLevel string // previousLevel (ITP user.risk.* events)
	RiskSource    RiskSource
	// ThreatSuspected is debugData.threatSuspected ("true"/"false" on the
	// wire; a JSON bool is tolerated).
	ThreatSuspected bool
	// ThreatDetections is debugData.threatDetections ({"Password Spray":"HIGH",...}),
	// nil when absent or not parseable. Entries whose value is not a string
	// are left out.
	ThreatDetections map[string]string

	TransactionID string
	SessionID     string // authenticationContext.externalSessionId

	// Category is set by the classifier on kept events; Decode leaves it empty.
	Category Category

	// Raw is a copy of the exact input bytes given to Decode (DecodeShared:
	// those bytes themselves).
	Raw json.RawMessage
}

// RiskSource names where an event's RiskLevel came from.
type RiskSource string

// The risk sources, in tie-break order (first wins on equal levels).
const (
	RiskSourceNone            RiskSource = ""
	RiskSourceSecurityContext RiskSource = "securityContext.risk"
	RiskSourceDebugData       RiskSource = "debugData.risk"
	RiskSourceLogOnly         RiskSource = "debugData.logOnlySecurityData"
)
