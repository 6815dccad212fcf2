package api

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/store"
)

// fixtureUser is a user of the test orgs.
type fixtureUser struct {
	tenant, id, login string
}

// name is the user's Okta displayName: "Alice Example" for alice@....
func (u fixtureUser) name() string {
	local, _, _ := strings.Cut(u.login, "@")
	if local == "" {
		return ""
	}
	return strings.ToUpper(local[:1]) + local[1:] + " Example"
}

var (
	alice = fixtureUser{"acme", "00ualice", "alice@acme.example"}
	bob   = fixtureUser{"acme", "00ubob", "bob@acme.example"}
	carol = fixtureUser{"acme", "00ucarol", "carol@acme.example"}
	dave  = fixtureUser{"globex", "00udave", "dave@globex.example"}
	erin  = fixtureUser{"globex", "00uerin", "erin@globex.example"}
)

var eventTypeOf = map[event.Category]string{
	event.CategoryUserRisk:          "user.risk.change",
	event.CategoryEntityRisk:        "policy.entity_risk.evaluate",
	event.CategoryThreatInsight:     "security.threat.detected",
	event.CategoryLeakedCredentials: "security.breached_credential.detected",
	event.CategoryHighRisk:          "user.session.start",
}

// signal is one kept event of the fixture: who, what, when (before now0).
type signal struct {
	user fixtureUser
	cat  event.Category
	ago  time.Duration
}

// fixtureSignals are the kept events: alice is attacked most, then dave.
var fixtureSignals = []signal{
	{alice, event.CategoryLeakedCredentials, 40 * time.Hour},
	{alice, event.CategoryThreatInsight, 30 * time.Hour},
	{alice, event.CategoryThreatInsight, 29 * time.Hour},
	{alice, event.CategoryHighRisk, 20 * time.Hour},
	{alice, event.CategoryUserRisk, 6 * time.Hour},
	{alice, event.CategoryEntityRisk, 2 * time.Hour},
	{bob, event.CategoryHighRisk, 10 * time.Hour},
	{bob, event.CategoryThreatInsight, 3 * time.Hour},
	{carol, event.CategoryLeakedCredentials, 50 * time.Hour},
	{dave, event.CategoryThreatInsight, 12 * time.Hour},
	{dave, event.CategoryThreatInsight, 11 * time.Hour},
	{dave, event.CategoryUserRisk, 4 * time.Hour},
	{dave, event.CategoryHighRisk, 1 * time.Hour},
	{erin, event.CategoryEntityRisk, 7 * time.Hour},
}

// fixtureEvent builds the kept event of s (the i-th signal) with a
// realistic raw System Log event.
func fixtureEvent(i int, s signal) event.Event {
	id := fmt.Sprintf("evt-%s-%03d", s.user.tenant, i)
	pub := now0.Add(-s.ago).Add(time.Duration(i) * time.Millisecond)
	typ := eventTypeOf[s.cat]
	risk := "{level=HIGH, reasons=Anomalous Device, Anomalous Location}"
	raw, _ := json.Marshal(map[string]any{
		"uuid":           id,
		"published":      pub.Format(time.RFC3339Nano),
		"eventType":      typ,
		"severity":       "WARN",
		"displayMessage": "fixture " + typ,
		"actor":          map[string]any{"id": s.user.id, "type": "User", "alternateId": s.user.login, "displayName": s.user.name()},
		"client":         map[string]any{"ipAddress": "203.0.113.7", "geographicalContext": map[string]any{"country": "Germany"}},
		"outcome":        map[string]any{"result": "SUCCESS"},
		"transaction":    map[string]any{"type": "WEB", "id": "txn-" + id},
		"debugContext":   map[string]any{"debugData": map[string]any{"risk": risk}},
	})
	e := event.Event{
		ID: id, Published: pub, EventType: typ, Severity: "WARN", DisplayMessage: "fixture " + typ,
		ActorID: s.user.id, ActorType: "User", ActorLogin: s.user.login,
		UserID: s.user.id, UserLogin: s.user.login, ClientIP: "203.0.113.7", Country: "Germany",
		Outcome: "SUCCESS", RiskLevel: "HIGH", RiskReasons: "Anomalous Device, Anomalous Location",
		TransactionID: "txn-" + id, Category: s.cat, Raw: raw,
	}
	if s.cat == event.CategoryThreatInsight {
		e.ThreatSuspected = true
		e.ThreatDetections = map[string]string{"Password Spray": "HIGH"}
	}
	return e
}

