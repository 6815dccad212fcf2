package respond

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
)

func conflictState(t *testing.T, err error) State {
	t.Helper()
	var ce *ConflictError
	require.ErrorAs(t, err, &ce)
	return ce.State
}

func TestLifecycle(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	s := h.service(ctx)

	// proposed → approved → executing → succeeded, verified, → reverted.
	a := propose(t, s, config.ActionSuspend, joren, "alice")
	require.Equal(t, StateProposed, a.State)
	require.Equal(t, "joren.m@example.com", a.UserLogin)
	require.Equal(t, a.CreatedAt.Add(24*time.Hour), a.ExpiresAt)
	_, err := s.Revert(ctx, a.ID, "bob")
	require.Equal(t, StateProposed, conflictState(t, err))

	a, err = s.Approve(ctx, a.ID, "bob", "")
	require.NoError(t, err)
	require.Equal(t, StateApproved, a.State)
	require.Equal(t, "bob", a.DecidedBy)
	_, err = s.Approve(ctx, a.ID, "carol", "")
	require.Equal(t, StateApproved, conflictState(t, err))
	_, err = s.Reject(ctx, a.ID, "carol", "no")
	require.Equal(t, StateApproved, conflictState(t, err))

	s.Sweep(ctx)
	a = get(t, s, a.ID)
	require.Equal(t, StateSucceeded, a.State, a.Error)
	require.Equal(t, 200, a.OktaStatus)
	require.NotEmpty(t, a.OktaRequestID)
	require.NotNil(t, a.ExecutedAt)
	u, _ := h.org.User(joren)
	require.Equal(t, oktasim.StatusSuspended, u.Status)
	// The sweep that executed it also looked in the System Log.
	require.NotNil(t, a.VerifiedAt, a.Note)
	require.NotEmpty(t, a.VerifyEventID)
	require.Contains(t, a.Note, "user.lifecycle.suspend")

	_, err = s.Approve(ctx, a.ID, "carol", "")
	require.Equal(t, StateSucceeded, conflictState(t, err))
	a, err = s.Revert(ctx, a.ID, "carol")
	require.NoError(t, err)
	require.Equal(t, StateReverted, a.State)
	require.Equal(t, "carol", a.RevertedBy)
	u, _ = h.org.User(joren)
	require.Equal(t, oktasim.StatusActive, u.Status)
	_, err = s.Revert(ctx, a.ID, "carol")
	require.Equal(t, StateReverted, conflictState(t, err))
	require.Equal(t, []string{"proposed", "approved", "executing", "succeeded", "succeeded", "reverted"}, h.auditStates(a.ID),
		"every step is a row; the second succeeded row records verified_at")

	// clear_sessions cannot be reverted.
	c := propose(t, s, config.ActionClearSessions, ada, "alice")
	_, err = s.Approve(ctx, c.ID, "bob", "")
	require.NoError(t, err)
	s.Sweep(ctx)
	c = get(t, s, c.ID)
	require.Equal(t, StateSucceeded, c.State, c.Error)
	_, err = s.Revert(ctx, c.ID, "bob")
	require.Equal(t, StateSucceeded, conflictState(t, err))
	u, _ = h.org.User(ada)
	require.Zero(t, u.Sessions)
	require.Zero(t, u.OAuthTokens, "oauthTokens=true")
	require.Equal(t, 1, u.RememberedFactors, "forgetDevices=false by default")

	// proposed → rejected.
	r := propose(t, s, config.ActionAddToGroup, ada, "alice")
	require.Equal(t, grp, r.GroupID, "restricted_group_id")
	r, err = s.Reject(ctx, r.ID, "bob", "false positive")
	require.NoError(t, err)
	require.Equal(t, StateRejected, r.State)
	require.Contains(t, r.Note, "false positive")
	_, err = s.Approve(ctx, r.ID, "bob", "")
	require.Equal(t, StateRejected, conflictState(t, err))

	_, err = s.Approve(ctx, "act_nope", "bob", "")
	require.ErrorIs(t, err, ErrNotFound)

	// A restart sees the same actions.
	s2 := h.service(ctx)
	require.Equal(t, get(t, s, a.ID), get(t, s2, a.ID))
	list, next := s2.List(Filter{Tenants: []string{"acme"}})
	require.Len(t, list, 3)
	require.Empty(t, next)
	list, next = s2.List(Filter{Tenants: []string{"acme"}, Limit: 2})
	require.Len(t, list, 2)
	rest, _ := s2.List(Filter{Tenants: []string{"acme"}, After: next})
	require.Len(t, rest, 1)
	none, _ := s2.List(Filter{Tenants: []string{"globex"}})
	require.Empty(t, none)
}

