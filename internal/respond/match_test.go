package respond

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

func (h *harness) insert(table, columns string, rows ...[]any) {
	h.t.Helper()
	ctx := context.Background()
	b, err := h.st.Conn().PrepareBatch(ctx, "INSERT INTO `"+h.st.Database()+"`."+table+" ("+columns+")")
	require.NoError(h.t, err)
	for _, r := range rows {
		require.NoError(h.t, b.Append(r...))
	}
	require.NoError(h.t, b.Send())
}

func TestIdentityMatching(t *testing.T) {
	h := newHarness(t, nil)
	now := h.clock.Now()
	// A user riskpipe saw in the log but Okta's search does not return
	// (e.g. removed since): still a candidate, from org_users.
	h.insert("org_users", "tenant, user_id, user_login, first_seen, last_seen, version",
		[]any{"acme", "00ulegacy", "k.legacy@example.com", now, now, uint64(1)},
		[]any{"acme", joren, "joren.m@example.com", now, now, uint64(1)})
	ctx := context.Background()
	s := h.service(ctx)

	type want struct {
		user    string
		exact   bool
		conf    float64
		reason  string
		sources []string
	}
	for _, tc := range []struct {
		identity string
		first    *want // nil: no candidate
		n        int   // how many candidates at least
		exact    int   // how many exact
	}{
		{"joren.m@example.com", &want{joren, true, 1, "exact login", []string{"org_users", "okta"}}, 1, 1},
		{"JOREN.M@EXAMPLE.COM", &want{joren, true, 1, "exact login", nil}, 1, 1},
		{"jm@corp.example", &want{joren, true, 0.9, "exact secondEmail", []string{"okta"}}, 1, 1},
		{`CORP\joren.m`, &want{joren, false, 0.8, `DOMAIN\user equals the login's local part`, nil}, 1, 0},
		{"joren.m@corp.local", &want{joren, false, 0.7, "UPN local part equals the login's local part", nil}, 1, 0},
		{`CORP\jorenmaes`, &want{joren, false, 0.6, "name similarity 1.00", nil}, 1, 0},
		{`CORP\jsmith`, &want{jsmith, false, 0.8, `DOMAIN\user equals the login's local part`, nil}, 2, 0}, // ambiguous: jane's email is jsmith@
		{"k.legacy@example.com", &want{"00ulegacy", true, 1, "exact login", []string{"org_users"}}, 1, 1},
		{`CORP\nobody`, nil, 0, 0},
	} {
		t.Run(tc.identity, func(t *testing.T) {
			m, err := s.Match(ctx, "acme", tc.identity)
			require.NoError(t, err)
			require.Empty(t, m.Note, "no org claims a domain")
			cands := m.Candidates
			if tc.first == nil {
				require.Empty(t, cands)
				return
			}
			require.GreaterOrEqual(t, len(cands), tc.n, "%+v", cands)
			c := cands[0]
			require.Equal(t, tc.first.user, c.UserID, "%+v", cands)
			require.Equal(t, tc.first.exact, c.Exact)
			require.InDelta(t, tc.first.conf, c.Confidence, 0.001)
			require.Contains(t, c.Reasons, tc.first.reason)
			if tc.first.sources != nil {
				require.ElementsMatch(t, tc.first.sources, c.Sources)
			}
			exact := 0
			for i, c := range cands {
				if c.Exact {
					exact++
				}
				if i > 0 {
					require.GreaterOrEqual(t, cands[i-1].Confidence, c.Confidence, "best first")
				}
			}
			require.Equal(t, tc.exact, exact)
		})
	}
	if m, _ := s.Match(ctx, "acme", `CORP\jsmith`); len(m.Candidates) >= 2 {
		c := m.Candidates
		require.Equal(t, jane, c[1].UserID)
		require.Contains(t, c[1].Reasons, `DOMAIN\user equals the email's local part`)
	}
	_, err := s.Match(ctx, "acme", `x"y`)
	var ie *InputError
	require.ErrorAs(t, err, &ie)
}

// A proposal naming an identity: resolved only by exactly one exact match;
// otherwise needs_identity until an approver picks a candidate.
func TestProposeByIdentity(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	s := h.service(ctx)

	a, _, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionClearSessions, Identity: "jm@corp.example", By: "edr"})
	require.NoError(t, err)
	require.Equal(t, StateProposed, a.State)
	require.Equal(t, joren, a.UserID)
	require.Contains(t, a.Note, "exact secondEmail")

	b, _, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionSuspend, Identity: `CORP\jsmith`, By: "edr"})
	require.NoError(t, err)
	require.Equal(t, StateNeedsIdentity, b.State)
	require.Empty(t, b.UserID)
	require.Len(t, b.Candidates, 2)
	// The same identity again: evidence on the open action.
	b2, created, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionSuspend, Identity: `corp\JSMITH`, By: "edr"})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, b.ID, b2.ID)

	_, err = s.Approve(ctx, b.ID, "bob", "")
	var ie *InputError
	require.ErrorAs(t, err, &ie, "an approver must pick a candidate")
	_, err = s.Approve(ctx, b.ID, "bob", ada)
	require.ErrorAs(t, err, &ie, "only a candidate")
	b, err = s.Approve(ctx, b.ID, "bob", jane)
	require.NoError(t, err)
	require.Equal(t, StateApproved, b.State)
	require.Equal(t, jane, b.UserID)
	require.Equal(t, "jane.smith@example.com", b.UserLogin)
	s.Sweep(ctx)
	require.Equal(t, StateSucceeded, get(t, s, b.ID).State)

	c, _, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionSuspend, Identity: `CORP\nobody`, By: "edr"})
	require.NoError(t, err)
	require.Equal(t, StateNeedsIdentity, c.State)
	require.Empty(t, c.Candidates)
	c, err = s.Reject(ctx, c.ID, "bob", "unknown person")
	require.NoError(t, err)
	require.Equal(t, StateRejected, c.State)
}

