package classify

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
)

var (
	t0      = time.Date(2024, 8, 13, 15, 0, 0, 0, time.UTC)
	testNow = time.Date(2024, 8, 13, 18, 0, 0, 0, time.UTC)
)

// ev describes a test event; raw renders it as System Log JSON.
type ev struct {
	uuid       string
	typ        string
	at         time.Duration // published = t0 + at
	actorType  string
	actorID    string
	actorLogin string
	targetUser string // id of a User target (login = id + "@example.com")
	tx         string
	risk       string // debugData.risk
	logOnly    string // debugData.logOnlySecurityData (JSON string content)
	scLevel    string // securityContext.risk.level
	threat     bool   // debugData.threatSuspected "true"
}

func (e ev) raw() json.RawMessage {
	m := map[string]any{"eventType": e.typ, "published": t0.Add(e.at).Format(time.RFC3339Nano)}
	if e.typ == "" {
		delete(m, "eventType")
	}
	if e.uuid != "" {
		m["uuid"] = e.uuid
	}
	if e.actorType != "" {
		m["actor"] = map[string]any{"type": e.actorType, "id": e.actorID, "alternateId": e.actorLogin}
	}
	targets := []any{map[string]any{"type": "AppInstance", "id": "0oa1"}}
	if e.targetUser != "" {
		targets = append(targets, map[string]any{"type": "User", "id": e.targetUser, "alternateId": e.targetUser + "@example.com"})
	}
	m["target"] = targets
	if e.tx != "" {
		m["transaction"] = map[string]any{"type": "WEB", "id": e.tx}
	}
	dd := map[string]any{"requestId": "r1"}
	if e.risk != "" {
		dd["risk"] = e.risk
	}
	if e.logOnly != "" {
		dd["logOnlySecurityData"] = e.logOnly
	}
	if e.threat {
		dd["threatSuspected"] = "true"
	}
	m["debugContext"] = map[string]any{"debugData": dd}
	if e.scLevel != "" {
		m["securityContext"] = map[string]any{"risk": map[string]any{"level": e.scLevel, "reasons": []string{"r"}}}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func raws(evs ...ev) []json.RawMessage {
	out := make([]json.RawMessage, len(evs))
	for i, e := range evs {
		out[i] = e.raw()
	}
	return out
}

// signIn is a user.session.start of user u in transaction tx (dropped, but
// it identifies the user of tx).
func signIn(uuid, u, tx string, at time.Duration) ev {
	return ev{uuid: uuid, typ: "user.session.start", at: at, actorType: "User", actorID: u, actorLogin: u + "@example.com", tx: tx}
}

// threat is a security.threat.detected in transaction tx (actor: an IP).
func threat(uuid, tx string, at time.Duration) ev {
	return ev{uuid: uuid, typ: TypeThreatDetected, at: at, actorType: "IP address", actorID: "1.2.3.4", tx: tx, threat: true}
}

// requireBalanced checks the accounting invariants of a Result.
func requireBalanced(t testing.TB, in int, res Result) {
	t.Helper()
	dropped := 0
	for _, d := range res.Dropped {
		require.Positive(t, d.Count)
		require.Contains(t, Reasons(), d.Reason)
		dropped += d.Count
	}
	require.Equal(t, in, len(res.Kept)+dropped+len(res.DeadLetters), "every input accounted for exactly once")
	kept, cdropped := 0, 0
	for _, c := range res.Counts {
		kept += c.Kept
		cdropped += c.Dropped
	}
	require.Equal(t, len(res.Kept), kept)
	require.Equal(t, dropped, cdropped)
	for _, dl := range res.DeadLetters {
		require.Contains(t, DeadLetterReasons(), dl.Reason)
	}
	cats := []event.Category{event.CategoryUserRisk, event.CategoryEntityRisk, event.CategoryThreatInsight,
		event.CategoryLeakedCredentials, event.CategoryHighRisk, event.CategoryExtra}
	for _, e := range res.Kept {
		require.Contains(t, cats, e.Category)
	}
	for _, e := range res.Updated {
		require.Equal(t, event.CategoryThreatInsight, e.Category)
		require.NotEmpty(t, e.UserID+e.UserLogin)
	}
}
