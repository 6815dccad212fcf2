package api

import (
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/poll"
)

// NewOrg says how one configured org is doing, given its poller's status
// st: running is whether a poller runs for it (for `riskpipe status`: ran,
// as read back from poller_status), started is when that poller's process
// started, stallAfter the api.stall_after threshold (zero: the default).
// /api/v1/orgs, the dashboard, the riskpipe_tenant_stalled metric and
// `riskpipe status` all judge an org with it.
func NewOrg(tenant, description string, enabled bool, st poll.Status, running bool, started, now time.Time,
	stallAfter time.Duration) Org {
	if stallAfter <= 0 {
		stallAfter = config.Default().API.StallAfter
	}
	org := Org{
		Tenant:            tenant,
		Description:       description,
		Enabled:           enabled,
		StallAfterSeconds: stallAfter.Seconds(),
		State:             "unknown",
	}
	switch {
	case !enabled:
		org.State = "disabled"
		return org
	case !running:
		return org
	}
	org.State = string(st.State)
	org.LastPoll = timePtr(st.LastPoll)
	org.LastSuccess = timePtr(st.LastSuccess)
	org.IntegratedAt = timePtr(st.IntegratedAt)
	org.NewestPublished = timePtr(st.NewestPublished)
	org.LastError = st.LastError
	org.ConsecutiveFailures = st.ConsecutiveFailures
	org.EventsPolled = st.EventsPolled
	org.EventsKept = st.EventsKept
	if org.NewestPublished != nil {
		lag := max(0, now.Sub(st.NewestPublished).Seconds())
		org.LagSeconds = &lag
	}
	stalled, ref := st.Stalled(started, now, stallAfter) // the rule lives with the poller's status
	org.LastReceived = timePtr(ref)
	org.Stalled = stalled
	return org
}
