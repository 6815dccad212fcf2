package poll

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/oktasim"
)

// Pollers give every page's buffer back (okta.Buffers): two tenants
// sharing a single buffer both catch up, through full pages, short pages,
// refetched invalid pages and an invalid page dead-lettered whole, whose
// payload is a copy that later pages cannot overwrite.
func TestPollersShareBoundedPageBuffers(t *testing.T) {
	buffers := okta.NewBuffers(1)
	var fx [2]*fixture
	var ids [2][]string
	for i, prefix := range []string{"a", "b"} {
		f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) { s.Interval = 20 * time.Millisecond })
		c, err := okta.New(okta.Settings{
			Tenant: tenant, BaseURL: f.sim.base, MaxRetries: -1, RequestTimeout: 30 * time.Second, Buffers: buffers,
			Auth: config.Auth{Method: config.AuthAPIToken, Token: config.Secret(testToken)},
		})
		require.NoError(t, err)
		t.Cleanup(c.CloseIdleConnections)
		p, err := c.Fetch(t.Context(), c.PollURL(time.Now(), 1)) // learn the rate limit
		require.NoError(t, err)
		p.Release()
		f.src.Source = c

		var raws [][]byte
		ids[i], raws = makeEvents(prefix, 35, 0)
		org := f.sim.org
		f.sink.Before = onIntegration(func() {
			org.Inject(raws...)
			if prefix == "b" {
				// The second page is invalid four times: refetched three
				// times, then dead-lettered whole.
				require.NoError(t, org.SetFault(oktasim.Fault{Kind: oktasim.FaultInvalidJSON, Count: 4, Skip: 1}))
			}
		})
		fx[i] = f
	}
	stops := []func(){fx[0].start(t), fx[1].start(t)}
	eventually(t, func() bool { return len(fx[0].sink.keptIDs()) == 35 && fx[0].poller.Status().State == "caught_up" })
	eventually(t, func() bool { return len(fx[1].sink.keptIDs()) == 25 && fx[1].poller.Status().State == "caught_up" })
	for _, stop := range stops {
		stop()
	}
	require.Zero(t, buffers.InUse(), "every page's buffer was given back")

	require.Equal(t, ids[0], fx[0].sink.keptIDs())
	require.Equal(t, append(append([]string{}, ids[1][:10]...), ids[1][20:]...), fx[1].sink.keptIDs())
	dls := fx[1].sink.deadLetters()
	require.Len(t, dls, 1)
	require.True(t, strings.HasPrefix(dls[0].Reason, "invalid page"), dls[0].Reason)
	for _, id := range ids[1][10:19] { // the last one is cut in half
		require.Contains(t, string(dls[0].Payload), id, "the dead letter keeps the invalid page as served")
	}
}
