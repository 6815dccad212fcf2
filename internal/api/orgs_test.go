package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/poll"
)

func TestListOrgsStatusAndStall(t *testing.T) {
	e := newEnv(t) // the API "started" at now0
	integrated := now0.Add(-48 * time.Hour)
	e.setStatuses(
		poll.Status{Tenant: "acme", State: "caught_up", IntegratedAt: integrated,
			LastPoll: now0.Add(90 * time.Minute), LastSuccess: now0.Add(90 * time.Minute),
			LastCursorAdvance: now0.Add(80 * time.Minute), NewestPublished: now0.Add(79 * time.Minute),
			EventsPolled: 1200, EventsKept: 14},
		poll.Status{Tenant: "globex", State: "auth_error", IntegratedAt: integrated,
			LastPoll: now0.Add(89 * time.Minute), LastError: "okta: 401 invalid token", ConsecutiveFailures: 7},
	)

	tests := []struct {
		name        string
		at          time.Time
		wantStalled map[string]bool
	}{
		{name: "within the threshold of riskpipe's start", at: now0.Add(59 * time.Minute),
			wantStalled: map[string]bool{"acme": false, "globex": false, "initech": false}},
		{name: "globex received nothing for over an hour", at: now0.Add(90 * time.Minute),
			wantStalled: map[string]bool{"acme": false, "globex": true, "initech": false}},
		{name: "acme's last events over an hour ago", at: now0.Add(141 * time.Minute),
			wantStalled: map[string]bool{"acme": true, "globex": true, "initech": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Set(tt.at)
			var list OrgList
			e.getJSONT(t, "/api/v1/orgs", tokenAll, &list)
			require.Equal(t, tt.at, list.Now)
			got := map[string]bool{}
			for _, o := range list.Orgs {
				got[o.Tenant] = o.Stalled
				require.Equal(t, 3600.0, o.StallAfterSeconds)
			}
			require.Equal(t, tt.wantStalled, got)
		})
	}

	e.clock.Set(now0.Add(90 * time.Minute))
	var list OrgList
	e.getJSON("/api/v1/orgs", tokenAll, &list)
	require.Len(t, list.Orgs, 3)
	acme, globex, initech := list.Orgs[0], list.Orgs[1], list.Orgs[2]
	require.Equal(t, "acme", acme.Tenant)
	require.Equal(t, "Acme production", acme.Description)
	require.Equal(t, "caught_up", acme.State)
	require.True(t, acme.Enabled)
	require.Equal(t, now0.Add(80*time.Minute), *acme.LastReceived)
	require.Equal(t, 660.0, *acme.LagSeconds, "now minus the newest published time")
	require.Equal(t, uint64(14), acme.EventsKept)

	require.Equal(t, "auth_error", globex.State)
	require.Equal(t, "okta: 401 invalid token", globex.LastError)
	require.Equal(t, 7, globex.ConsecutiveFailures)
	require.Nil(t, globex.LagSeconds, "no event seen yet")
	require.Equal(t, now0, *globex.LastReceived, "riskpipe's start, later than the integration")

	require.Equal(t, "initech", initech.Tenant)
	require.False(t, initech.Enabled)
	require.Equal(t, "disabled", initech.State)
	require.Nil(t, initech.LastPoll)
}

func TestListOrgsPerToken(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		token string
		want  []string
	}{
		{tokenAcme, []string{"acme"}},
		{tokenGlobex, []string{"globex"}},
		{tokenBoth, []string{"acme", "globex"}},
		{tokenAll, []string{"acme", "globex", "initech"}},
	}
	for _, tt := range tests {
		var list OrgList
		e.getJSON("/api/v1/orgs", tt.token, &list)
		var got []string
		for _, o := range list.Orgs {
			got = append(got, o.Tenant)
		}
		require.Equal(t, tt.want, got, tt.token)
	}
}
