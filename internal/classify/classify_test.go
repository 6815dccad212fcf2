package classify

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
)

func TestCategories(t *testing.T) {
	high := "{reasons=Anomalous Location, Anomalous Device, level=HIGH}"
	tests := []struct {
		name       string
		give       ev
		extra      []string
		want       event.Category
		wantReason Reason
	}{
		{"user.risk.detect", ev{typ: "user.risk.detect", risk: "{previousLevel=LOW, level=MEDIUM, detectionName=x, reasons=y, issuer=OKTA}"}, nil, event.CategoryUserRisk, ""},
		{"user.risk.change", ev{typ: "user.risk.change"}, nil, event.CategoryUserRisk, ""},
		{"user.risk.detect HIGH is user_risk, not high_risk", ev{typ: "user.risk.detect", risk: high}, nil, event.CategoryUserRisk, ""},
		{"user.risk.detect LOW is still user_risk", ev{typ: "user.risk.detect", risk: "{level=LOW}"}, nil, event.CategoryUserRisk, ""},
		{"user reported suspicious activity", ev{typ: "user.account.report_suspicious_activity_by_enduser"}, nil, event.CategoryUserRisk, ""},
		{"policy.entity_risk.evaluate", ev{typ: "policy.entity_risk.evaluate"}, nil, event.CategoryEntityRisk, ""},
		{"policy.entity_risk.action HIGH", ev{typ: "policy.entity_risk.action", scLevel: "HIGH"}, nil, event.CategoryEntityRisk, ""},
		{"security.threat.detected", ev{typ: "security.threat.detected"}, nil, event.CategoryThreatInsight, ""},
		{"security.attack.start", ev{typ: "security.attack.start"}, nil, event.CategoryThreatInsight, ""},
		{"security.attack.end", ev{typ: "security.attack.end"}, nil, event.CategoryThreatInsight, ""},
		{"breached credential HIGH is leaked_credentials", ev{typ: "security.breached_credential.detected", risk: high}, nil, event.CategoryLeakedCredentials, ""},
		{"high risk from debugData.risk", ev{typ: "user.session.start", risk: high}, nil, event.CategoryHighRisk, ""},
		{"high risk from logOnlySecurityData", ev{typ: "user.session.start", logOnly: `{"risk":{"reasons":"Anomalous Device","level":"HIGH"},"behaviors":{}}`}, nil, event.CategoryHighRisk, ""},
		{"high risk from securityContext.risk", ev{typ: "policy.evaluate_sign_on", scLevel: "HIGH"}, nil, event.CategoryHighRisk, ""},
		{"highest source wins", ev{typ: "user.session.start", risk: "{level=LOW}", scLevel: "HIGH"}, nil, event.CategoryHighRisk, ""},
		{"extra type with HIGH risk is high_risk", ev{typ: "user.account.lock", risk: high}, []string{"user.account.lock"}, event.CategoryHighRisk, ""},
		{"extra type", ev{typ: "user.account.lock"}, []string{"user.account.lock"}, event.CategoryExtra, ""},
		{"extra type case and blanks", ev{typ: "user.account.lock"}, []string{" User.Account.LOCK "}, event.CategoryExtra, ""},
		{"extra type for a built-in stays built-in", ev{typ: "security.threat.detected"}, []string{"security.threat.detected"}, event.CategoryThreatInsight, ""},
		{"MEDIUM risk dropped", ev{typ: "user.session.start", risk: "{reasons=Anomalous Device, level=MEDIUM}"}, nil, "", ReasonRiskBelowHigh},
		{"LOW logOnly dropped", ev{typ: "user.session.start", logOnly: `{"risk":{"level":"LOW"},"behaviors":{}}`}, nil, "", ReasonRiskBelowHigh},
		{"MEDIUM securityContext dropped", ev{typ: "user.session.start", scLevel: "MEDIUM"}, nil, "", ReasonRiskBelowHigh},
		{"threatSuspected only", ev{typ: "user.session.start", threat: true, risk: "{level=MEDIUM}"}, nil, "", ReasonThreatSuspected},
		{"plain event", ev{typ: "user.session.start"}, nil, "", ReasonNotRiskEvent},
		{"unknown level is no level", ev{typ: "user.session.start", risk: "{level=SEVERE}"}, nil, "", ReasonNotRiskEvent},
		{"not listed extra", ev{typ: "user.account.unlock"}, []string{"user.account.lock"}, "", ReasonNotRiskEvent},
		{"no event type", ev{}, nil, "", ReasonNoEventType},
		{"no event type but HIGH", ev{risk: high}, nil, event.CategoryHighRisk, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.extra)
			e, err := event.Decode(tt.give.raw(), testNow)
			require.NoError(t, err)
			cat, reason := c.Decide(&e)
			require.Equal(t, tt.want, cat)
			require.Equal(t, tt.wantReason, reason)

			res := c.Page([]json.RawMessage{tt.give.raw()}, testNow)
			requireBalanced(t, 1, res)
			if tt.want != "" {
				require.Len(t, res.Kept, 1)
				require.Equal(t, tt.want, res.Kept[0].Category)
				require.Equal(t, TypeCount{Kept: 1}, res.Counts[tt.give.typ])
			} else {
				require.Empty(t, res.Kept)
				require.Equal(t, []Drop{{EventType: tt.give.typ, Reason: tt.wantReason, Count: 1}}, res.Dropped)
				require.Equal(t, TypeCount{Dropped: 1}, res.Counts[tt.give.typ])
			}
		})
	}
}