func TestFourEyes(t *testing.T) {
	for _, fourEyes := range []bool{true, false} {
		h := newHarness(t, func(r *config.Response) { r.FourEyes = fourEyes })
		ctx := context.Background()
		s := h.service(ctx)
		a := propose(t, s, config.ActionClearSessions, joren, "alice")
		_, err := s.Approve(ctx, a.ID, "alice", "")
		if fourEyes {
			var fe *ForbiddenError
			require.ErrorAs(t, err, &fe)
			require.Contains(t, fe.Msg, "four eyes")
			require.Equal(t, StateProposed, get(t, s, a.ID).State)
		} else {
			require.NoError(t, err)
		}
	}
}

func TestExpiry(t *testing.T) {
	h := newHarness(t, func(r *config.Response) { r.ApprovalTTL = time.Hour })
	ctx := context.Background()
	s := h.service(ctx)
	a := propose(t, s, config.ActionClearSessions, joren, "alice")
	b := propose(t, s, config.ActionSuspend, joren, "alice")
	h.clock.Add(59 * time.Minute)
	s.Sweep(ctx)
	require.Equal(t, StateProposed, get(t, s, a.ID).State)
	h.clock.Add(time.Minute)
	// Approving past the expiry, before a sweep noticed: 409 expired.
	_, err := s.Approve(ctx, b.ID, "bob", "")
	require.Equal(t, StateExpired, conflictState(t, err))
	s.Sweep(ctx)
	require.Equal(t, StateExpired, get(t, s, a.ID).State)
	_, err = s.Reject(ctx, a.ID, "bob", "")
	require.Equal(t, StateExpired, conflictState(t, err))
	require.Empty(t, h.org.WriteCalls())
}

func TestProtected(t *testing.T) {
	h := newHarness(t, func(r *config.Response) { r.Protected.Users = []string{"ADA@example.com"} })
	ctx := context.Background()
	s := h.service(ctx)
	for _, tc := range []struct{ user, why string }{
		{ada, "protected.users"},
		{bea, "protected group " + vips},
		{admin, "ORG_ADMIN"},
	} {
		_, _, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionSuspend, UserID: tc.user, By: "alice"})
		var fe *ForbiddenError
		require.ErrorAs(t, err, &fe, tc.user)
		require.Contains(t, fe.Msg, tc.why)
	}
	// Protected after the proposal: refused at approval, and at execution.
	a := propose(t, s, config.ActionSuspend, cas, "alice")
	b := propose(t, s, config.ActionClearSessions, cas, "alice")
	b, err := s.Approve(ctx, b.ID, "bob", "")
	require.NoError(t, err)
	require.NoError(t, h.org.AddGroup(oktasim.Group{ID: "00gnewvip", Name: "new"}))
	h.ten.Response.Protected.Groups = append(h.ten.Response.Protected.Groups, "00gnewvip")
	s = h.service(ctx) // the new config
	w := writerFor(t, h)
	_, err = w.AddToGroup(ctx, "00gnewvip", cas)
	require.NoError(t, err)
	_, err = s.Approve(ctx, a.ID, "bob", "")
	var fe *ForbiddenError
	require.ErrorAs(t, err, &fe)
	s.Sweep(ctx)
	b = get(t, s, b.ID)
	require.Equal(t, StateFailed, b.State)
	require.Contains(t, b.Error, "protected group 00gnewvip")
	require.Zero(t, h.writes(callClear))
	require.Zero(t, h.writes(callSuspend))
}

func TestBudget(t *testing.T) {
	h := newHarness(t, func(r *config.Response) { r.MaxActionsPerHour = 2 })
	ctx := context.Background()
	s := h.service(ctx)
	var ids []string
	for _, u := range []string{joren, ada, cas} {
		a := propose(t, s, config.ActionClearSessions, u, "alice")
		_, err := s.Approve(ctx, a.ID, "bob", "")
		require.NoError(t, err)
		ids = append(ids, a.ID)
	}
	s.Sweep(ctx)
	require.Equal(t, StateSucceeded, get(t, s, ids[0]).State)
	require.Equal(t, StateSucceeded, get(t, s, ids[1]).State)
	require.Equal(t, StateApproved, get(t, s, ids[2]).State, "over the budget: waits")
	require.Equal(t, int64(2), h.writes(callClear))
	require.True(t, s.tenant("acme").exhausted)
	h.clock.Add(59 * time.Minute)
	s.Sweep(ctx)
	require.Equal(t, StateApproved, get(t, s, ids[2]).State)
	h.clock.Add(time.Minute)
	s.Sweep(ctx)
	require.Equal(t, StateSucceeded, get(t, s, ids[2]).State)
	require.False(t, s.tenant("acme").exhausted)
	require.Equal(t, int64(3), h.writes(callClear))
}

