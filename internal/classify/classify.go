// Package classify decides, for each raw System Log event of one tenant,
// whether riskpipe keeps it (with exactly one event.Category), drops it (with
// one Reason from a closed set) or dead-letters it (it is not a JSON object).
// It also attributes ThreatInsight events to a user through transaction.id.
//
// Categories, tried in this order (the first that applies wins):
//
//	user_risk           user.risk.detect, user.risk.change,
//	                    user.account.report_suspicious_activity_by_enduser
//	entity_risk         policy.entity_risk.evaluate, policy.entity_risk.action
//	threat_insight      security.threat.detected, security.attack.start, security.attack.end
//	leaked_credentials  security.breached_credential.detected
//	high_risk           any other event whose risk level is HIGH (debugData.risk,
//	                    debugData.logOnlySecurityData or securityContext.risk)
//	extra               event types in the tenant's extra_event_types
//
// Everything else is dropped and counted by event type and Reason.
package classify

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/riskpipe/riskpipe/internal/event"
)

// Reason is why an event was dropped. The set is closed: see Reasons.
type Reason string

// Drop reasons. They apply only to events in no category; the first that
// fits is used.
const (
	// ReasonNoEventType: the event has no (string) eventType.
	ReasonNoEventType Reason = "no_event_type"
	// ReasonThreatSuspected: not a risk event, but Okta set
	// debugData.threatSuspected to "true". Counted apart because these are
	// the events nearest to being kept.
	ReasonThreatSuspected Reason = "threat_suspected"
	// ReasonRiskBelowHigh: not a risk event type, and the event carries a
	// risk level, but LOW or MEDIUM rather than HIGH.
	ReasonRiskBelowHigh Reason = "risk_below_high"
	// ReasonNotRiskEvent: not a risk event type and no risk level at all.
	ReasonNotRiskEvent Reason = "not_risk_event"
)

// Reasons returns every drop reason, e.g. to pre-create metric series.
func Reasons() []Reason {
	return []Reason{ReasonNoEventType, ReasonThreatSuspected, ReasonRiskBelowHigh, ReasonNotRiskEvent}
}

// Dead-letter reasons: why an input is not an event at all. They are the
// Reason values of event.DecodeError.
const (
	DeadLetterInvalidJSON = event.DecodeInvalidJSON // not valid JSON
	DeadLetterNotObject   = event.DecodeNotObject   // valid JSON, but not an object
)

// DeadLetterReasons returns every dead-letter reason.
func DeadLetterReasons() []string {
	return []string{DeadLetterInvalidJSON, DeadLetterNotObject}
}

// Event types with a built-in category.
const (
	TypeThreatDetected = "security.threat.detected"
	TypeAttackStart    = "security.attack.start"
	TypeAttackEnd      = "security.attack.end"
)

var builtin = map[string]event.Category{
	"user.risk.detect": event.CategoryUserRisk,
	"user.risk.change": event.CategoryUserRisk,
	// A user reporting "this wasn't me" is itself a user-risk signal: ITP
	// turns it into a HIGH user risk ("User reported suspicious activity").
	"user.account.report_suspicious_activity_by_enduser": event.CategoryUserRisk,

	"policy.entity_risk.evaluate": event.CategoryEntityRisk,
	"policy.entity_risk.action":   event.CategoryEntityRisk,

	TypeThreatDetected: event.CategoryThreatInsight,
	TypeAttackStart:    event.CategoryThreatInsight,
	TypeAttackEnd:      event.CategoryThreatInsight,

	"security.breached_credential.detected": event.CategoryLeakedCredentials,
}

