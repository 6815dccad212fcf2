package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// GET /api/v1/orgs shows each feature's verdict on the org's credential,
// to a caller that may see the org only.
func TestListOrgsPermissions(t *testing.T) {
	perms := map[string][]FeaturePermission{
		"acme": {{Feature: "system_log", Verdict: "ok", OK: true},
			{Feature: "response", Verdict: "missing", OK: false, Reason: "grant okta.users.manage to the service app a"}},
		"globex": {{Feature: "system_log", Verdict: "permission_denied", OK: false, Reason: "Okta refuses this API token with 403"}},
	}
	e := newEnvWith(t, testTenants(), func(s *Settings) {
		s.Permissions = func() map[string][]FeaturePermission { return perms }
	})
	var list OrgList
	e.getJSON("/api/v1/orgs", tokenAll, &list)
	got := map[string][]FeaturePermission{}
	for _, o := range list.Orgs {
		got[o.Tenant] = o.Permissions
	}
	require.Equal(t, perms["acme"], got["acme"])
	require.Equal(t, perms["globex"], got["globex"])
	require.Empty(t, got["initech"], "not polled: not checked")

	e.getJSON("/api/v1/orgs", tokenAcme, &list)
	require.Len(t, list.Orgs, 1)
	require.Equal(t, perms["acme"], list.Orgs[0].Permissions)
}
