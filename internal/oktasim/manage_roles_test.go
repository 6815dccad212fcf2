package oktasim

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Changing users takes a Super or Organization Administrator: a Read-only
// Administrator's token gets 403 E0000006 and changes nothing, and the
// change goes through once the role is back.
func TestManageNeedsAdminRole(t *testing.T) {
	clock := newClock()
	o, c, base := directoryOrg(t, clock)
	o.SetTokenRoles("tok", RoleReadOnlyAdmin)
	r := do(t, c, "POST", base+"/api/v1/users/00ujoren/lifecycle/suspend", nil, "Authorization", ssws)
	require.Equal(t, http.StatusForbidden, r.StatusCode, string(r.body))
	require.Equal(t, "E0000006", r.oktaError(t).ErrorCode)
	u, _ := o.User("00ujoren")
	require.Equal(t, StatusActive, u.Status)
	require.Zero(t, o.WriteCalls()["POST /api/v1/users/{id}/lifecycle/suspend"])
	r = get(t, c, base+"/api/v1/users/00ujoren", "Authorization", ssws)
	require.Equal(t, http.StatusOK, r.StatusCode, "reading users stays allowed")

	o.SetTokenRoles("tok", RoleOrgAdmin)
	r = do(t, c, "POST", base+"/api/v1/users/00ujoren/lifecycle/suspend", nil, "Authorization", ssws)
	require.Equal(t, http.StatusOK, r.StatusCode, string(r.body))
	u, _ = o.User("00ujoren")
	require.Equal(t, StatusSuspended, u.Status)
}
