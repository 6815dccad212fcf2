package scenario

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)

// persistedAt is the persisted time the tests use for event i.
func persistedAt(i int64) time.Time { return t0.Add(time.Duration(i) * 50 * time.Millisecond) }

func newStream(t testing.TB, o Options) *Stream {
	t.Helper()
	s, err := New(o)
	require.NoError(t, err)
	return s
}

func demo(t testing.TB) *Stream {
	return newStream(t, Options{Org: "acme", Seed: 42, Scenario: ScenarioDemo})
}

// wire is the part of an event the tests look at.
type wire struct {
	UUID            string `json:"uuid"`
	Published       string `json:"published"`
	EventType       string `json:"eventType"`
	LegacyEventType *string
	Version         string `json:"version"`
	Severity        string `json:"severity"`
	DisplayMessage  string `json:"displayMessage"`
	Actor           struct {
		ID, Type, AlternateID, DisplayName string
	} `json:"actor"`
	Client struct {
		IPAddress *string `json:"ipAddress"`
	} `json:"client"`
	Outcome struct {
		Result string `json:"result"`
		Reason *string
	} `json:"outcome"`
	SecurityContext struct {
		IsProxy *bool `json:"isProxy"`
		Risk    *struct {
			Level         string   `json:"level"`
			PreviousLevel string   `json:"previousLevel"`
			Reasons       []string `json:"reasons"`
			DetectionName string   `json:"detectionName"`
			Issuer        string   `json:"issuer"`
		} `json:"risk"`
	} `json:"securityContext"`
	DebugContext struct {
		DebugData map[string]string `json:"debugData"`
	} `json:"debugContext"`
	Transaction struct {
		Type, ID string
	} `json:"transaction"`
	Request struct {
		IPChain []struct{ IP string } `json:"ipChain"`
	} `json:"request"`
	Target []struct {
		ID, Type, AlternateID, DisplayName string
		DetailEntry                        map[string]any
	} `json:"target"`
}

func decode(t testing.TB, raw []byte) wire {
	t.Helper()
	var w wire
	require.NoError(t, json.Unmarshal(raw, &w), "%s", raw)
	return w
}

func (w wire) targetOf(typ string) (id, login string, detail map[string]any) {
	for _, tg := range w.Target {
		if tg.Type == typ {
			return tg.ID, tg.AlternateID, tg.DetailEntry
		}
	}
	return "", "", nil
}

// levelRE extracts the level of a debugData.risk string; it must not match
// previousLevel.
var levelRE = regexp.MustCompile(`(?:^\{|, )level=(LOW|MEDIUM|HIGH)\b`)

