package app

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/privilege"
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
	require.Contains(t, perms[2].Fix, "add okta.users.manage okta.groups.manage okta.logs.read to tenants[0].response.auth.scopes")
	require.True(t, r.app.PermissionOK("acme", privilege.FeatureSystemLog))
	require.True(t, r.app.PermissionOK("acme", privilege.FeatureIdentity))
	require.False(t, r.app.PermissionOK("acme", privilege.FeatureResponse))
	r.stop(t)
}
