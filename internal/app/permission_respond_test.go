package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/api"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/privilege"
	"github.com/riskpipe/riskpipe/internal/respond"
)

// The response service asks the permission verdicts. A tenant whose
// service app is not configured for okta.users.manage records and approves
// proposals, but the approved action does not execute (it waits, and says
// why; the metric is 0) until the credential has it; then it executes
// once. A role removed in Okta later makes a write fail with 403: the
// feature is permission_denied and the action waits, and it recovers by
// itself on the periodic check when the role returns. The other tenant is
// never held back.
func TestPermissionGatesResponseActions(t *testing.T) {
	t.Parallel()
	mallory := oktasim.User{ID: "00u9", Profile: oktasim.Profile{Login: "mallory@example.com", Email: "mallory@example.com",
		FirstName: "Mallory", LastName: "M"}}
	users := []oktasim.User{mallory}
	all := []string{"okta.logs.read", "okta.users.read", "okta.users.manage", "okta.groups.manage"}
	h := newHarness(t, nil,
		orgSpec{name: "locked", scenario: "none", users: users, clients: []oktasim.Client{
			{ID: "locked-app", Secret: "locked-secret-0123", Scopes: all, Roles: []string{oktasim.RoleOrgAdmin}}}},
		orgSpec{name: "fine", scenario: "none", users: users})
	approve := config.DefaultResponse()
	approve.Mode = config.ResponseApprove
	approve.Protected.Admins = false // reading admin roles needs okta.roles.read, not granted here
	locked, fine := h.tenant("locked"), h.tenant("fine")
	locked.Auth = config.Auth{Method: config.AuthClientSecret, ClientID: "locked-app", ClientSecret: "locked-secret-0123",
		Scopes: []string{"okta.logs.read", "okta.users.read", "okta.groups.manage"}, DPoP: config.DPoPNever}
	locked.Response, fine.Response = approve, approve
	src := &reloadable{}
	r := h.start(t, h.config(locked, fine), nil, src.option, func(o *Options) { o.PermissionRecheck = 50 * time.Millisecond })
	r.integrated(t, "locked")
	r.integrated(t, "fine")
	permOK := func(tenant string) float64 {
		return metric(t, r.reg, "riskpipe_tenant_permission_ok", map[string]string{"tenant": tenant, "feature": "response"})
	}
	propose := func(tenant string, act config.ResponseAction) respond.Action {
		return r.approved(t, tenant, act, mallory.ID)
	}
	action := func(id string) respond.Action { return r.action(t, id) }
	userStatus := func(org string) oktasim.UserStatus {
		u, ok := h.orgs[org].org.User(mallory.ID)
		require.True(t, ok)
		return u.Status
	}
	feature := r.feature

	// Missing at the start: proposals are recorded, nothing executes.
	eventually(t, waitFor, func() bool { return r.app.PermissionOK("locked", privilege.FeatureSystemLog) })
	held := propose("locked", config.ActionSuspend)
	done := propose("fine", config.ActionSuspend)
	eventually(t, waitFor, func() bool { return action(done.ID).State == respond.StateSucceeded }, "the other tenant executes")
	eventually(t, waitFor, func() bool { return action(held.ID).Waiting != "" })
	a := action(held.ID)
	require.Equal(t, respond.StateApproved, a.State)
	require.Contains(t, a.Waiting, "add okta.users.manage to tenants[0].auth.scopes")
	require.Equal(t, oktasim.StatusActive, userStatus("locked"))
	require.Equal(t, oktasim.StatusSuspended, userStatus("fine"))
	require.Zero(t, permOK("locked"))
	require.EqualValues(t, 1, permOK("fine"))
	v, ok, why := feature("locked", privilege.FeatureResponse)
	require.Equal(t, string(privilege.VerdictMissing), v)
	require.False(t, ok)
	require.Contains(t, why, "okta.users.manage")
	_, ok, _ = feature("locked", privilege.FeatureSystemLog)
	require.True(t, ok, "the log is read meanwhile")
	// What `riskpipe status` reads from the running process.
	rec := httptest.NewRecorder()
	r.app.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/-/permissions", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var served map[string][]api.FeaturePermission
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &served))
	require.Len(t, served["locked"], 3)
	for _, p := range served["locked"] {
		require.Empty(t, p.Granted, "what a credential was granted is for the authenticated API only")
		require.Equal(t, p.Feature != string(privilege.FeatureResponse), p.OK, p.Feature)
	}

	// The config asks for the scope (Okta only issues what is asked for):
	// the action executes, once.
	locked.Auth.Scopes = all
	h.reload(t, r, src, h.config(locked, fine))
	eventually(t, waitFor, func() bool { return action(held.ID).State == respond.StateSucceeded })
	a = action(held.ID)
	require.Equal(t, 1, a.Attempts)
	require.Empty(t, a.Waiting)
	require.Equal(t, oktasim.StatusSuspended, userStatus("locked"))
	require.EqualValues(t, 1, permOK("locked"))

	// A role removed in Okta: the write is refused with 403.
	h.orgs["fine"].org.SetTokenRoles("token-fine", oktasim.RoleReadOnlyAdmin)
	back := propose("fine", config.ActionUnsuspend)
	eventually(t, waitFor, func() bool {
		v, _, _ := feature("fine", privilege.FeatureResponse)
		return v == VerdictDenied && permOK("fine") == 0
	}, "the 403 shows as permission_denied")
	_, _, why = feature("fine", privilege.FeatureResponse)
	require.Contains(t, why, "Okta refuses this API token with 403")
	a = action(back.ID)
	require.NotEqual(t, respond.StateSucceeded, a.State)
	require.NotEqual(t, respond.StateFailed, a.State)
	require.Equal(t, oktasim.StatusSuspended, userStatus("fine"))
	require.EqualValues(t, 1, permOK("locked"), "the other tenant is not affected")

	// The role returns: the periodic check clears it and the action runs.
	h.orgs["fine"].org.SetTokenRoles("token-fine", oktasim.RoleSuperAdmin)
	eventually(t, waitFor, func() bool { return action(back.ID).State == respond.StateSucceeded })
	require.Equal(t, oktasim.StatusActive, userStatus("fine"))
	eventually(t, waitFor, func() bool { return permOK("fine") == 1 })
	require.Empty(t, action(back.ID).Waiting)
}