func TestUser(t *testing.T) {
	high := "{level=HIGH}"
	tests := []struct {
		name      string
		give      ev
		wantID    string
		wantLogin string
	}{
		{"user_risk: target user, not the admin actor", ev{typ: "user.risk.detect", actorType: "User", actorID: "admin", actorLogin: "admin@x", targetUser: "u1"}, "u1", "u1@example.com"},
		{"user_risk: system actor, target user", ev{typ: "user.risk.detect", actorType: "SystemPrincipal", actorID: "sys", targetUser: "u1"}, "u1", "u1@example.com"},
		{"user_risk: no target, actor user", ev{typ: "user.risk.change", actorType: "User", actorID: "u2", actorLogin: "u2@x"}, "u2", "u2@x"},
		{"user_risk: no target, system actor", ev{typ: "user.risk.change", actorType: "SystemPrincipal", actorID: "sys"}, "", ""},
		{"entity_risk: target user", ev{typ: "policy.entity_risk.action", actorType: "User", actorID: "a", targetUser: "u3"}, "u3", "u3@example.com"},
		{"high_risk: actor", ev{typ: "user.session.start", risk: high, actorType: "User", actorID: "u4", actorLogin: "u4@x", targetUser: "other"}, "u4", "u4@x"},
		{"high_risk: actor type case-insensitive", ev{typ: "user.session.start", risk: high, actorType: "user", actorID: "u4", actorLogin: "u4@x"}, "u4", "u4@x"},
		{"high_risk: non-user actor", ev{typ: "system.api_token.create", risk: high, actorType: "PublicClientApp", actorID: "app", targetUser: "u5"}, "", ""},
		{"leaked_credentials: actor", ev{typ: "security.breached_credential.detected", actorType: "User", actorID: "u6", actorLogin: "u6@x"}, "u6", "u6@x"},
		{"threat_insight: never the actor", ev{typ: "security.threat.detected", actorType: "IP address", actorID: "1.2.3.4"}, "", ""},
		{"attack.start: no user", ev{typ: "security.attack.start", actorType: "User", actorID: "u7"}, "", ""},
		{"extra: actor", ev{typ: "user.account.lock", actorType: "User", actorID: "u8", actorLogin: "u8@x"}, "u8", "u8@x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := New([]string{"user.account.lock"}).Page([]json.RawMessage{tt.give.raw()}, testNow)
			require.Len(t, res.Kept, 1)
			require.Equal(t, tt.wantID, res.Kept[0].UserID)
			require.Equal(t, tt.wantLogin, res.Kept[0].UserLogin)
		})
	}
}