func TestDedup(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	s := h.service(ctx)
	first, created, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionSuspend, UserID: joren, By: "alert-1",
		Evidence: Evidence{EventIDs: []string{"ev1"}, Score: 50, Level: "high"}})
	require.NoError(t, err)
	require.True(t, created)
	for i, ev := range []string{"ev2", "ev1"} {
		again, created, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionSuspend, UserID: joren,
			By: "alert-copy", Reason: "copy", Evidence: Evidence{EventIDs: []string{ev}, Score: 80, Level: "critical"}})
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, first.ID, again.ID)
		require.Equal(t, i+2, again.Evidence.Proposals)
	}
	a := get(t, s, first.ID)
	require.Equal(t, []string{"ev1", "ev2"}, a.Evidence.EventIDs)
	require.Equal(t, "critical", a.Evidence.Level)
	require.Len(t, a.Evidence.Notes, 2)
	list, _ := s.List(Filter{Tenants: []string{"acme"}})
	require.Len(t, list, 1)
	// Another action for the same user is its own.
	propose(t, s, config.ActionClearSessions, joren, "alert-1")
	// Once closed, a new proposal opens a new action.
	_, err = s.Reject(ctx, first.ID, "bob", "")
	require.NoError(t, err)
	b := propose(t, s, config.ActionSuspend, joren, "alert-1")
	require.NotEqual(t, first.ID, b.ID)
}

func TestDryRunMakesNoWrite(t *testing.T) {
	h := newHarness(t, func(r *config.Response) { r.Mode = config.ResponseDryRun })
	ctx := context.Background()
	s := h.service(ctx)
	a := propose(t, s, config.ActionSuspend, joren, "alice")
	require.True(t, a.DryRun)
	_, err := s.Approve(ctx, a.ID, "bob", "")
	require.NoError(t, err)
	s.Sweep(ctx)
	a = get(t, s, a.ID)
	require.Equal(t, StateSucceeded, a.State)
	require.True(t, a.DryRun)
	require.Contains(t, a.Note, "dry run")
	a, err = s.Revert(ctx, a.ID, "bob")
	require.NoError(t, err)
	require.Empty(t, h.org.WriteCalls())
	u, _ := h.org.User(joren)
	require.Equal(t, oktasim.StatusActive, u.Status)
}

func TestOffMode(t *testing.T) {
	h := newHarness(t, func(r *config.Response) { r.Mode = config.ResponseOff })
	s := h.service(context.Background())
	_, _, err := s.Propose(context.Background(), Proposal{Tenant: "acme", Action: config.ActionSuspend, UserID: joren, By: "alice"})
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	require.Contains(t, ie.Msg, "off")
}

