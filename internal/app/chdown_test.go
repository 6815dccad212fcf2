package app

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/simtest"
	"github.com/riskpipe/riskpipe/internal/store"
)

// startPrivateCH starts a ClickHouse server of the test's own on dir (port
// 0: a free one), so stopping it does not disturb the other tests.
func startPrivateCH(t *testing.T, dir string, port int) *chserver.Server {
	t.Helper()
	return startPrivateCHPorts(t, dir, port, 0)
}

// startPrivateCHPorts is startPrivateCH with its HTTP port too.
func startPrivateCHPorts(t *testing.T, dir string, port, httpPort int) *chserver.Server {
	t.Helper()
	if _, ok := chserver.Available(os.Getenv(chtest.EnvBinary)); !ok {
		chtest.Unavailable(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := chserver.Start(ctx, chserver.Options{DataDir: dir, TCPPort: port, HTTPPort: httpPort, Binary: os.Getenv(chtest.EnvBinary)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// While ClickHouse is down the poller keeps the page it holds, fetches
// nothing more and does not move its cursor; its status says why. Once
// ClickHouse is back (same data, same port) everything arrives exactly once.
func TestClickHouseDownPausesPollers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port, httpPort := simtest.PortOutsideEphemeralRange(t), simtest.PortOutsideEphemeralRange(t)
	require.NotEqual(t, port, httpPort)
	ch := startPrivateCHPorts(t, dir, port, httpPort)

	h := newHarness(t, ch, orgSpec{name: "acme", eps: 50})
	o := h.orgs["acme"]
	sink := &hookSink{org: o.org}
	r := h.start(t, h.config(), hooks(map[string]*hookSink{"acme": sink}))
	integratedAt := r.integrated(t, "acme")
	eventually(t, waitFor, func() bool { return len(h.kept(t, "acme")) >= 5 })
	before, ok := h.state(t, "acme")
	require.True(t, ok)
	h.read.Close()

	require.NoError(t, ch.Stop())
	o.injectRisk("while-ch-down", 10)
	eventually(t, waitFor, func() bool {
		s, _ := r.status("acme")
		return s.State == "write_error" && s.ConsecutiveFailures >= 3
	}, "the status reports the write errors")
	s, _ := r.status("acme")
	require.Contains(t, s.LastError, "write batch")
	require.GreaterOrEqual(t, metric(t, r.reg, "riskpipe_write_errors_total", map[string]string{"tenant": "acme"}), 3.0)

	// Back on the same data directory and port.
	ch2 := startPrivateCHPorts(t, dir, port, httpPort)
	require.Equal(t, ch.Addr(), ch2.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	h.read, err = store.Open(ctx, chtest.Config(ch2, h.db), nil)
	require.NoError(t, err)
	t.Cleanup(func() { h.read.Close() })

	o.org.SetRate(0)
	h.converged(t, "acme", h.want(t, "acme", integratedAt), waitFor)
	eventually(t, waitFor, func() bool {
		s, _ := r.status("acme")
		return s.ConsecutiveFailures == 0 && s.LastError == "" && s.State != "write_error"
	}, "the status recovered")

	// The poller held one page through the outage: every failed write was
	// that page, nothing was fetched meanwhile, and the page was written
	// once ClickHouse was back.
	calls := sink.pages()
	first := -1
	for i, c := range calls {
		if c.Err != nil {
			first = i
			break
		}
	}
	require.NotEqual(t, -1, first, "no write failed")
	held := calls[first]
	last := first
	for last < len(calls) && calls[last].Err != nil {
		c := calls[last]
		require.Equal(t, held.Cursor, c.Cursor, "write %d: the held page's cursor", last)
		require.Equal(t, held.Events, c.Events, "write %d: the held page", last)
		require.Equal(t, held.SimRequests, c.SimRequests, "write %d: nothing fetched while ClickHouse is down", last)
		last++
	}
	require.GreaterOrEqual(t, last-first, 3)
	require.Less(t, last, len(calls))
	require.Equal(t, held.Cursor, calls[last].Cursor, "the held page is written after the outage")
	require.Equal(t, held.Events, calls[last].Events)
	requireMonotonicCursors(t, calls)
	after, _ := h.state(t, "acme")
	require.GreaterOrEqual(t, cursorIndex(t, after.Cursor), cursorIndex(t, before.Cursor))
	r.stop(t)
}