func TestDeadLetters(t *testing.T) {
	give := []json.RawMessage{
		json.RawMessage(`[1,2]`),
		json.RawMessage(`{"eventType":`),
		json.RawMessage(`null`),
		ev{uuid: "k", typ: "security.attack.start"}.raw(),
		json.RawMessage(``),
	}
	res := New(nil).Page(give, testNow)
	requireBalanced(t, len(give), res)
	require.Len(t, res.Kept, 1)
	require.Equal(t, []string{DeadLetterNotObject, DeadLetterInvalidJSON, DeadLetterNotObject, DeadLetterInvalidJSON},
		[]string{res.DeadLetters[0].Reason, res.DeadLetters[1].Reason, res.DeadLetters[2].Reason, res.DeadLetters[3].Reason})
	require.Equal(t, `{"eventType":`, string(res.DeadLetters[1].Payload))
	require.NotEmpty(t, res.DeadLetters[1].Detail)
	give[0][0] = 'X'
	require.Equal(t, `[1,2]`, string(res.DeadLetters[0].Payload), "payload is a copy")
}

func TestCounts(t *testing.T) {
	res := New(nil).Page(raws(
		ev{typ: "user.session.start"},
		ev{typ: "user.session.start", risk: "{level=MEDIUM}"},
		ev{typ: "user.session.start", risk: "{level=HIGH}"},
		ev{typ: "user.session.start"},
		ev{typ: "user.session.end"},
		ev{typ: "security.threat.detected"},
	), testNow)
	requireBalanced(t, 6, res)
	require.Equal(t, []Drop{
		{EventType: "user.session.start", Reason: ReasonNotRiskEvent, Count: 2},
		{EventType: "user.session.start", Reason: ReasonRiskBelowHigh, Count: 1},
		{EventType: "user.session.end", Reason: ReasonNotRiskEvent, Count: 1},
	}, res.Dropped)
	require.Equal(t, map[string]TypeCount{
		"user.session.start":       {Kept: 1, Dropped: 3},
		"user.session.end":         {Dropped: 1},
		"security.threat.detected": {Kept: 1},
	}, res.Counts)
	require.Equal(t, t0, res.NewestPublished)

	res = New(nil).Page(raws(ev{typ: "a", at: time.Hour}, ev{typ: "b", at: 2 * time.Hour}, ev{typ: "c"}), testNow)
	require.Equal(t, t0.Add(2*time.Hour), res.NewestPublished)
	res = New(nil).Page([]json.RawMessage{json.RawMessage(`{"eventType":"a","published":"redacted"}`)}, testNow)
	require.True(t, res.NewestPublished.IsZero(), "an unparseable published does not count")
}