func TestOktaAnswers(t *testing.T) {
	ctx := context.Background()
	run := func(t *testing.T, h *harness, s *Service, act config.ResponseAction, user string, mutate func(*Proposal)) Action {
		t.Helper()
		p := Proposal{Tenant: "acme", Action: act, UserID: user, By: "alice"}
		if mutate != nil {
			mutate(&p)
		}
		a, _, err := s.Propose(ctx, p)
		require.NoError(t, err)
		_, err = s.Approve(ctx, a.ID, "bob", "")
		require.NoError(t, err)
		s.Sweep(ctx)
		return get(t, s, a.ID)
	}

	t.Run("403 missing scope", func(t *testing.T) {
		h := newHarness(t, func(r *config.Response) {
			r.Auth = &config.Auth{Method: config.AuthClientSecret, ClientID: "reader", ClientSecret: "reader-secret",
				Scopes: []string{"okta.users.read", "okta.groups.read", "okta.roles.read", "okta.logs.read"}, DPoP: config.DPoPNever}
		})
		s := h.service(ctx)
		a := run(t, h, s, config.ActionSuspend, joren, nil)
		require.Equal(t, StateFailed, a.State)
		require.Contains(t, a.Error, "okta.users.manage")
		require.NotEmpty(t, a.OktaRequestID)
	})
	t.Run("404 and group types", func(t *testing.T) {
		h := newHarness(t, nil)
		s := h.service(ctx)
		_, _, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionSuspend, UserID: "00unobody", By: "alice"})
		var ie *InputError
		require.ErrorAs(t, err, &ie)
		a := run(t, h, s, config.ActionAddToGroup, joren, func(p *Proposal) { p.GroupID = "00gnothere" })
		require.Equal(t, StateFailed, a.State)
		require.Contains(t, a.Error, "not found")
		a = run(t, h, s, config.ActionAddToGroup, ada, func(p *Proposal) { p.GroupID = adGroup })
		require.Equal(t, StateFailed, a.State)
		require.Contains(t, a.Error, "APP_GROUP")
		require.Zero(t, h.writes(callAdd), "the group type is checked before any write")
	})
	t.Run("state conflicts", func(t *testing.T) {
		h := newHarness(t, nil)
		s := h.service(ctx)
		require.True(t, h.org.SetUserStatus(joren, oktasim.StatusSuspended))
		a := run(t, h, s, config.ActionSuspend, joren, nil)
		require.Equal(t, StateSucceeded, a.State, "already suspended = succeeded")
		require.True(t, a.NoChange)
		require.Contains(t, a.Note, "already SUSPENDED")
		a = run(t, h, s, config.ActionSuspend, gone, nil)
		require.Equal(t, StateFailed, a.State)
		require.Contains(t, a.Error, "DEPROVISIONED")
	})
	t.Run("429 waits for the reset", func(t *testing.T) {
		h := newHarness(t, nil)
		s := h.service(ctx)
		require.NoError(t, h.org.SetFault(oktasim.Fault{Kind: oktasim.FaultRateLimited, Endpoint: oktasim.EndpointManagement, Skip: 7, ResetIn: time.Second}))
		a := run(t, h, s, config.ActionSuspend, joren, nil)
		require.Equal(t, StateSucceeded, a.State, a.Error)
		require.Equal(t, int64(1), h.org.Stats().Faults[oktasim.FaultRateLimited])
		require.Equal(t, int64(1), h.writes(callSuspend))
	})
	t.Run("5xx retried, then reconciled", func(t *testing.T) {
		h := newHarness(t, nil)
		s := h.service(ctx)
		require.NoError(t, h.org.SetFault(oktasim.Fault{Kind: oktasim.FaultServerError, Endpoint: oktasim.EndpointManagement, Skip: 7, Count: 2}))
		a := run(t, h, s, config.ActionSuspend, joren, nil)
		require.Equal(t, StateSucceeded, a.State, "retried by the client: %s", a.Error)
		require.Equal(t, int64(1), h.writes(callSuspend))

		// Okta down past the client's retries: still executing; each sweep
		// reads Okta's state first (the System Log: not cleared) and checks
		// the guard rails again before calling (while Okta is down it
		// cannot, and does not call); once Okta answers, exactly one call
		// went through.
		require.NoError(t, h.org.SetFault(oktasim.Fault{Kind: oktasim.FaultUnavailable, Endpoint: oktasim.EndpointManagement, Skip: 7, Probability: 1}))
		b := run(t, h, s, config.ActionClearSessions, ada, nil)
		require.Equal(t, StateExecuting, b.State)
		require.Contains(t, b.Error, "503")
		require.Zero(t, h.writes(callClear))
		s.Sweep(ctx)
		require.Equal(t, StateExecuting, get(t, s, b.ID).State, "Okta still down")
		h.org.ClearFaults()
		s.Sweep(ctx)
		b = get(t, s, b.ID)
		require.Equal(t, StateSucceeded, b.State, b.Error)
		require.Equal(t, 2, b.Attempts, "the first call, and the one after Okta came back")
		require.Equal(t, int64(1), h.writes(callClear))
	})
}

func TestVerificationFlag(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	s := h.service(ctx)
	// Adding a member again changes nothing: Okta answers 204 and logs
	// nothing, so the action cannot be verified and is flagged.
	w := writerFor(t, h)
	_, err := w.AddToGroup(ctx, grp, joren)
	require.NoError(t, err)
	h.clock.Add(time.Minute)
	a := propose(t, s, config.ActionAddToGroup, joren, "alice")
	_, err = s.Approve(ctx, a.ID, "bob", "")
	require.NoError(t, err)
	s.Sweep(ctx)
	a = get(t, s, a.ID)
	require.Equal(t, StateSucceeded, a.State)
	require.Nil(t, a.VerifiedAt)
	require.False(t, a.Flagged)
	h.clock.Add(14 * time.Minute)
	s.Sweep(ctx)
	require.False(t, get(t, s, a.ID).Flagged)
	h.clock.Add(time.Minute)
	s.Sweep(ctx)
	a = get(t, s, a.ID)
	require.True(t, a.Flagged)
	require.Contains(t, a.Note, "group.user_membership.add")
}

