package poll

import (
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
)

// State is a poller's state: a closed set.
type State string

// The states of a poller (Status.State), and the one the heartbeat writes
// last at shutdown.
const (
	StateStarting   State = "starting"    // loading or recording the cursor
	StatePolling    State = "polling"     // fetching and writing pages
	StateCaughtUp   State = "caught_up"   // the last page was not full: waiting for the interval
	StateBackingOff State = "backing_off" // Okta failed (5xx, 429, an invalid page): retrying
	StateAuthError  State = "auth_error"  // Okta refused the credentials (401/403): retrying slowly
	StateWriteError State = "write_error" // ClickHouse failed: retrying, the cursor held
	StateStopped    State = "stopped"     // riskpipe stopped (poller_status' last row)
	// StatePermissionDenied: Okta answers 403, the credential may not read
	// the System Log (a role or scope removed): retrying slowly, it
	// recovers by itself when the permission returns.
	StatePermissionDenied State = "permission_denied"
	// StatePermissionMissing: not polled, because the credential is proven
	// to lack what reading the System Log needs (app's permission gate;
	// last_error says what to grant); checked again every minute.
	StatePermissionMissing State = "permission_missing"
)

// Stalled is the stall rule: a running poller is stalled when it has
// received no event for longer than stallAfter (zero: config's default
// api.stall_after), counting from the latest of its last cursor advance
// (the last page with events), its integration time and its process's
// start (started). It also returns that reference time.
// /api/v1/orgs, the dashboard, riskpipe_tenant_stalled and `riskpipe
// status` all judge a tenant with it.
func (s Status) Stalled(started, now time.Time, stallAfter time.Duration) (bool, time.Time) {
	if stallAfter <= 0 {
		stallAfter = config.Default().API.StallAfter
	}
	ref := started
	for _, t := range []time.Time{s.LastCursorAdvance, s.IntegratedAt} {
		if t.After(ref) {
			ref = t
		}
	}
	return now.Sub(ref) > stallAfter, ref
}