// riskLevel is the highest level found in debugData.risk,
// debugData.logOnlySecurityData and securityContext.risk.
func riskLevel(t testing.TB, w wire) string {
	rank := map[string]int{"": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
	best := ""
	consider := func(l string) {
		if rank[l] > rank[best] {
			best = l
		}
	}
	if r, ok := w.DebugContext.DebugData["risk"]; ok {
		m := levelRE.FindStringSubmatch(r)
		if m != nil {
			consider(m[1])
		}
	}
	if lo, ok := w.DebugContext.DebugData["logOnlySecurityData"]; ok {
		var v struct {
			Risk struct{ Level string } `json:"risk"`
		}
		require.NoError(t, json.Unmarshal([]byte(lo), &v), lo)
		consider(v.Risk.Level)
	}
	if w.SecurityContext.Risk != nil {
		consider(w.SecurityContext.Risk.Level)
	}
	return best
}

// classify is the reference for Expect: risk event types by type, anything
// else by a HIGH level.
func classify(t testing.TB, w wire) string {
	switch w.EventType {
	case "user.risk.detect", "user.risk.change":
		return CategoryUserRisk
	case "policy.entity_risk.evaluate", "policy.entity_risk.action":
		return CategoryEntityRisk
	case "security.threat.detected", "security.attack.start", "security.attack.end":
		return CategoryThreatInsight
	case "security.breached_credential.detected":
		return CategoryLeakedCredentials
	}
	if riskLevel(t, w) == "HIGH" {
		return CategoryHighRisk
	}
	return ""
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		give Options
		want string
	}{
		{"no org", Options{Scenario: ScenarioQuiet}, "org is required"},
		{"org with quote", Options{Org: `ac"me`}, "org"},
		{"bad domain", Options{Org: "acme", Domain: "a b.com"}, "domain"},
		{"negative users", Options{Org: "acme", Users: -1}, "users"},
		{"unknown scenario", Options{Org: "acme", Scenario: "chaos"}, "unknown scenario"},
		{"demo too small", Options{Org: "acme", Users: 10, Scenario: ScenarioDemo}, "at least"},
		{"risk share too big", Options{Org: "acme", Scenario: ScenarioBench, RiskShare: 0.9}, "risk share"},
		{"risk share negative", Options{Org: "acme", Scenario: ScenarioBench, RiskShare: -0.1}, "risk share"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.give)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestNewDefaults(t *testing.T) {
	s := newStream(t, Options{Org: "acme"})
	require.Len(t, s.Users(), 500)
	require.Equal(t, ScenarioDemo, s.opt.Scenario)
	require.True(t, strings.HasSuffix(s.Users()[0].Login, "@acme.example.com"))

	b := newStream(t, Options{Org: "acme", Scenario: ScenarioBench})
	require.Equal(t, 0.02, b.opt.RiskShare)
}

func TestEventIsDeterministic(t *testing.T) {
	a := demo(t)
	b := demo(t)
	idx := []int64{0, 1, 2, 100, 151, 4999, 5000, 5381, 123456, 9_876_543_210}
	for _, i := range idx {
		ea, eb := a.Event(i, persistedAt(i)), b.Event(i, persistedAt(i))
		require.Equal(t, string(ea.Raw), string(eb.Raw), "event %d", i)
		require.Equal(t, ea.ID, eb.ID)
		require.Equal(t, ea.Published, eb.Published)
		// Asking again, out of order, changes nothing.
		require.Equal(t, string(ea.Raw), string(a.Event(i, persistedAt(i)).Raw))
	}

	// Concurrent callers get the same bytes (run with -race).
	want := make([]string, 6000)
	for i := range want {
		want[i] = string(a.Event(int64(i), persistedAt(int64(i))).Raw)
	}
	c := demo(t)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := len(want) - 1 - w; i >= 0; i -= 4 {
				if got := string(c.Event(int64(i), persistedAt(int64(i))).Raw); got != want[i] {
					t.Errorf("event %d differs under concurrency", i)
					return
				}
			}
		}(w)
	}
	wg.Wait()
}

func TestEventDependsOnOptions(t *testing.T) {
	base := Options{Org: "acme", Seed: 42, Scenario: ScenarioDemo}
	other := []Options{
		{Org: "acme", Seed: 43, Scenario: ScenarioDemo},
		{Org: "globex", Seed: 42, Scenario: ScenarioDemo},
	}
	a := newStream(t, base)
	for _, o := range other {
		b := newStream(t, o)
		same := 0
		for i := int64(0); i < 200; i++ {
			ea, eb := a.Event(i, persistedAt(i)), b.Event(i, persistedAt(i))
			if string(ea.Raw) == string(eb.Raw) {
				same++
			}
			require.NotEqual(t, ea.ID, eb.ID, "uuid %d shared across %+v", i, o)
		}
		require.Zero(t, same, "%+v", o)
		require.NotEqual(t, a.Users()[0].ID, b.Users()[0].ID)
	}
	// The persisted time only moves published.
	e1, e2 := a.Event(7, t0), a.Event(7, t0.Add(time.Hour))
	require.Equal(t, e1.ID, e2.ID)
	require.Equal(t, time.Hour, e2.Published.Sub(e1.Published))
}

// noContext are the event types Okta fires from its internal context: no
// client, no request, hence smaller than the others.
var noContext = map[string]bool{"security.attack.start": true, "security.attack.end": true}

// topLevel are the members every System Log event has.
var topLevel = []string{"uuid", "published", "eventType", "legacyEventType", "version", "severity",
	"displayMessage", "actor", "client", "device", "authenticationContext", "outcome",
	"securityContext", "debugContext", "transaction", "request", "target"}