func TestAutoModeAndRevertAfter(t *testing.T) {
	h := newHarness(t, func(r *config.Response) {
		r.Mode = config.ResponseAuto
		r.AutoActions = []config.ResponseAction{config.ActionAddToGroup}
		r.RevertAfter = 72 * time.Hour
	})
	ctx := context.Background()
	s := h.service(ctx)
	a := propose(t, s, config.ActionAddToGroup, joren, "alice")
	require.Equal(t, StateApproved, a.State)
	require.Equal(t, "auto", a.DecidedBy)
	b := propose(t, s, config.ActionSuspend, joren, "alice")
	require.Equal(t, StateProposed, b.State, "not in auto_actions")
	s.Sweep(ctx)
	require.Equal(t, StateSucceeded, get(t, s, a.ID).State)
	require.Equal(t, []string{joren}, h.org.Members(grp))
	h.clock.Add(72 * time.Hour)
	s.Sweep(ctx)
	a = get(t, s, a.ID)
	require.Equal(t, StateReverted, a.State)
	require.Contains(t, a.RevertedBy, "auto-revert")
	require.Empty(t, h.org.Members(grp))
}

// TestRun: Run loads, executes an approval at once (no waiting for the
// interval), and returns when its context ends, leaving no goroutine
// (goleak in TestMain).
func TestRun(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	s := h.service(ctx)
	s.s.Interval = time.Hour
	a := propose(t, s, config.ActionClearSessions, joren, "alice")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	_, err := s.Approve(ctx, a.ID, "bob", "")
	require.NoError(t, err)
	for get(t, s, a.ID).State != StateSucceeded {
		select {
		case <-time.After(10 * time.Millisecond):
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		}
	}
	stop()
	require.NoError(t, <-done)
	require.Equal(t, int64(1), h.writes(callClear))
}

type recordingNotifier struct {
	mu        sync.Mutex
	pending   []string
	exhausted []string
}

func (n *recordingNotifier) PendingApproval(_ context.Context, a Action) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.pending = append(n.pending, a.ID)
}

func (n *recordingNotifier) BudgetExhausted(_ context.Context, tenant string, _ int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.exhausted = append(n.exhausted, tenant)
}

// TestMetricsAndNotifier: transitions are counted by state, pending
// actions are a gauge, and the notifier hears of pending approvals and of
// a spent budget (once).
func TestMetricsAndNotifier(t *testing.T) {
	h := newHarness(t, func(r *config.Response) {
		r.Mode = config.ResponseAuto
		r.MaxActionsPerHour = 1
	})
	ctx := context.Background()
	s := h.service(ctx)
	n := &recordingNotifier{}
	s.s.Notify = n
	a := propose(t, s, config.ActionClearSessions, joren, "alice") // auto: approved
	require.Equal(t, StateApproved, a.State)
	b := propose(t, s, config.ActionClearSessions, ada, "alice") // the budget is taken by a: waits for a person
	require.Equal(t, StateProposed, b.State)
	s.Sweep(ctx)
	c := propose(t, s, config.ActionSuspend, ada, "alice")
	require.Equal(t, StateSucceeded, get(t, s, a.ID).State)
	require.Equal(t, StateProposed, get(t, s, b.ID).State)
	require.Equal(t, []string{b.ID, c.ID}, n.pending)
	require.Equal(t, []string{"acme"}, n.exhausted)
	m := s.metrics
	require.Equal(t, 2.0, testutil.ToFloat64(m.pending.WithLabelValues("acme")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.exhausted.WithLabelValues("acme")))
	require.Equal(t, 3.0, testutil.ToFloat64(m.actions.WithLabelValues("acme", "clear_sessions", "proposed"))+
		testutil.ToFloat64(m.actions.WithLabelValues("acme", "suspend", "proposed")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.actions.WithLabelValues("acme", "clear_sessions", "succeeded")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.verified.WithLabelValues("acme", "verified")))
	_, err := s.Reject(ctx, c.ID, "bob", "")
	require.NoError(t, err)
	require.Equal(t, 1.0, testutil.ToFloat64(m.pending.WithLabelValues("acme")))
}