func TestRules(t *testing.T) {
	h := newHarness(t, func(r *config.Response) {
		r.Mode = config.ResponseAuto // clear_sessions runs at once
		r.Rules = []config.ResponseRule{
			{Name: "critical", When: config.RuleWhen{Level: "critical"}, Propose: []config.ResponseAction{config.ActionClearSessions, config.ActionAddToGroup}},
			{Name: "leaked", When: config.RuleWhen{Category: "leaked_credentials"}, Propose: []config.ResponseAction{config.ActionClearSessions}},
			{Name: "itp", When: config.RuleWhen{EventType: "user.risk.detect", RiskLevel: "HIGH"}, Propose: []config.ResponseAction{config.ActionSuspend}},
		}
	})
	ctx := context.Background()
	now := h.clock.Now()
	h.insert("attack_factor_latest", "tenant, user_id, user_login, updated_at, score, percentile, level, signals, cause_event_id, cause_category, explanation, version",
		[]any{"acme", joren, "joren.m@example.com", now, 91.5, 99.0, "critical", uint32(4), "ev-crit", "threat_insight", "x", uint64(1)},
		[]any{"acme", ada, "ada@example.com", now, 40.0, 80.0, "medium", uint32(1), "ev-med", "threat_insight", "x", uint64(1)},
		[]any{"acme", admin, "root@example.com", now, 95.0, 99.9, "critical", uint32(4), "ev-adm", "threat_insight", "x", uint64(1)})
	ev := func(id, user, cat, typ, level string) []any {
		return []any{"acme", id, now, uint64(now.UnixMilli()), typ, cat, level, user, now, uint64(1)}
	}
	h.insert("risk_events", "tenant, event_id, published, published_ms, event_type, category, risk_level, user_id, ingested_at, version",
		ev("ev-leak1", cas, "leaked_credentials", "security.breached_credential.detected", ""),
		ev("ev-leak2", cas, "leaked_credentials", "security.breached_credential.detected", ""),
		ev("ev-itp", ada, "user_risk", "user.risk.detect", "HIGH"),
		ev("ev-itp-low", bea, "user_risk", "user.risk.detect", "LOW"))
	s := h.service(ctx)
	s.Sweep(ctx)
	list, _ := s.List(Filter{Tenants: []string{"acme"}})
	got := map[string]Action{}
	for _, a := range list {
		got[a.UserID+"/"+string(a.Action)] = a
	}
	require.Len(t, got, 4, "%v", got)
	require.Equal(t, StateApproved, got[joren+"/clear_sessions"].State, "auto: executes at the next sweep")
	require.Equal(t, "critical", got[joren+"/clear_sessions"].ProposedBy)
	require.Equal(t, []string{"ev-crit"}, got[joren+"/clear_sessions"].Evidence.EventIDs)
	require.InDelta(t, 91.5, got[joren+"/clear_sessions"].Evidence.Score, 0.01)
	require.Equal(t, StateProposed, got[joren+"/add_to_group"].State)
	require.ElementsMatch(t, []string{"ev-leak1", "ev-leak2"}, got[cas+"/clear_sessions"].Evidence.EventIDs)
	require.Equal(t, StateProposed, got[ada+"/suspend"].State)
	require.Equal(t, "itp", got[ada+"/suspend"].ProposedBy)
	_, ok := got[admin+"/clear_sessions"]
	require.False(t, ok, "protected admins are skipped")

	// The same rows again change nothing; a new event adds evidence.
	versions := map[string]uint64{}
	for _, a := range list {
		versions[a.ID] = a.Version
	}
	s.Sweep(ctx)
	a := get(t, s, got[ada+"/suspend"].ID)
	require.Equal(t, versions[a.ID], a.Version)
	h.insert("risk_events", "tenant, event_id, published, published_ms, event_type, category, risk_level, user_id, ingested_at, version",
		ev("ev-itp2", ada, "user_risk", "user.risk.detect", "HIGH"))
	s.Sweep(ctx)
	a = get(t, s, a.ID)
	require.Equal(t, []string{"ev-itp", "ev-itp2"}, a.Evidence.EventIDs)
	require.Equal(t, 2, a.Evidence.Proposals)
	require.Equal(t, StateSucceeded, get(t, s, got[joren+"/clear_sessions"].ID).State)

	// After an action is closed, the rule waits approval_ttl.
	_, err := s.Reject(ctx, a.ID, "bob", "")
	require.NoError(t, err)
	h.clock.Add(time.Minute)
	h.insert("risk_events", "tenant, event_id, published, published_ms, event_type, category, risk_level, user_id, ingested_at, version",
		ev("ev-itp3", ada, "user_risk", "user.risk.detect", "HIGH"))
	s.Sweep(ctx)
	list, _ = s.List(Filter{Tenants: []string{"acme"}, UserID: ada})
	require.Len(t, list, 1)
}
