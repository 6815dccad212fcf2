package api

import (
	"net/http"
	"time"

	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/score"
)

// Org is one configured Okta org and the health of its poller.
type Org struct {
	Tenant      string `json:"tenant"`
	Description string `json:"description"`
	Enabled     bool   `json:"enabled"`
	// State is the poller's state (starting, polling, caught_up,
	// backing_off, auth_error, write_error; permission_missing: not polled
	// because the credential may not read the System Log, last_error says
	// what to grant; permission_denied: Okta answers 403), "disabled" for a tenant that
	// is not polled, "unknown" when this process runs no poller for it.
	State string `json:"state"`
	// Stalled: enabled, and nothing received for longer than
	// stall_after_seconds (see LastReceived).
	Stalled           bool    `json:"stalled"`
	StallAfterSeconds float64 `json:"stall_after_seconds"`
	// LastReceived is when the poller last received events, or else when
	// the tenant was integrated or this process started, whichever is
	// latest: the reference Stalled compares with.
	LastReceived *time.Time `json:"last_received"`
	LastPoll     *time.Time `json:"last_poll"`
	LastSuccess  *time.Time `json:"last_success"`
	IntegratedAt *time.Time `json:"integrated_at"`
	// NewestPublished is the newest `published` time seen; LagSeconds is
	// how long ago that was (null before the first event).
	NewestPublished     *time.Time `json:"newest_published"`
	LagSeconds          *float64   `json:"lag_seconds"`
	LastError           string     `json:"last_error"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	EventsPolled        uint64     `json:"events_polled"`
	EventsKept          uint64     `json:"events_kept"`
	// Permissions are the verdicts on each feature of the org's
	// credential (absent when this process has not checked it).
	Permissions []FeaturePermission `json:"permissions,omitempty"`
}

// OrgList is the answer of GET /api/v1/orgs.
type OrgList struct {
	Now  time.Time `json:"now"`
	Orgs []Org     `json:"orgs"`
	// Levels are the attack factor's levels with their score ranges.
	Levels []score.Band `json:"levels"`
}

func (a *API) listOrgs(r *http.Request) (any, error) {
	p := principalFrom(r.Context())
	byTenant := map[string]poll.Status{}
	for _, st := range a.s.Statuses() {
		byTenant[st.Tenant] = st
	}
	var perms map[string][]FeaturePermission
	if a.s.Permissions != nil {
		perms = a.s.Permissions()
	}
	now := a.s.Now().UTC()
	out := OrgList{Now: now, Orgs: []Org{}, Levels: a.s.Bands.Table()}
	for _, o := range a.orgs {
		if !p.may(o.name) {
			continue
		}
		st, running := byTenant[o.name]
		org := a.org(o, st, running, now)
		org.Permissions = perms[o.name]
		out.Orgs = append(out.Orgs, org)
	}
	return out, nil
}

func (a *API) org(o orgInfo, st poll.Status, running bool, now time.Time) Org {
	return NewOrg(o.name, o.description, o.enabled, st, running, a.started, now, a.s.StallAfter)
}
