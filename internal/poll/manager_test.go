package poll

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/oktasim"
)

// The manager runs one poller per tenant: a tenant whose org fails for
// good neither stops nor delays the others, Statuses lists every tenant by
// name, and Run returns nil once cancelled.
func TestManager(t *testing.T) {
	srv, u := startSim(t, oktasim.OrgOptions{Name: "zeta"}, oktasim.OrgOptions{Name: "alpha"}, oktasim.OrgOptions{Name: "mid"})
	sinks := map[string]*fakeSink{}
	var pollers []*Poller
	for _, name := range []string{"zeta", "alpha", "mid"} {
		client := newClient(t, name, srv.BaseURL(u, name))
		prime(t, client)
		sink := &fakeSink{State: &fakeState{}}
		p := New(Settings{
			Tenant: name, Interval: 20 * time.Millisecond, PageLimit: 10, Source: client, Sink: sink, State: sink.State,
			Classify: testClassify, MaxStartDelay: time.Nanosecond,
			RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond, AuthMin: time.Millisecond, AuthMax: 10 * time.Millisecond,
		})
		sink.poller = p
		sinks[name] = sink
		pollers = append(pollers, p)
	}
	// alpha's API token is revoked, mid answers only 500s: for good.
	require.NoError(t, srv.Org("alpha").SetFault(oktasim.Fault{Kind: oktasim.FaultUnauthorized, Probability: 1}))
	require.NoError(t, srv.Org("mid").SetFault(oktasim.Fault{Kind: oktasim.FaultServerError, Probability: 1}))
	m := NewManager(pollers...)
	stop := runInBackground(t, m.Run)

	eventually(t, func() bool {
		a, mid := pollers[1].Status(), pollers[2].Status()
		return a.State == "auth_error" && a.ConsecutiveFailures >= 5 && mid.State == "backing_off" && mid.ConsecutiveFailures >= 5
	})
	ids := inject(srv.Org("zeta"), "z", 25, 0)
	eventually(t, func() bool { return len(sinks["zeta"].keptIDs()) == 25 })
	require.Equal(t, ids, sinks["zeta"].keptIDs())
	require.Empty(t, sinks["alpha"].keptIDs())
	require.Empty(t, sinks["mid"].keptIDs())

	sts := m.Statuses()
	require.Len(t, sts, 3)
	require.Equal(t, []string{"alpha", "mid", "zeta"}, []string{sts[0].Tenant, sts[1].Tenant, sts[2].Tenant})
	require.Contains(t, sts[0].LastError, "401")
	require.Contains(t, sts[1].LastError, "500")
	require.Empty(t, sts[2].LastError)
	stop()
}

func TestManagerWithoutPollers(t *testing.T) {
	m := NewManager()
	require.Empty(t, m.Statuses())
	runInBackground(t, m.Run)() // returns nil once cancelled
}