// fixtureBatches are the fixture's events as one batch per tenant.
func fixtureBatches() []store.Batch {
	by := map[string]*store.Batch{}
	var order []string
	for i, s := range fixtureSignals {
		b, ok := by[s.user.tenant]
		if !ok {
			b = &store.Batch{Tenant: s.user.tenant}
			by[s.user.tenant] = b
			order = append(order, s.user.tenant)
		}
		b.Events = append(b.Events, fixtureEvent(i, s))
	}
	out := make([]store.Batch, 0, len(order))
	for _, t := range order {
		out = append(out, *by[t])
	}
	return out
}

// weightOf is a rough stand-in for the scoring engine's weights.
var weightOf = map[event.Category]float64{
	event.CategoryLeakedCredentials: 40, event.CategoryUserRisk: 40, event.CategoryThreatInsight: 25,
	event.CategoryEntityRisk: 20, event.CategoryHighRisk: 10,
}

func levelOf(score float64) string {
	switch {
	case score >= 65:
		return "critical"
	case score >= 40:
		return "high"
	case score >= 20:
		return "medium"
	}
	return "low"
}

// fixtureUpdates are the attack-factor updates the fixture's signals
// cause: one per signal, 30 seconds after it, in time order.
func fixtureUpdates() []FactorUpdate {
	type entry struct {
		i int
		s signal
	}
	var order []entry
	for i, s := range fixtureSignals {
		order = append(order, entry{i, s})
	}
	slices.SortStableFunc(order, func(x, y entry) int { return cmp.Compare(y.s.ago, x.s.ago) })
	sums := map[fixtureUser]float64{}
	counts := map[fixtureUser]uint32{}
	var out []FactorUpdate
	for _, en := range order {
		u := en.s.user
		sums[u] += weightOf[en.s.cat]
		counts[u]++
		score := math.Round(100*(1-math.Exp(-sums[u]/50))*100) / 100
		ev := fixtureEvent(en.i, en.s)
		out = append(out, FactorUpdate{
			Tenant: u.tenant, UserID: u.id, UserLogin: u.login,
			UpdatedAt:    ev.Published.Add(30 * time.Second).Truncate(time.Second),
			Score:        score,
			Percentile:   math.Min(99, score),
			Level:        levelOf(score),
			Signals:      counts[u],
			CauseEventID: ev.ID, CauseCategory: string(en.s.cat),
			Explanation: fmt.Sprintf("%s x%d", en.s.cat, counts[u]),
		})
	}
	return out
}

// latestOf returns the newest update of each user.
func latestOf(updates []FactorUpdate) []FactorUpdate {
	newest := map[store.UserKey]FactorUpdate{}
	for _, u := range updates {
		k := store.UserKey{Tenant: u.Tenant, UserID: u.UserID}
		if old, ok := newest[k]; !ok || !u.UpdatedAt.Before(old.UpdatedAt) {
			newest[k] = u
		}
	}
	out := make([]FactorUpdate, 0, len(newest))
	for _, u := range newest {
		out = append(out, u)
	}
	slices.SortFunc(out, func(x, y FactorUpdate) int { return cmp.Compare(x.Tenant+"/"+x.UserID, y.Tenant+"/"+y.UserID) })
	return out
}

// attackMark is a security.attack.start or .end event of an org, ago
// before now0.
func attackMark(id, typ string, ago time.Duration) event.Event {
	pub := now0.Add(-ago)
	raw, _ := json.Marshal(map[string]any{"uuid": id, "published": pub.Format(time.RFC3339Nano), "eventType": typ})
	return event.Event{ID: id, Published: pub, EventType: typ, Category: event.CategoryThreatInsight, Raw: raw}
}