// Result is what Page makes of one page of raw events. Every input is
// accounted for exactly once:
//
//	len(raws) == len(Kept) + Σ Dropped[i].Count + len(DeadLetters)
//
// and Counts rolls Kept and Dropped up per event type.
type Result struct {
	// Kept are the events to write, in input order, with Category and
	// UserID/UserLogin set.
	Kept []event.Event
	// Updated are ThreatInsight events returned by an earlier Page call,
	// now attributed to a user: write them again (same ID, newer version).
	// Events kept and attributed within this page are only in Kept.
	Updated []event.Event
	// Dropped counts dropped events per event type and reason, in order of
	// first occurrence. Dropped events themselves are not returned.
	Dropped []Drop
	// DeadLetters are the inputs that are not JSON objects.
	DeadLetters []DeadLetter
	// Counts holds kept and dropped counts per event type ("" for events
	// without one). Dead letters have no event type and are not in it.
	Counts map[string]TypeCount
	// Seen are the users every decoded event shows, kept or dropped (the
	// attack factor's population).
	Seen []event.Sighting
	// NewestPublished is the newest parsed `published` of all the page's
	// events, kept or dropped (zero when none had one), e.g. for a lag
	// metric.
	NewestPublished time.Time
}

// Drop counts the events of one type dropped for one reason.
type Drop struct {
	EventType string
	Reason    Reason
	Count     int
}

// TypeCount is the kept and dropped count of one event type.
type TypeCount struct {
	Kept, Dropped int
}

// DeadLetter is an input that could not be decoded as an event.
type DeadLetter struct {
	Reason  string // DeadLetterInvalidJSON or DeadLetterNotObject
	Detail  string // human-readable, e.g. the syntax error and its offset
	Payload []byte // the input, copied
}

// Classifier classifies the event stream of one tenant. It remembers
// recent transactions to attribute ThreatInsight events to users, so use one
// Classifier per tenant and feed it that tenant's pages in order.
//
// A Classifier is not safe for concurrent use. Its attribution state lives
// in memory only: it is lost on restart, so a ThreatInsight event whose user
// event arrives after a restart stays org-level (no user).
type Classifier struct {
	extra map[string]struct{}
	att   attribution
}

// Option configures a Classifier.
type Option func(*Classifier)

// Defaults for the attribution state.
const (
	DefaultMaxTransactions = 50_000
	DefaultWindow          = 15 * time.Minute
	DefaultMaxPendingBytes = 32 << 20
)

// WithMaxTransactions bounds how many transaction ids are remembered
// (default 50,000); the least recently used is forgotten first. n < 1
// means 1.
func WithMaxTransactions(n int) Option {
	return func(c *Classifier) { c.att.maxTx = max(n, 1) }
}

// WithAttributionWindow sets how far apart (by `published`) a ThreatInsight
// event and a user event of the same transaction may be, and how long a
// transaction is remembered after the newest `published` seen (default
// 15 minutes). d <= 0 means the default.
func WithAttributionWindow(d time.Duration) Option {
	return func(c *Classifier) {
		if d > 0 {
			c.att.window = d
		}
	}
}

// WithMaxPendingBytes bounds the raw bytes of ThreatInsight events held
// while they wait for a user event (default 32 MiB): beyond it the least
// recently used transactions are forgotten. n < 1 means the default.
func WithMaxPendingBytes(n int) Option {
	return func(c *Classifier) {
		if n > 0 {
			c.att.maxPendingBytes = n
		}
	}
}

// New returns the classifier of one tenant. extraEventTypes are kept (as
// category extra) in addition to the built-in categories; they are matched
// exactly, ignoring case and surrounding blanks.
func New(extraEventTypes []string, opts ...Option) *Classifier {
	c := &Classifier{extra: make(map[string]struct{}, len(extraEventTypes))}
	for _, t := range extraEventTypes {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			c.extra[t] = struct{}{}
		}
	}
	c.att.init(DefaultMaxTransactions, DefaultWindow, DefaultMaxPendingBytes)
	for _, o := range opts {
		o(c)
	}
	return c
}

