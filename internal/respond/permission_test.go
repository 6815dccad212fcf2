package respond

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/privilege"
)

// verdicts is a Permissions holding what the test says, and what 403s
// told it, as riskpipe run's does (internal/app).
type verdicts struct {
	mu      sync.Mutex
	blocked map[privilege.Feature]string
	denials int
}

func (v *verdicts) Blocked(_ string, f privilege.Feature) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.blocked[f]
}

func (v *verdicts) Denied(_ string, f privilege.Feature, err error) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.denials++
	v.blocked[f] = "denied: " + err.Error()
	return true
}

func (v *verdicts) set(f privilege.Feature, why string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.blocked[f] = why
}

// While the response feature is lacking, an approved action waits
// (approved, with the reason, no call to Okta); when it returns, it runs
// once. While identity_matching is lacking, the Okta users search is not
// called and the proposal says so.
func TestPermissionGate(t *testing.T) {
	h := newHarness(t, nil)
	v := &verdicts{blocked: map[privilege.Feature]string{}}
	h.perms = v
	ctx := context.Background()
	s := h.service(ctx)

	v.set(privilege.FeatureResponse, "grant okta.users.manage to the service app x")
	a := propose(t, s, config.ActionSuspend, joren, "alice")
	a, err := s.Approve(ctx, a.ID, "bob", "")
	require.NoError(t, err)
	for range 2 {
		s.Sweep(ctx)
	}
	a = get(t, s, a.ID)
	require.Equal(t, StateApproved, a.State)
	require.Contains(t, a.Waiting, "grant okta.users.manage to the service app x")
	require.Zero(t, h.writes(callSuspend))
	_, err = s.Revert(ctx, a.ID, "bob")
	require.Error(t, err)

	v.set(privilege.FeatureResponse, "")
	s.Sweep(ctx)
	a = get(t, s, a.ID)
	require.Equal(t, StateSucceeded, a.State)
	require.Empty(t, a.Waiting)
	require.EqualValues(t, 1, h.writes(callSuspend))
	require.Equal(t, 1, a.Attempts)

	v.set(privilege.FeatureIdentity, "grant okta.users.read to the service app x")
	b, _, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionClearSessions, Identity: `CORP\jsmith`, By: "edr"})
	require.NoError(t, err)
	require.Equal(t, StateNeedsIdentity, b.State)
	require.Contains(t, b.Note, "the Okta users search was not called (grant okta.users.read to the service app x)")
	for _, c := range b.Candidates {
		require.Equal(t, []string{"org_users"}, c.Sources)
	}
}

// A 403 from an Okta change marks the feature denied: the action stays
// executing (not failed, not counted as an attempt) and is not called
// again while the feature is held; once the permission is back it is
// reconciled and called.
func TestPermissionDeniedWrite(t *testing.T) {
	h := newHarness(t, func(r *config.Response) {
		r.Auth = &config.Auth{Method: config.AuthClientSecret, ClientID: "reader", ClientSecret: "reader-secret",
			Scopes: []string{"okta.users.read", "okta.groups.read", "okta.roles.read", "okta.logs.read"}, DPoP: config.DPoPNever}
	})
	v := &verdicts{blocked: map[privilege.Feature]string{}}
	h.perms = v
	ctx := context.Background()
	s := h.service(ctx)
	a := propose(t, s, config.ActionSuspend, joren, "alice")
	_, err := s.Approve(ctx, a.ID, "bob", "")
	require.NoError(t, err)
	s.Sweep(ctx)
	a = get(t, s, a.ID)
	require.Equal(t, StateExecuting, a.State)
	require.Contains(t, a.Error, "okta.users.manage")
	require.Contains(t, a.Waiting, "denied: okta refused suspend (403 E0000006")
	require.Zero(t, a.Attempts)
	require.Equal(t, 1, v.denials)
	s.Sweep(ctx)
	require.Equal(t, 1, v.denials, "not called again while denied")
	require.Equal(t, StateExecuting, get(t, s, a.ID).State)
}
