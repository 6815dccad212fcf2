package respond

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
)

// withResponse returns the harness's tenant with its response settings
// changed by mutate (a copy: the harness keeps the one it started with).
func (h *harness) withResponse(mutate func(*config.Response)) config.Tenant {
	t := h.ten
	t.Response.Rules = append([]config.ResponseRule(nil), t.Response.Rules...)
	mutate(&t.Response)
	return t
}

// TestApplyModeOffAndOnWithOpenProposal: approve → off → approve while a
// proposal is open. Off: the proposal stays open, cannot be approved, an
// approved action does not run and Okta is not called; back on, the same
// proposal is approved and runs once.
func TestApplyModeOffAndOnWithOpenProposal(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	s := h.service(ctx)
	open := propose(t, s, config.ActionSuspend, joren, "alice")
	approved := propose(t, s, config.ActionClearSessions, ada, "alice")
	_, err := s.Approve(ctx, approved.ID, "bob", "")
	require.NoError(t, err)

	changed, err := s.Apply(ctx, []config.Tenant{h.withResponse(func(r *config.Response) { r.Mode = config.ResponseOff })})
	require.NoError(t, err)
	require.Equal(t, []string{"acme"}, changed)
	require.False(t, s.Enabled("acme"))
	_, err = s.Approve(ctx, open.ID, "bob", "")
	require.Equal(t, StateProposed, conflictState(t, err))
	s.Sweep(ctx)
	require.Equal(t, StateProposed, get(t, s, open.ID).State, "an open proposal stays open")
	a := get(t, s, approved.ID)
	require.Equal(t, StateFailed, a.State, "an approved action does not run once the mode is off")
	require.Contains(t, a.Error, "turned off")
	require.Empty(t, h.org.WriteCalls(), "nothing reached Okta")
	_, _, err = s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionSuspend, UserID: bea, By: "alice"})
	require.Error(t, err)

	changed, err = s.Apply(ctx, []config.Tenant{h.ten})
	require.NoError(t, err)
	require.Equal(t, []string{"acme"}, changed)
	_, err = s.Approve(ctx, open.ID, "bob", "")
	require.NoError(t, err)
	s.Sweep(ctx)
	require.Equal(t, StateSucceeded, get(t, s, open.ID).State)
	require.Equal(t, int64(1), h.writes(callSuspend))
	require.Zero(t, h.writes(callClear))
	u, _ := h.org.User(joren)
	require.Equal(t, oktasim.StatusSuspended, u.Status)

	// The same settings again change nothing.
	changed, err = s.Apply(ctx, []config.Tenant{h.ten})
	require.NoError(t, err)
	require.Empty(t, changed)
}

// TestApplyDryRunAfterApproval: an action approved in approve mode that
// has not run when the mode goes to dry_run runs as a dry run.
func TestApplyDryRunAfterApproval(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	s := h.service(ctx)
	a := propose(t, s, config.ActionSuspend, joren, "alice")
	require.False(t, a.DryRun)
	_, err := s.Approve(ctx, a.ID, "bob", "")
	require.NoError(t, err)
	_, err = s.Apply(ctx, []config.Tenant{h.withResponse(func(r *config.Response) { r.Mode = config.ResponseDryRun })})
	require.NoError(t, err)
	s.Sweep(ctx)
	a = get(t, s, a.ID)
	require.Equal(t, StateSucceeded, a.State)
	require.True(t, a.DryRun)
	require.Contains(t, a.Note, "dry_run")
	require.Empty(t, h.org.WriteCalls())
}