// Decide returns the category of a decoded event, or the reason to drop
// it. It is a pure function of the event and the tenant's extra event types.
func (c *Classifier) Decide(e *event.Event) (event.Category, Reason) {
	typ := strings.ToLower(e.EventType) // no allocation when already lower case
	if cat, ok := builtin[typ]; ok {
		return cat, ""
	}
	if e.RiskLevel == event.LevelHigh {
		return event.CategoryHighRisk, ""
	}
	if _, ok := c.extra[typ]; ok {
		return event.CategoryExtra, ""
	}
	switch {
	case typ == "":
		return "", ReasonNoEventType
	case e.ThreatSuspected:
		return "", ReasonThreatSuspected
	case e.RiskLevel != "":
		return "", ReasonRiskBelowHigh
	}
	return "", ReasonNotRiskEvent
}

// Page classifies one page of raw events, in order, at time now (which
// stands in for an unparseable `published`). Every event, kept or dropped,
// feeds the transaction → user attribution.
func (c *Classifier) Page(raws []json.RawMessage, now time.Time) Result {
	res := Result{Counts: make(map[string]TypeCount)}
	var dropIdx map[dropKey]int
	c.att.startPage(&res, now)
	for _, raw := range raws {
		e, err := event.DecodeShared(raw, now) // Raw aliases the page: copied below if kept
		if err != nil {
			res.DeadLetters = append(res.DeadLetters, deadLetter(raw, err))
			continue
		}
		c.att.observe(&e)
		res.Seen = event.AppendSightings(res.Seen, &e)
		if e.PublishedNote == "" && e.Published.After(res.NewestPublished) {
			res.NewestPublished = e.Published
		}

		cat, reason := c.Decide(&e)
		tc := res.Counts[e.EventType]
		if cat == "" {
			tc.Dropped++
			res.Counts[e.EventType] = tc
			if dropIdx == nil {
				dropIdx = make(map[dropKey]int)
			}
			k := dropKey{e.EventType, reason}
			if i, ok := dropIdx[k]; ok {
				res.Dropped[i].Count++
			} else {
				dropIdx[k] = len(res.Dropped)
				res.Dropped = append(res.Dropped, Drop{EventType: e.EventType, Reason: reason, Count: 1})
			}
			continue
		}
		tc.Kept++
		res.Counts[e.EventType] = tc

		e.Raw = bytes.Clone(e.Raw)
		e.Category = cat
		e.UserID, e.UserLogin = userOf(&e)
		res.Kept = append(res.Kept, e)
		if cat == event.CategoryThreatInsight && strings.EqualFold(e.EventType, TypeThreatDetected) {
			c.att.attribute(len(res.Kept) - 1)
		}
	}
	c.att.endPage()
	return res
}

type dropKey struct {
	eventType string
	reason    Reason
}

func deadLetter(raw []byte, err error) DeadLetter {
	dl := DeadLetter{Reason: DeadLetterInvalidJSON, Detail: err.Error(), Payload: append([]byte{}, raw...)}
	var de *event.DecodeError
	if errors.As(err, &de) {
		dl.Reason, dl.Detail = de.Reason, de.Detail
	}
	return dl
}

// userOf is the user a kept event concerns: the User target for ITP and
// entity-risk events (else the actor, if a User), the actor (if a User) for
// the others. ThreatInsight events get theirs from attribution only.
func userOf(e *event.Event) (id, login string) {
	switch e.Category {
	case event.CategoryThreatInsight:
		return "", ""
	case event.CategoryUserRisk, event.CategoryEntityRisk:
		if e.TargetUserID != "" || e.TargetUserLogin != "" {
			return e.TargetUserID, e.TargetUserLogin
		}
	}
	if isUser(e) {
		return e.ActorID, e.ActorLogin
	}
	return "", ""
}

// isUser reports whether the actor is a user.
func isUser(e *event.Event) bool {
	return strings.EqualFold(e.ActorType, "User") && (e.ActorID != "" || e.ActorLogin != "")
}
