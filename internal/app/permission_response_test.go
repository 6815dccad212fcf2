package app

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/privilege"
	"github.com/riskpipe/riskpipe/internal/respond"
)

// A tenant with a response credential of its own (tenants[].response.auth)
// is judged per credential at run time: its auth for the System Log (it
// is polled), the response credential for identity matching and response
// actions, whose missing scopes are named with that credential's key.
func TestResponseCredentialJudged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, orgSpec{name: "acme", eps: 10, clients: []oktasim.Client{
		{ID: "respond-app", Secret: "respond-secret-0123", Scopes: []string{"okta.users.read"}, Roles: []string{oktasim.RoleOrgAdmin}}}})
	acme := h.tenant("acme")
	acme.Response = config.DefaultResponse()
	acme.Response.Mode = config.ResponseApprove
	acme.Response.Auth = &config.Auth{Method: config.AuthClientSecret, ClientID: "respond-app", ClientSecret: "respond-secret-0123",
		Scopes: []string{"okta.users.read"}, DPoP: config.DPoPNever}
	r := h.start(t, h.config(acme), nil)
	r.integrated(t, "acme") // polled: the tenant's own credential reads the log

	var perms []privilege.Result
	eventually(t, waitFor, func() bool { perms = r.app.Permissions(); return len(perms) == 3 }, "three verdicts")
	require.Equal(t, privilege.FeatureSystemLog, perms[0].Feature)
	require.Empty(t, perms[0].Credential)
	// Judged for the System Log alone: the harness's Super Administrator
	// token is more than that needs (with the response features on the
	// same credential, an Organization Administrator would be needed).
	require.Equal(t, privilege.VerdictExcess, perms[0].Verdict, "%+v", perms[0])
	require.True(t, strings.HasSuffix(perms[0].Fix, "a Read-only Administrator's token is enough for reading the System Log"), perms[0].Fix)
	require.Equal(t, privilege.FeatureIdentity, perms[1].Feature)
	require.Equal(t, privilege.CredentialResponse, perms[1].Credential)
	require.Equal(t, privilege.VerdictOK, perms[1].Verdict, "%+v", perms[1])
	require.Equal(t, privilege.FeatureResponse, perms[2].Feature)
	require.Equal(t, privilege.CredentialResponse, perms[2].Credential)
	require.Equal(t, privilege.VerdictMissing, perms[2].Verdict)
	require.Contains(t, perms[2].Fix, "add okta.users.manage okta.groups.manage okta.roles.read okta.logs.read to tenants[0].response.auth.scopes")
	require.Contains(t, perms[2].Fix, "without it, set tenants[0].response.protected.admins: false", "protected.admins (default on) needs okta.roles.read")
	require.True(t, r.app.PermissionOK("acme", privilege.FeatureSystemLog))
	require.True(t, r.app.PermissionOK("acme", privilege.FeatureIdentity))
	require.False(t, r.app.PermissionOK("acme", privilege.FeatureResponse))
	r.stop(t)
}

// A 403 to a tenant's response.auth holds the response feature back as a
// 403 to its own auth does: the action stays, is not failed, and runs once
// the service app has its role again.
func TestResponseCredential403HoldsTheAction(t *testing.T) {
	t.Parallel()
	mallory := oktasim.User{ID: "00u9", Profile: oktasim.Profile{Login: "mallory@example.com", Email: "mallory@example.com",
		FirstName: "Mallory", LastName: "M"}}
	scopes := []string{"okta.logs.read", "okta.users.read", "okta.users.manage", "okta.groups.manage"}
	h := newHarness(t, nil, orgSpec{name: "acme", scenario: "none", users: []oktasim.User{mallory}, clients: []oktasim.Client{
		{ID: "respond-app", Secret: "respond-secret-0123", Scopes: scopes, Roles: []string{oktasim.RoleOrgAdmin}}}})
	acme := h.tenant("acme")
	acme.Response = config.DefaultResponse()
	acme.Response.Mode = config.ResponseApprove
	acme.Response.Protected.Admins = false // reading admin roles needs okta.roles.read, not granted here
	acme.Response.Auth = &config.Auth{Method: config.AuthClientSecret, ClientID: "respond-app", ClientSecret: "respond-secret-0123",
		Scopes: scopes, DPoP: config.DPoPNever}
	r := h.start(t, h.config(acme), nil, func(o *Options) { o.PermissionRecheck = 50 * time.Millisecond })
	r.integrated(t, "acme")
	propose := func(act config.ResponseAction) respond.Action { return r.approved(t, "acme", act, mallory.ID) }
	action := func(id string) respond.Action { return r.action(t, id) }
	status := func() oktasim.UserStatus {
		u, ok := h.orgs["acme"].org.User(mallory.ID)
		require.True(t, ok)
		return u.Status
	}
	response := func() (verdict, reason string) {
		v, _, why := r.feature("acme", privilege.FeatureResponse)
		return v, why
	}

	first := propose(config.ActionSuspend)
	eventually(t, waitFor, func() bool { return action(first.ID).State == respond.StateSucceeded }, "the response credential works")
	require.Equal(t, oktasim.StatusSuspended, status())

	// The service app loses its role in Okta: its next change gets 403.
	h.orgs["acme"].org.SetClientRoles("respond-app", oktasim.RoleReadOnlyAdmin)
	back := propose(config.ActionUnsuspend)
	eventually(t, waitFor, func() bool { v, _ := response(); return v == VerdictDenied }, "the 403 shows as permission_denied")
	_, why := response()
	require.Contains(t, why, "Okta refuses the service app respond-app with 403")
	a := action(back.ID)
	require.NotEqual(t, respond.StateFailed, a.State, "held, not failed: %+v", a)
	require.NotEqual(t, respond.StateSucceeded, a.State)
	require.Equal(t, oktasim.StatusSuspended, status())

	// The role returns: the recheck clears the denial and the action runs.
	h.orgs["acme"].org.SetClientRoles("respond-app", oktasim.RoleOrgAdmin)
	eventually(t, waitFor, func() bool { return action(back.ID).State == respond.StateSucceeded })
	require.Equal(t, oktasim.StatusActive, status())
	r.stop(t)
}