func TestEventsAreValidAndRealSized(t *testing.T) {
	for _, sc := range []string{ScenarioQuiet, ScenarioDemo, ScenarioBench} {
		t.Run(sc, func(t *testing.T) {
			s := newStream(t, Options{Org: "acme", Seed: 7, Scenario: sc})
			var sizes []int
			for i := int64(0); i < 20000; i++ {
				e := s.Event(i, persistedAt(i))
				require.True(t, json.Valid(e.Raw), "event %d: %s", i, e.Raw)
				var top map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(e.Raw, &top))
				for _, k := range topLevel {
					if _, ok := top[k]; !ok {
						t.Fatalf("event %d has no %q: %s", i, k, e.Raw)
					}
				}
				w := decode(t, e.Raw)
				if w.Version != "0" || w.Transaction.ID == "" || (w.Transaction.Type != "WEB" && w.Transaction.Type != "JOB") {
					t.Fatalf("event %d: version %q transaction %+v", i, w.Version, w.Transaction)
				}
				if len(e.Raw) > 3072 {
					t.Fatalf("event %d (%s): %d bytes", i, w.EventType, len(e.Raw))
				}
				if !noContext[w.EventType] {
					if len(e.Raw) < 1500 {
						t.Fatalf("event %d (%s): %d bytes", i, w.EventType, len(e.Raw))
					}
					if w.Client.IPAddress == nil || len(w.Request.IPChain) != 1 || *w.Client.IPAddress != w.Request.IPChain[0].IP {
						t.Fatalf("event %d: client ip %v, ipChain %v", i, w.Client.IPAddress, w.Request.IPChain)
					}
				}
				sizes = append(sizes, len(e.Raw))
			}
			sort.Ints(sizes)
			med := sizes[len(sizes)/2]
			require.True(t, med >= 2000 && med <= 2900, "median size %d", med)
		})
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUUIDsAreUnique(t *testing.T) {
	s := demo(t)
	seen := make(map[string]int64, 200_000)
	for i := int64(0); i < 200_000; i++ {
		e := s.Event(i, persistedAt(i))
		if j, dup := seen[e.ID]; dup {
			t.Fatalf("events %d and %d share uuid %s", j, i, e.ID)
		}
		seen[e.ID] = i
		if i%997 == 0 {
			require.Regexp(t, uuidRE, e.ID)
			require.Equal(t, e.ID, decode(t, e.Raw).UUID)
		}
	}
}

func TestPublishedIsShortlyBeforePersisted(t *testing.T) {
	s := demo(t)
	late := 0
	const n = 20000
	for i := int64(0); i < n; i++ {
		p := persistedAt(i).Add(123456 * time.Nanosecond)
		e := s.Event(i, p)
		w := decode(t, e.Raw)
		got, err := time.Parse("2006-01-02T15:04:05.000Z", w.Published)
		require.NoError(t, err, w.Published)
		require.True(t, got.Equal(e.Published), "%s vs %s", got, e.Published)
		require.Equal(t, e.Published, s.Published(i, p))
		require.Equal(t, time.UTC, e.Published.Location())
		lag := p.Sub(e.Published)
		require.True(t, lag >= 0 && lag <= 30*time.Second, "event %d lag %s", i, lag)
		if lag > 5*time.Second {
			late++
		}
	}
	require.InDelta(t, 0.03, float64(late)/n, 0.01, "late share")
}

func TestDemoHasEveryScenarioInFirstCycle(t *testing.T) {
	s := demo(t)
	types := map[string]int{}
	cats := map[string]int{}
	for i := int64(0); i < DemoPeriod; i++ {
		w := decode(t, s.Event(i, persistedAt(i)).Raw)
		types[w.EventType]++
		want := classify(t, w)
		require.Equal(t, want, s.Expect(i), "event %d (%s)", i, w.EventType)
		cats[want]++
	}
	for _, et := range []string{
		"security.attack.start", "security.attack.end", "security.threat.detected",
		"security.breached_credential.detected", "user.risk.detect", "user.risk.change",
		"policy.entity_risk.evaluate", "policy.entity_risk.action", "user.lifecycle.create",
		"user.lifecycle.activate", "group.user_membership.add", "application.user_membership.add",
		"user.session.start", "user.session.end", "user.session.clear", "user.authentication.sso",
		"user.authentication.auth_via_mfa", "policy.evaluate_sign_on", "app.oauth2.as.token.grant.access_token",
		"app.oauth2.token.grant.access_token", "system.org.rate_limit.warning",
	} {
		require.Positive(t, types[et], et)
	}
	require.Equal(t, map[string]int{
		"":                        DemoPeriod - 86,
		CategoryThreatInsight:     numThreat + 2,
		CategoryLeakedCredentials: numLeaked,
		CategoryUserRisk:          2*numITP + (numITP - numITPSticky),
		CategoryEntityRisk:        2 * numITP,
		CategoryHighRisk:          2*numHigh + numHires,
	}, cats)
}

func TestExpectMatchesEventsLaterOn(t *testing.T) {
	for _, sc := range []string{ScenarioQuiet, ScenarioDemo, ScenarioBench} {
		t.Run(sc, func(t *testing.T) {
			s := newStream(t, Options{Org: "initech", Seed: 3, Scenario: sc, RiskShare: 0.05})
			for _, start := range []int64{5000, 1_000_000} {
				for i := start; i < start+DemoPeriod; i++ {
					w := decode(t, s.Event(i, persistedAt(i)).Raw)
					require.Equal(t, classify(t, w), s.Expect(i), "event %d (%s)", i, w.EventType)
				}
			}
		})
	}
}

func TestRiskShare(t *testing.T) {
	share := func(s *Stream, n int64) float64 {
		kept := 0
		for i := int64(0); i < n; i++ {
			if s.Expect(i) != "" {
				kept++
			}
		}
		return float64(kept) / float64(n)
	}
	d := share(demo(t), 50_000)
	require.True(t, d >= 0.01 && d <= 0.03, "demo risk share %v", d)
	require.Zero(t, share(newStream(t, Options{Org: "acme", Scenario: ScenarioQuiet}), 50_000))

	for _, rs := range []float64{0.02, 0.005, 0.1} {
		b := newStream(t, Options{Org: "acme", Scenario: ScenarioBench, RiskShare: rs})
		require.InDelta(t, rs, share(b, 100_000), 0.0001, "bench %v", rs)
		// Spread evenly: any window of 1000 events holds about rs·1000.
		w := 0
		for i := int64(50_000); i < 51_000; i++ {
			if b.Expect(i) != "" {
				w++
			}
		}
		require.InDelta(t, rs*1000, float64(w), 1.0)
	}
}

func TestQuietNeverHigh(t *testing.T) {
	s := newStream(t, Options{Org: "acme", Seed: 9, Scenario: ScenarioQuiet})
	levels := map[string]int{}
	for i := int64(0); i < 30000; i++ {
		w := decode(t, s.Event(i, persistedAt(i)).Raw)
		require.Empty(t, classify(t, w), "event %d", i)
		if ts, ok := w.DebugContext.DebugData["threatSuspected"]; ok {
			require.Equal(t, "false", ts, "event %d", i)
		}
		levels[riskLevel(t, w)]++
	}
	// Normal sign-ins carry LOW and MEDIUM, or nothing.
	require.Positive(t, levels["LOW"])
	require.Positive(t, levels["MEDIUM"])
	require.Positive(t, levels[""])
	require.Zero(t, levels["HIGH"])
}

// Okta's formats (section 4 of okta-system-log-facts.md).
var (
	riskKey     = `(?:reasons|level|previousLevel|detectionName|issuer)`
	riskRE      = regexp.MustCompile(`^\{` + riskKey + `=[^=]+(?:, ` + riskKey + `=[^=]+)*\}$`)
	itpRiskRE   = regexp.MustCompile(`^\{previousLevel=(LOW|MEDIUM|HIGH), level=(LOW|MEDIUM|HIGH), detectionName=[^=,]+, reasons=[^=]+, issuer=OKTA\}$`)
	behaviorKey = `(?:New Geo-Location|New Device|New IP|New State|New Country|Velocity|New City)=(?:POSITIVE|NEGATIVE|UNKNOWN|BAD_REQUEST)`
	behaviorsRE = regexp.MustCompile(`^\{` + behaviorKey + `(?:, ` + behaviorKey + `)*\}$`)
)

func TestRiskStringsMatchOktaFormat(t *testing.T) {
	s := demo(t)
	seen := map[string]bool{}
	for i := int64(0); i < 2*DemoPeriod; i++ {
		w := decode(t, s.Event(i, persistedAt(i)).Raw)
		dd := w.DebugContext.DebugData
		if r, ok := dd["risk"]; ok {
			require.Regexp(t, riskRE, r, "event %d", i)
			m := levelRE.FindStringSubmatch(r)
			require.NotNil(t, m, r)
			if strings.HasPrefix(w.EventType, "user.risk.") || strings.HasPrefix(w.EventType, "policy.entity_risk.") {
				require.Regexp(t, itpRiskRE, r)
				require.Equal(t, itpRiskRE.FindStringSubmatch(r)[2], m[1], "level, not previousLevel")
				sc := w.SecurityContext.Risk
				require.NotNil(t, sc)
				require.Equal(t, m[1], sc.Level)
				require.Equal(t, "OKTA", sc.Issuer)
				require.NotEmpty(t, sc.PreviousLevel)
				require.NotEmpty(t, sc.DetectionName)
				require.Len(t, sc.Reasons, 1)
			}
			seen[r] = true
		}
		if b, ok := dd["behaviors"]; ok {
			require.Regexp(t, behaviorsRE, b, "event %d", i)
		}
		if lo, ok := dd["logOnlySecurityData"]; ok {
			var v struct {
				Risk      map[string]string `json:"risk"`
				Behaviors map[string]string `json:"behaviors"`
			}
			require.NoError(t, json.Unmarshal([]byte(lo), &v), lo)
			require.NotNil(t, v.Risk)
			require.NotNil(t, v.Behaviors)
		}
		if td, ok := dd["threatDetections"]; ok {
			var v map[string]string
			require.NoError(t, json.Unmarshal([]byte(td), &v), td)
			require.Equal(t, "HIGH", v["Password Spray"])
		}
		require.Contains(t, []string{"true", "false", ""}, dd["threatSuspected"])
	}
	for _, r := range []string{
		"{reasons=Anomalous Location, Anomalous Device, level=HIGH}",
		"{reasons=Anomalous Device, level=MEDIUM}",
		"{level=LOW}",
		"{reasons=New Device, New IP, level=HIGH}",
		"{previousLevel=LOW, level=MEDIUM, detectionName=Session Influenced User Risk, reasons=Associated sessionId is suspected to be hijacked, issuer=OKTA}",
	} {
		require.True(t, seen[r], "no event carries %q", r)
	}
}

func TestThreatAttributionByTransaction(t *testing.T) {
	s := demo(t)
	truth := s.Truth()
	victims := map[string]bool{}
	for _, u := range truth.SprayVictims {
		victims[u.ID] = true
	}
	sprayIPs := map[string]bool{}
	for _, ip := range truth.SprayIPs {
		sprayIPs[ip] = true
	}
	for cycle := int64(0); cycle < 2; cycle++ {
		allowTx := map[string]bool{}
		startsByTx := map[string]wire{}
		outcomes := map[string]int{}
		for i := cycle * DemoPeriod; i < (cycle+1)*DemoPeriod; i++ {
			w := decode(t, s.Event(i, persistedAt(i)).Raw)
			switch w.EventType {
			case "security.threat.detected":
				require.Equal(t, "IP address", w.Actor.Type)
				require.True(t, sprayIPs[w.Actor.ID], w.Actor.ID)
				require.Equal(t, "true", w.DebugContext.DebugData["threatSuspected"])
				require.True(t, *w.SecurityContext.IsProxy)
				require.Empty(t, w.Target)
				outcomes[w.Outcome.Result]++
				if w.Outcome.Result == "ALLOW" {
					allowTx[w.Transaction.ID] = true
				}
			case "security.attack.start", "security.attack.end":
				require.Equal(t, "SystemPrincipal", w.Actor.Type)
				require.Nil(t, w.Client.IPAddress)
				require.Empty(t, w.Request.IPChain)
			case "user.session.start":
				startsByTx[w.Transaction.ID] = w
			}
		}
		require.Len(t, allowTx, numSprayVict)
		require.Positive(t, outcomes["DENY"])
		require.Positive(t, outcomes["RATE_LIMIT"])
		attributed := map[string]bool{}
		for tx := range allowTx {
			w, ok := startsByTx[tx]
			require.True(t, ok, "no user.session.start shares transaction %s", tx)
			require.Equal(t, "SUCCESS", w.Outcome.Result)
			require.True(t, victims[w.Actor.ID], "%s is not a spray victim", w.Actor.AlternateID)
			require.True(t, sprayIPs[*w.Client.IPAddress])
			require.Equal(t, tx, w.DebugContext.DebugData["requestId"])
			attributed[w.Actor.ID] = true
		}
		require.Len(t, attributed, numSprayVict)
	}
}

func TestTruthUsersAppearInTheirEvents(t *testing.T) {
	s := demo(t)
	truth := s.Truth()
	require.Len(t, truth.SprayVictims, numSprayVict)
	require.Len(t, truth.SprayTargets, maxSprayTarget)
	require.Len(t, truth.LeakedCredentialUsers, numLeaked)
	require.Len(t, truth.ITPHighUsers, numITPSticky)
	require.Len(t, truth.ITPRecoveredUsers, numITP-numITPSticky)
	require.Len(t, truth.HighRiskSignInUsers, numHigh)
	require.Len(t, truth.FirstSignInHighUsers, numHires)
	require.Len(t, truth.SprayIPs, numSprayIPs)
	require.Equal(t, int64(DemoPeriod), truth.Period)

	// Disjoint roles, no admin among them, all in the population except the
	// new hires.
	pop := map[string]bool{}
	for _, u := range s.Users() {
		pop[u.ID] = true
	}
	role := map[string]string{}
	for name, set := range map[string][]User{
		"spray": truth.SprayVictims, "target": truth.SprayTargets, "leaked": truth.LeakedCredentialUsers,
		"itp": truth.ITPHighUsers, "recovered": truth.ITPRecoveredUsers, "high": truth.HighRiskSignInUsers,
		"admin": truth.Admins, "first": truth.FirstSignInHighUsers,
	} {
		for _, u := range set {
			require.NotContains(t, role, u.ID, "%s is %s and %s", u.Login, role[u.ID], name)
			role[u.ID] = name
			require.Equal(t, name != "first", pop[u.ID], "%s (%s) in population", u.Login, name)
		}
	}

	for cycle := int64(0); cycle < 2; cycle++ {
		lastLevel := map[string]string{} // ITP: user → level of the last user.risk.* event
		firstPrev := map[string]string{} // ITP: user → previousLevel of the first
		terminated := map[string]bool{}
		breached := map[string]bool{}
		highStart := map[string]bool{}
		created := map[string]int64{}
		firstHigh := map[string]bool{}
		for i := cycle * DemoPeriod; i < (cycle+1)*DemoPeriod; i++ {
			w := decode(t, s.Event(i, persistedAt(i)).Raw)
			uid, _, _ := w.targetOf("User")
			switch w.EventType {
			case "user.risk.detect", "user.risk.change":
				require.NotEmpty(t, uid)
				if _, ok := firstPrev[uid]; !ok {
					firstPrev[uid] = w.SecurityContext.Risk.PreviousLevel
				}
				lastLevel[uid] = w.SecurityContext.Risk.Level
			case "policy.entity_risk.action":
				_, _, detail := w.targetOf("Rule")
				require.Equal(t, "TERMINATE_ALL_SESSIONS", detail["RuleAction"])
				terminated[uid] = true
			case "security.breached_credential.detected":
				require.Equal(t, "WARN", w.Severity)
				require.Equal(t, "SUCCESS", w.Outcome.Result)
				require.Equal(t, "AuthenticatorEnrollment", w.Target[0].Type)
				require.Equal(t, "Password", w.Target[0].DisplayName)
				require.True(t, strings.HasPrefix(w.DisplayMessage, w.Actor.AlternateID+" - "), w.DisplayMessage)
				require.Regexp(t, `^\{reasons=Anomalous Location, Anomalous Device, level=HIGH\}$`, w.DebugContext.DebugData["risk"])
				breached[w.Actor.ID] = true
			case "user.lifecycle.create":
				created[uid] = i
			case "user.session.start":
				if riskLevel(t, w) == "HIGH" {
					if at, ok := created[w.Actor.ID]; ok && at < i {
						firstHigh[w.Actor.ID] = true
					} else {
						highStart[w.Actor.ID] = true
					}
				}
			}
		}
		ids := func(us []User) []string {
			out := make([]string, len(us))
			for k, u := range us {
				out[k] = u.ID
			}
			sort.Strings(out)
			return out
		}
		keys := func(m map[string]bool) []string {
			out := make([]string, 0, len(m))
			for k := range m {
				out = append(out, k)
			}
			sort.Strings(out)
			return out
		}
		require.Equal(t, ids(truth.LeakedCredentialUsers), keys(breached))
		require.Equal(t, ids(truth.HighRiskSignInUsers), keys(highStart))
		require.Equal(t, ids(s.NewHires(cycle)), keys(firstHigh))
		itpAll := append(append([]User(nil), truth.ITPHighUsers...), truth.ITPRecoveredUsers...)
		require.Equal(t, ids(itpAll), keys(terminated))
		for _, u := range truth.ITPHighUsers {
			require.Equal(t, "HIGH", lastLevel[u.ID])
			want := "LOW"
			if cycle > 0 {
				want = "HIGH" // they stayed HIGH since the last cycle
			}
			require.Equal(t, want, firstPrev[u.ID])
		}
		for _, u := range truth.ITPRecoveredUsers {
			require.Equal(t, "LOW", lastLevel[u.ID])
			require.Equal(t, "LOW", firstPrev[u.ID])
		}
	}
	require.Equal(t, truth.FirstSignInHighUsers, s.NewHires(0))
	require.NotEqual(t, s.NewHires(0), s.NewHires(1))
	for _, u := range s.NewHires(1) {
		require.False(t, pop[u.ID])
	}
}

var (
	userIDRE = regexp.MustCompile(`^00u[0-9A-Za-z]{17}$`)
	loginRE  = regexp.MustCompile(`^[a-z]+\.[a-z]+[0-9]*@acme\.example\.com$`)
)

func TestUsers(t *testing.T) {
	s := newStream(t, Options{Org: "acme", Seed: 1, Users: 3000, Scenario: ScenarioQuiet})
	users := s.Users()
	require.Len(t, users, 3000)
	ids, logins := map[string]bool{}, map[string]bool{}
	for _, u := range users {
		require.Regexp(t, userIDRE, u.ID)
		require.Regexp(t, loginRE, u.Login)
		require.NotContains(t, ids, u.ID)
		require.NotContains(t, logins, u.Login)
		ids[u.ID], logins[u.Login] = true, true
		first, last, _ := strings.Cut(u.Name, " ")
		require.True(t, strings.HasPrefix(u.Login, strings.ToLower(first)+"."+strings.ToLower(last)), u)
	}
	// Users returns a copy.
	users[0].ID = "x"
	require.NotEqual(t, "x", s.Users()[0].ID)
	// Quiet and bench have no truth.
	require.Empty(t, s.Truth().SprayVictims)
	require.Nil(t, s.NewHires(0))

	// Events name population users only (quiet has no new hires).
	for i := int64(0); i < 2000; i++ {
		w := decode(t, s.Event(i, persistedAt(i)).Raw)
		if w.Actor.Type == "User" {
			require.True(t, ids[w.Actor.ID], "event %d actor %s", i, w.Actor.ID)
		}
	}
}

func TestNegativeIndex(t *testing.T) {
	s := demo(t)
	require.Equal(t, string(s.Event(100, t0).Raw), string(s.Event(-100, t0).Raw))
	require.Equal(t, s.Expect(100), s.Expect(-100))
}

func TestDemoWithFewestUsers(t *testing.T) {
	s := newStream(t, Options{Org: "tiny", Seed: 5, Users: minDemoUsers, Scenario: ScenarioDemo})
	truth := s.Truth()
	require.Len(t, truth.SprayTargets, minDemoUsers-numAdmins-numSprayVict-numLeaked-numITP-numHigh)
	for i := int64(0); i < 2*DemoPeriod; i++ {
		w := decode(t, s.Event(i, persistedAt(i)).Raw)
		require.Equal(t, classify(t, w), s.Expect(i), "event %d (%s)", i, w.EventType)
	}
}