func TestAttribution(t *testing.T) {
	minute := time.Minute
	type page []ev
	tests := []struct {
		name string
		give []page
		// want: per page, "kept-uuid=user" for every kept event and
		// "updated:uuid=user" for every updated event.
		want [][]string
	}{
		{"user event first, same page",
			[]page{{signIn("s1", "u1", "tx1", 0), threat("t1", "tx1", minute)}},
			[][]string{{"t1=u1"}}},
		{"threat first, same page: filled in place",
			[]page{{threat("t1", "tx1", 0), signIn("s1", "u1", "tx1", minute)}},
			[][]string{{"t1=u1"}}},
		{"threat first, user on a later page: Updated",
			[]page{{threat("t1", "tx1", 0)}, {signIn("s1", "u1", "tx1", minute)}},
			[][]string{{"t1="}, {"updated:t1=u1"}}},
		{"user first, threat on a later page",
			[]page{{signIn("s1", "u1", "tx1", 0)}, {threat("t1", "tx1", minute)}},
			[][]string{{}, {"t1=u1"}}},
		{"no user event: org-level",
			[]page{{threat("t1", "tx1", 0), signIn("s1", "u1", "tx2", 0)}},
			[][]string{{"t1="}}},
		{"no transaction: org-level",
			[]page{{threat("t1", "", 0), signIn("s1", "u1", "", 0)}},
			[][]string{{"t1="}}},
		{"non-user actor does not attribute",
			[]page{{threat("t1", "tx1", 0), ev{uuid: "a", typ: "app.oauth2.token.grant", actorType: "PublicClientApp", actorID: "app", tx: "tx1"}}},
			[][]string{{"t1="}}},
		{"attack.start never gets a user",
			[]page{{signIn("s1", "u1", "tx1", 0), ev{uuid: "a1", typ: TypeAttackStart, tx: "tx1"}, ev{uuid: "a2", typ: TypeAttackEnd, tx: "tx1"}}},
			[][]string{{"a1=", "a2="}}},
		{"outside the window (user later)",
			[]page{{threat("t1", "tx1", 0)}, {signIn("s1", "u1", "tx1", 16*minute)}},
			[][]string{{"t1="}, {}}},
		{"outside the window (user earlier)",
			[]page{{signIn("s1", "u1", "tx1", 0)}, {threat("t1", "tx1", 16*minute)}},
			[][]string{{}, {"t1="}}},
		{"first user of a transaction wins",
			[]page{{signIn("s1", "u1", "tx1", 0), signIn("s2", "u2", "tx1", minute), threat("t1", "tx1", 2*minute)}},
			[][]string{{"t1=u1"}}},
		{"several threats of one transaction, across pages",
			[]page{{threat("t1", "tx1", 0)}, {threat("t2", "tx1", minute)}, {signIn("s1", "u1", "tx1", 2*minute), threat("t3", "tx1", 3*minute)}},
			[][]string{{"t1="}, {"t2="}, {"updated:t1=u1", "updated:t2=u1", "t3=u1"}}},
		{"replayed threat held once",
			[]page{{threat("t1", "tx1", 0)}, {threat("t1", "tx1", 0)}, {signIn("s1", "u1", "tx1", minute)}},
			[][]string{{"t1="}, {"t1="}, {"updated:t1=u1"}}},
		{"attributed only once",
			[]page{{threat("t1", "tx1", 0)}, {signIn("s1", "u1", "tx1", minute)}, {signIn("s2", "u1", "tx1", minute)}},
			[][]string{{"t1="}, {"updated:t1=u1"}, {}}},
		{"the user event may be kept itself (high risk sign-in)",
			[]page{{threat("t1", "tx1", 0)}, {ev{uuid: "h1", typ: "user.session.start", risk: "{level=HIGH}", actorType: "User", actorID: "u1", actorLogin: "u1@example.com", tx: "tx1", at: minute}}},
			[][]string{{"t1="}, {"updated:t1=u1", "h1=u1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(nil)
			for i, p := range tt.give {
				res := c.Page(raws(p...), testNow)
				requireBalanced(t, len(p), res)
				got := []string{}
				for _, e := range res.Updated {
					got = append(got, "updated:"+e.ID+"="+e.UserID)
				}
				for _, e := range res.Kept {
					got = append(got, e.ID+"="+e.UserID)
				}
				require.ElementsMatch(t, tt.want[i], got, "page %d", i)
				for _, e := range res.Updated {
					require.Equal(t, e.UserID+"@example.com", e.UserLogin)
					require.NotEmpty(t, e.Raw)
				}
			}
		})
	}
}

func TestAttributionLRU(t *testing.T) {
	c := New(nil, WithMaxTransactions(2))
	// Three threat events of three transactions: tx1 is forgotten.
	res := c.Page(raws(threat("t1", "tx1", 0), threat("t2", "tx2", 0), threat("t3", "tx3", 0)), testNow)
	require.Len(t, res.Kept, 3)
	require.Equal(t, 2, c.att.len())
	res = c.Page(raws(signIn("s1", "u1", "tx1", 0)), testNow)
	require.Empty(t, res.Updated, "tx1 was evicted (its threat stays org-level)")
	// Learning tx1 evicted tx2, the least recently used; tx3 is still held.
	res = c.Page(raws(signIn("s2", "u2", "tx2", 0)), testNow)
	require.Empty(t, res.Updated)
	res = c.Page(raws(signIn("s1", "u1", "tx1", 0), signIn("s3", "u3", "tx3", 0)), testNow)
	require.Empty(t, res.Updated, "tx3 was evicted by tx2")
	require.Equal(t, 2, c.att.len())

	c = New(nil, WithMaxTransactions(2))
	c.Page(raws(threat("t1", "tx1", 0), threat("t2", "tx2", 0), threat("t3", "tx3", 0)), testNow)
	res = c.Page(raws(signIn("s3", "u3", "tx3", 0), signIn("s2", "u2", "tx2", 0)), testNow)
	got := []string{}
	for _, e := range res.Updated {
		got = append(got, e.ID+"="+e.UserID)
	}
	require.ElementsMatch(t, []string{"t3=u3", "t2=u2"}, got)

	// Using a transaction makes it most recent.
	c = New(nil, WithMaxTransactions(2))
	c.Page(raws(threat("t1", "tx1", 0), threat("t2", "tx2", 0)), testNow)
	c.Page(raws(threat("t1b", "tx1", 0), threat("t3", "tx3", 0)), testNow) // evicts tx2
	res = c.Page(raws(signIn("s1", "u1", "tx1", 0), signIn("s2", "u2", "tx2", 0)), testNow)
	got = got[:0]
	for _, e := range res.Updated {
		got = append(got, e.ID)
	}
	require.ElementsMatch(t, []string{"t1", "t1b"}, got)
}

func TestAttributionBounds(t *testing.T) {
	// Many transactions: state never exceeds the bound.
	c := New(nil, WithMaxTransactions(100))
	for p := 0; p < 20; p++ {
		var evs []ev
		for i := 0; i < 50; i++ {
			tx := fmt.Sprintf("tx%d-%d", p, i)
			evs = append(evs, threat("t"+tx, tx, 0), signIn("s"+tx, "u", tx+"x", 0))
		}
		c.Page(raws(evs...), testNow)
		require.LessOrEqual(t, c.att.len(), 100)
	}

	// Pending bytes bound.
	c = New(nil, WithMaxPendingBytes(3*(pendingOverhead+400)))
	var evs []ev
	for i := 0; i < 10; i++ {
		evs = append(evs, threat(fmt.Sprint("t", i), fmt.Sprint("tx", i), 0))
	}
	c.Page(raws(evs...), testNow)
	require.LessOrEqual(t, c.att.pendingBytes, 3*(pendingOverhead+400))
	require.Positive(t, c.att.pendingBytes)
	require.Less(t, c.att.len(), 10)

	// Time window: a transaction is forgotten once newer events are seen.
	c = New(nil)
	c.Page(raws(threat("t1", "tx1", 0)), testNow)
	c.Page(raws(ev{uuid: "x", typ: "user.session.end", at: 20 * time.Minute}), testNow)
	require.Equal(t, 0, c.att.len())
	require.Equal(t, 0, c.att.pendingBytes)

	// An event dated in the future does not expire everything.
	c = New(nil)
	c.Page(raws(threat("t1", "tx1", 0)), t0.Add(time.Minute))
	c.Page(raws(ev{uuid: "x", typ: "user.session.end", at: 365 * 24 * time.Hour}), t0.Add(2*time.Minute))
	res := c.Page(raws(signIn("s1", "u1", "tx1", time.Minute)), t0.Add(3*time.Minute))
	require.Len(t, res.Updated, 1)
}

func TestPageBigAndDeep(t *testing.T) {
	big := `{"uuid":"b1","eventType":"security.threat.detected","displayMessage":"` + strings.Repeat("x", 1<<20) + `"}`
	deep := `{"uuid":"d1","eventType":"user.session.start","junk":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`
	deepBad := `{"eventType":"x","junk":` + strings.Repeat("[", 100000) + `}`
	deepTop := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	give := []json.RawMessage{json.RawMessage(big), json.RawMessage(deep), json.RawMessage(deepBad), json.RawMessage(deepTop)}
	res := New(nil).Page(give, testNow)
	requireBalanced(t, 4, res)
	require.Len(t, res.Kept, 1)
	require.Equal(t, big, string(res.Kept[0].Raw))
	require.Equal(t, []Drop{{EventType: "user.session.start", Reason: ReasonNotRiskEvent, Count: 1}}, res.Dropped)
	require.Len(t, res.DeadLetters, 2)
}