// TestApplyRules: changed rules apply from the next sweep to rows written
// since the last one; rows the old rules already saw are not proposed
// again, and a removed rule's open proposal stays.
func TestApplyRules(t *testing.T) {
	h := newHarness(t, func(r *config.Response) {
		r.Rules = []config.ResponseRule{{Name: "itp", When: config.RuleWhen{EventType: "user.risk.detect", RiskLevel: "HIGH"},
			Propose: []config.ResponseAction{config.ActionSuspend}}}
	})
	ctx := context.Background()
	ago := time.Duration(0)
	ev := func(id, user, cat, typ, level string) []any {
		now := h.clock.Now().Add(-ago)
		return []any{"acme", id, now, uint64(now.UnixMilli()), typ, cat, level, user, now, uint64(1)}
	}
	const cols = "tenant, event_id, published, published_ms, event_type, category, risk_level, user_id, ingested_at, version"
	h.insert("risk_events", cols, ev("ev-itp", ada, "user_risk", "user.risk.detect", "HIGH"))
	ago = 30 * time.Second // written before the rules' watermark (the newest row they saw)
	h.insert("risk_events", cols, ev("ev-leak", cas, "leaked_credentials", "security.breached_credential.detected", ""))
	ago = 0
	s := h.service(ctx)
	s.Sweep(ctx)
	list, _ := s.List(Filter{Tenants: []string{"acme"}})
	require.Len(t, list, 1)
	require.Equal(t, "itp", list[0].ProposedBy)
	itp := list[0].ID

	// The itp rule goes, a leaked-credentials rule comes.
	_, err := s.Apply(ctx, []config.Tenant{h.withResponse(func(r *config.Response) {
		r.Rules = []config.ResponseRule{{Name: "leaked", When: config.RuleWhen{Category: "leaked_credentials"},
			Propose: []config.ResponseAction{config.ActionClearSessions}}}
	})})
	require.NoError(t, err)
	h.clock.Add(time.Minute)
	s.Sweep(ctx)
	list, _ = s.List(Filter{Tenants: []string{"acme"}})
	require.Len(t, list, 1, "rows the old rules already saw are not proposed by the new ones")
	require.Equal(t, StateProposed, get(t, s, itp).State, "a removed rule's open proposal stays")

	h.insert("risk_events", cols, ev("ev-leak2", joren, "leaked_credentials", "security.breached_credential.detected", ""),
		ev("ev-itp2", joren, "user_risk", "user.risk.detect", "HIGH"))
	s.Sweep(ctx)
	list, _ = s.List(Filter{Tenants: []string{"acme"}, UserID: joren})
	require.Len(t, list, 1, "%+v", list)
	require.Equal(t, "leaked", list[0].ProposedBy)
	require.Equal(t, config.ActionClearSessions, list[0].Action)
}

// TestApplyAddAndRemoveTenant: a tenant added by a reload takes proposals
// at once; a removed one's actions leave memory and nothing of it runs;
// added again, its actions are back from ClickHouse.
func TestApplyAddAndRemoveTenant(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	s := h.service(ctx)
	other := h.ten
	other.Name = "acme2" // the same simulated org under a second name
	changed, err := s.Apply(ctx, []config.Tenant{h.ten, other})
	require.NoError(t, err)
	require.Equal(t, []string{"acme2"}, changed)
	a, created, err := s.Propose(ctx, Proposal{Tenant: "acme2", Action: config.ActionSuspend, UserID: joren, By: "alice"})
	require.NoError(t, err)
	require.True(t, created)
	_, err = s.Approve(ctx, a.ID, "bob", "")
	require.NoError(t, err)

	changed, err = s.Apply(ctx, []config.Tenant{h.ten})
	require.NoError(t, err)
	require.Equal(t, []string{"acme2"}, changed)
	_, ok := s.Get(a.ID)
	require.False(t, ok, "a removed tenant's actions leave memory")
	s.Sweep(ctx)
	require.Empty(t, h.org.WriteCalls(), "nothing of a removed tenant runs")
	_, _, err = s.Propose(ctx, Proposal{Tenant: "acme2", Action: config.ActionSuspend, UserID: joren, By: "alice"})
	var ie *InputError
	require.ErrorAs(t, err, &ie)

	_, err = s.Apply(ctx, []config.Tenant{h.ten, other})
	require.NoError(t, err)
	require.Equal(t, StateApproved, get(t, s, a.ID).State, "loaded again from response_actions")
	s.Sweep(ctx)
	require.Equal(t, StateSucceeded, get(t, s, a.ID).State)
	require.Equal(t, int64(1), h.writes(callSuspend))
}

// TestApplyProtectedBeforeCallAgain: an action left executing (a stop
// before the call) is called again only after the guard rails are checked again, as
// they are now: a user protected by a reload meanwhile is not acted on.
func TestApplyProtectedBeforeCallAgain(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	s := h.service(ctx)
	a := propose(t, s, config.ActionSuspend, joren, "alice")
	_, err := s.Approve(ctx, a.ID, "bob", "")
	require.NoError(t, err)
	// The process stops between recording executing and calling Okta.
	s.crash = func(p string) bool { return p == "before_call" }
	s.Sweep(ctx)
	s.crash = nil
	require.Equal(t, StateExecuting, get(t, s, a.ID).State)
	require.Empty(t, h.org.WriteCalls())

	u, ok := h.org.User(joren)
	require.True(t, ok)
	_, err = s.Apply(ctx, []config.Tenant{h.withResponse(func(r *config.Response) { r.Protected.Users = []string{u.Profile.Login} })})
	require.NoError(t, err)
	s.Sweep(ctx)
	a = get(t, s, a.ID)
	require.Equal(t, StateFailed, a.State)
	require.Contains(t, a.Error, "refused")
	require.Empty(t, h.org.WriteCalls(), "Okta was not called for a protected user")
	u, _ = h.org.User(joren)
	require.Equal(t, oktasim.StatusActive, u.Status)
}
