package oktasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// Admin roles decide what an API token may do: reading the System Log
// needs a role that may read it, listing roles needs a Super
// Administrator, and /users/me names the token's creator for anyone.
func TestTokenOwnersAndRoles(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{TokenOwners: []TokenOwner{
		{Token: "super", UserID: "00usuper", Login: "super@acme.example"}, // nil roles: SUPER_ADMIN
		{Token: "readonly", UserID: "00uro", Roles: []string{RoleReadOnlyAdmin}},
		{Token: "report", UserID: "00urep", Roles: []string{RoleReportAdmin}},
		{Token: "helpdesk", UserID: "00uhd", Roles: []string{RoleHelpDeskAdmin}},
		{Token: "nobody", UserID: "00uno", Roles: []string{}},
	}})
	c := ts.Client()
	ssws := func(tok string) []string { return []string{"Authorization", "SSWS " + tok} }
	for _, tc := range []struct {
		token               string
		logs, roles, meCode int
	}{
		{"super", 200, 200, 200},
		{"readonly", 200, 403, 200},
		{"report", 200, 403, 200},
		{"helpdesk", 403, 403, 200},
		{"nobody", 403, 403, 200},
	} {
		t.Run(tc.token, func(t *testing.T) {
			r := get(t, c, base+"/api/v1/logs?limit=1", ssws(tc.token)...)
			require.Equal(t, tc.logs, r.StatusCode, string(r.body))
			if tc.logs == 403 {
				e := r.oktaError(t)
				require.Equal(t, "E0000006", e.ErrorCode)
				require.Equal(t, "You do not have permission to perform the requested action", e.ErrorSummary)
			}
			me := get(t, c, base+"/api/v1/users/me", ssws(tc.token)...)
			require.Equal(t, tc.meCode, me.StatusCode, string(me.body))
			var u userJSON
			require.NoError(t, json.Unmarshal(me.body, &u))
			require.Equal(t, "00u"+map[string]string{"super": "super", "readonly": "ro", "report": "rep", "helpdesk": "hd", "nobody": "no"}[tc.token], u.ID)
			roles := get(t, c, base+"/api/v1/users/"+u.ID+"/roles", ssws(tc.token)...)
			require.Equal(t, tc.roles, roles.StatusCode, string(roles.body))
			if tc.roles == 403 {
				require.Equal(t, "E0000006", roles.oktaError(t).ErrorCode)
			}
		})
	}

	// A Super Administrator reads anyone's roles.
	var list []roleJSON
	r := get(t, c, base+"/api/v1/users/00uro/roles", ssws("super")...)
	require.Equal(t, 200, r.StatusCode)
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Len(t, list, 1)
	require.Equal(t, RoleReadOnlyAdmin, list[0].Type)
	require.Equal(t, "Read-only Administrator", list[0].Label)
	require.Equal(t, "ACTIVE", list[0].Status)
	require.Equal(t, 404, get(t, c, base+"/api/v1/users/00unknown/roles", ssws("super")...).StatusCode)

	// Roles change while the org runs: the token's permissions follow.
	o.SetTokenRoles("readonly")
	require.Equal(t, 403, get(t, c, base+"/api/v1/logs?limit=1", ssws("readonly")...).StatusCode)
	o.SetTokenRoles("readonly", RoleReportAdmin)
	require.Equal(t, 200, get(t, c, base+"/api/v1/logs?limit=1", ssws("readonly")...).StatusCode)

	// Rotation: a new token works at once, a revoked one is invalid.
	o.AddToken("readonly-2", TokenOwner{UserID: "00uro2", Roles: []string{RoleReadOnlyAdmin}})
	require.Equal(t, 200, get(t, c, base+"/api/v1/logs?limit=1", ssws("readonly-2")...).StatusCode)
	o.RevokeToken("readonly")
	r = get(t, c, base+"/api/v1/logs?limit=1", ssws("readonly")...)
	require.Equal(t, 401, r.StatusCode)
	require.Equal(t, "E0000011", r.oktaError(t).ErrorCode)
}

// A service app's token carries the scopes it was granted; the app also
// needs an admin role to read the System Log, and okta.roles.read plus
// Super Administrator to read its roles.
func TestClientScopesAndRoles(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Clients: []Client{
		{ID: "logs-only", Secret: "s1", Scopes: []string{"okta.logs.read"}, Roles: []string{RoleReadOnlyAdmin}},
		{ID: "wide", Secret: "s2", Scopes: []string{"okta.logs.read", "okta.roles.read", "okta.users.manage"}},
		{ID: "no-role", Secret: "s3", Scopes: []string{"okta.logs.read"}, Roles: []string{}},
	}})
	c := ts.Client()
	token := func(id, secret, scope string) (int, tokenResponse) {
		r := postForm(t, c, base+"/oauth2/v1/token", url.Values{"grant_type": {"client_credentials"}, "scope": {scope}},
			"Authorization", "Basic "+basic(id, secret))
		return r.StatusCode, r.token(t)
	}
	status, tr := token("logs-only", "s1", "okta.logs.read okta.users.read")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_scope", tr.Error)

	status, tr = token("logs-only", "s1", "okta.logs.read")
	require.Equal(t, 200, status)
	require.Equal(t, "okta.logs.read", tr.Scope)
	bearer := []string{"Authorization", "Bearer " + tr.AccessToken}
	require.Equal(t, 200, get(t, c, base+"/api/v1/logs?limit=1", bearer...).StatusCode)
	r := get(t, c, base+"/oauth2/v1/clients/logs-only/roles", bearer...)
	require.Equal(t, 403, r.StatusCode, "no okta.roles.read")
	require.Equal(t, 403, get(t, c, base+"/api/v1/users/me", bearer...).StatusCode, "no okta.users.read")

	status, tr = token("wide", "s2", "okta.logs.read okta.roles.read okta.users.manage")
	require.Equal(t, 200, status)
	require.Equal(t, "okta.logs.read okta.roles.read okta.users.manage", tr.Scope)
	r = get(t, c, base+"/oauth2/v1/clients/logs-only/roles", "Authorization", "Bearer "+tr.AccessToken)
	require.Equal(t, 200, r.StatusCode, string(r.body))
	var list []roleJSON
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Equal(t, RoleReadOnlyAdmin, list[0].Type)

	status, tr = token("no-role", "s3", "okta.logs.read")
	require.Equal(t, 200, status)
	r = get(t, c, base+"/api/v1/logs?limit=1", "Authorization", "Bearer "+tr.AccessToken)
	require.Equal(t, 403, r.StatusCode, "a scope without an admin role reads nothing")
	require.Equal(t, "E0000006", r.oktaError(t).ErrorCode)
	o.SetClientRoles("no-role", RoleReportAdmin)
	require.Equal(t, 200, get(t, c, base+"/api/v1/logs?limit=1", "Authorization", "Bearer "+tr.AccessToken).StatusCode)
}
