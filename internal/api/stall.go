package api

import (
	"time"

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
		stallAfter = DefaultStallAfter
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
	org.State = st.State
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
	stalled, ref := Stalled(st, started, now, stallAfter)
	org.LastReceived = timePtr(ref)
	org.Stalled = stalled
	return org
}

// Stalled is the stall rule: a running poller is stalled when it has
// received no event for longer than stallAfter (zero: the default),
// counting from the latest of its last cursor advance (the last page with
// events), its integration time and its process's start. It also returns
// that reference time.
func Stalled(st poll.Status, started, now time.Time, stallAfter time.Duration) (bool, time.Time) {
	if stallAfter <= 0 {
		stallAfter = DefaultStallAfter
	}
	ref := latest(st.LastCursorAdvance, st.IntegratedAt, started)
	return now.Sub(ref) > stallAfter, ref
}
