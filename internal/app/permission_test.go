package app

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/privilege"
)

// A tenant whose credential lacks what reading the System Log needs is
// not polled and says why; a role removed in Okta while riskpipe runs
// shows the same way; both recover by themselves when the permission
// returns, without losing an event, and the other tenants never notice.
func TestPermissionMissingAndRecovery(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil,
		orgSpec{name: "locked", eps: 30, clients: []oktasim.Client{
			{ID: "locked-app", Secret: "locked-secret-0123", Scopes: []string{"okta.users.read"}, Roles: []string{oktasim.RoleReadOnlyAdmin}}}},
		orgSpec{name: "denied", eps: 30},
		orgSpec{name: "fine", eps: 30},
	)
	locked := h.tenant("locked")
	locked.Auth = config.Auth{Method: config.AuthClientSecret, ClientID: "locked-app", ClientSecret: "locked-secret-0123",
		Scopes: []string{config.ScopeLogsRead}, DPoP: config.DPoPNever}
	cfg := h.config(locked, h.tenant("denied"), h.tenant("fine"))
	r := h.start(t, cfg, nil, func(o *Options) {
		o.PermissionRecheck = 50 * time.Millisecond
		o.HeartbeatInterval = 100 * time.Millisecond
	})
	permOK := func(tenant string) float64 {
		return metric(t, r.reg, "riskpipe_tenant_permission_ok", map[string]string{"tenant": tenant, "feature": "system_log"})
	}
	integrated := map[string]time.Time{"denied": r.integrated(t, "denied"), "fine": r.integrated(t, "fine")}

	// locked: the app is not granted okta.logs.read: not polled, and why.
	var st poll.Status
	eventually(t, waitFor, func() bool { st, _ = r.status("locked"); return st.State == StatePermissionMissing })
	require.True(t, strings.HasPrefix(st.LastError, "grant okta.logs.read to the service app locked-app"), st.LastError)
	require.Zero(t, permOK("locked"))
	require.False(t, r.app.PermissionOK("locked", privilege.FeatureSystemLog))
	require.True(t, r.app.PermissionOK("fine", privilege.FeatureSystemLog))
	require.False(t, r.app.PermissionOK("fine", privilege.FeatureResponse), "not enabled")
	require.EqualValues(t, 1, permOK("fine"))
	_, stored := h.state(t, "locked")
	require.False(t, stored, "a tenant that never started is not integrated")
	require.Zero(t, h.orgs["locked"].org.Stats().EventsServed, "nothing was read from the locked org")
	// What `riskpipe status` reads: the heartbeat's row.
	eventually(t, waitFor, func() bool {
		rows, err := h.read.LoadPollerStatuses(t.Context())
		require.NoError(t, err)
		for _, row := range rows {
			if row.Tenant == "locked" {
				return row.State == string(StatePermissionMissing) && strings.HasPrefix(row.LastError, "grant okta.logs.read to the service app locked-app")
			}
		}
		return false
	}, "poller_status says why locked is not polled")

	// denied: its token's user loses every admin role in Okta.
	eventually(t, waitFor, func() bool { return len(h.kept(t, "denied")) > 0 })
	h.orgs["denied"].org.SetTokenRoles("token-denied")
	eventually(t, waitFor, func() bool { st, _ = r.status("denied"); return st.State == poll.StatePermissionDenied })
	require.Contains(t, st.LastError, "E0000006")
	require.True(t, strings.HasPrefix(st.LastError, "Okta refuses this API token with 403: the user who created it has no admin role allowing reading the System Log any more; assign the Read-only Administrator role"), st.LastError)
	require.Zero(t, permOK("denied"))
	require.False(t, r.app.PermissionOK("denied", privilege.FeatureSystemLog))
	require.EqualValues(t, 1, permOK("fine"))
	keptFine := len(h.kept(t, "fine"))
	eventually(t, waitFor, func() bool { return len(h.kept(t, "fine")) > keptFine }, "other tenants go on")
	time.Sleep(300 * time.Millisecond) // events pile up in the denied org meanwhile

	// The permissions return.
	h.orgs["denied"].org.SetTokenRoles("token-denied", oktasim.RoleReadOnlyAdmin)
	h.orgs["locked"].org.SetClientScopes("locked-app", "okta.users.read", "okta.logs.read")
	eventually(t, waitFor, func() bool {
		s, _ := r.status("denied")
		return s.State != poll.StatePermissionDenied && s.ConsecutiveFailures == 0
	}, "denied recovers by itself")
	integrated["locked"] = r.integrated(t, "locked")
	eventually(t, waitFor, func() bool { s, _ := r.status("locked"); return s.State != StatePermissionMissing })
	require.EqualValues(t, 1, permOK("denied"))
	require.EqualValues(t, 1, permOK("locked"))
	require.True(t, r.app.PermissionOK("locked", privilege.FeatureSystemLog))

	// Each org has events after its integration before the traffic stops
	// (locked integrates only now, when its permission came back).
	for _, name := range []string{"locked", "denied", "fine"} {
		eventually(t, waitFor, func() bool { return len(h.want(t, name, integrated[name])) > 0 },
			"%s has events after its integration", name)
	}
	for _, o := range h.orgs {
		o.org.SetRate(0)
	}
	for _, name := range []string{"locked", "denied", "fine"} {
		h.converged(t, name, h.want(t, name, integrated[name]), waitFor)
	}
	require.True(t, strings.Contains(st.LastError, "403"), st.LastError)
	r.stop(t)
}
