package respond

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/privacy"
)

// A privacy deletion makes the service forget the person: their actions,
// actions naming them (a candidate, a word of the reason), and the open
// (org, user, action) keys; an action in flight is neither called in Okta
// nor written back; other people's actions stay.
func TestForget(t *testing.T) {
	h := newHarness(t, func(r *config.Response) { r.FourEyes = false })
	ctx := context.Background()
	s := h.service(ctx)

	suspend := propose(t, s, config.ActionSuspend, joren, "alice")
	mention, _, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionClearSessions, UserID: ada,
		Reason: "signed in from the laptop of joren.m@example.com.", By: "alice"})
	require.NoError(t, err)
	ambiguous, _, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionSuspend, Identity: `CORP\jsmith`, By: "edr"})
	require.NoError(t, err)
	require.Equal(t, StateNeedsIdentity, ambiguous.State)
	other := propose(t, s, config.ActionClearSessions, cas, "alice")

	// In flight: joren's clear_sessions is approved and recorded executing
	// when the deletion forgets him, just before the Okta call.
	inFlight := propose(t, s, config.ActionClearSessions, joren, "alice")
	_, err = s.Approve(ctx, inFlight.ID, "bob", "")
	require.NoError(t, err)
	forgotten := 0
	s.crash = func(point string) bool {
		if point == "before_call" {
			forgotten = s.Forget(privacy.Subject{IDs: []string{joren}, Logins: []string{"joren.m@example.com"}}.Matches)
		}
		return false
	}
	s.Sweep(ctx)
	s.crash = nil
	require.Equal(t, 3, forgotten, "joren's two actions and the one naming him")
	require.Zero(t, h.writes(callClear), "no Okta call for a forgotten action")
	require.Equal(t, []string{"proposed", "approved", "executing"}, h.auditStates(inFlight.ID), "nothing written back after the deletion")

	for _, id := range []string{suspend.ID, mention.ID, inFlight.ID} {
		_, ok := s.Get(id)
		require.False(t, ok, id)
		_, err := s.Approve(ctx, id, "bob", "")
		require.ErrorIs(t, err, ErrNotFound)
	}
	list, _ := s.List(Filter{Tenants: []string{"acme"}})
	var ids []string
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	require.ElementsMatch(t, []string{ambiguous.ID, other.ID}, ids)

	// The dedup key went with it: a new proposal is a new action.
	again, created, err := s.Propose(ctx, Proposal{Tenant: "acme", Action: config.ActionSuspend, UserID: joren, By: "alice"})
	require.NoError(t, err)
	require.True(t, created)
	require.NotEqual(t, suspend.ID, again.ID)

	// By hashes only (a deletion made by another process): jane is a
	// candidate of the ambiguous proposal.
	hs := privacy.NewHasher("k")
	n := s.Forget(privacy.HashedSubject{H: hs, Hashes: map[string]struct{}{hs.ID(jane): {}}}.Matches)
	require.Equal(t, 1, n)
	_, ok := s.Get(ambiguous.ID)
	require.False(t, ok)
	_, ok = s.Get(other.ID)
	require.True(t, ok, "other people's actions stay")

	// Sweeps write nothing for the forgotten actions.
	s.Sweep(ctx)
	require.Equal(t, []string{"proposed", "approved", "executing"}, h.auditStates(inFlight.ID))
	require.Equal(t, []string{"proposed"}, h.auditStates(suspend.ID))
}
