package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/simtest"
	"github.com/riskpipe/riskpipe/internal/store"
)

// rssBound is a sanity bound on riskpipe's resident memory while
// ClickHouse is down (each poller holds one page): not a performance
// assertion.
const rssBound = 200 << 20

// outage stops ClickHouse for a while under running pollers and brings it
// back on the same data and port. While it is down the pollers must pause:
// at most one page fetched per org (the one held for writing), the stored
// cursor exactly where the last confirmed write left it, memory bounded.
// Once it is back everything must arrive, exactly once.
func (s *suite) outage(t *testing.T) {
	if _, ok := chserver.Available(os.Getenv(chtest.EnvBinary)); !ok {
		chtest.Unavailable(t)
	}
	dir := t.TempDir()
	port, httpPort := simtest.PortOutsideEphemeralRange(t), simtest.PortOutsideEphemeralRange(t)
	for httpPort == port {
		httpPort = simtest.PortOutsideEphemeralRange(t)
	}
	ch := startCH(t, dir, port, httpPort)

	sm := newSim(t, s.seed+100, false,
		orgSpec{name: "acme", auth: authToken, scenario: scenario.ScenarioDemo, eps: s.sz.outageEPS},
		orgSpec{name: "initech", auth: authSecret, scenario: scenario.ScenarioBench, eps: s.sz.outageEPS})
	d := s.deploy(t, sm, ch, "chaos_outage", cfgSpec{pageLimit: 200})
	orgs := sm.names

	p := d.start()
	d.WaitIntegrated(p, 2*time.Minute)
	// Running normally: every org wrote a few pages.
	running := map[string]int64{}
	for _, org := range orgs {
		running[org] = d.From(org) + int64(3*s.sz.outageEPS)
	}
	d.WaitPositions(p, 2*time.Minute, "every org polling", running)
	pre := d.Positions()
	rssBefore, err := p.RSS()
	require.NoError(t, err)

	if err := ch.Stop(); err != nil {
		t.Logf("stop clickhouse: %v", err) // killed after a minute: an outage all the same
	}
	downAt := time.Now()
	var maxRSS int64
	samples := 0
	for time.Since(downAt) < s.sz.outage {
		p.Alive("ClickHouse is down")
		rss, err := p.RSS()
		require.NoError(t, err)
		maxRSS = max(maxRSS, rss)
		samples++
		require.Less(t, rss, int64(rssBound), "riskpipe's RSS while ClickHouse is down")
		time.Sleep(250 * time.Millisecond)
	}
	// What poll_state held when ClickHouse went down, read from its data
	// on another port, where riskpipe cannot write first.
	side := readStatesOffline(t, dir, "chaos_outage")
	p.Alive("ClickHouse is down")
	upBegin := time.Now()
	ch = startCH(t, dir, port, httpPort)
	upAt := time.Now()
	outage := upAt.Sub(downAt)
	d.srv, d.db = ch, openDB(t, ch, "chaos_outage")
	endAtUp := d.ends()

	var notes []string
	resumeAt := map[string]int64{} // where each org's first page after the restart must start
	for _, org := range orgs {
		st, ok := side[org]
		require.True(t, ok, "%s: no poll_state in the data", org)
		require.True(t, st.IntegratedAt.Equal(d.Since[org]), "%s: integrated_at changed", org)
		stored := simtest.CursorPosition(t, st.Cursor, d.From(org))
		require.GreaterOrEqual(t, stored, pre[org], "%s: cursor moved backwards", org)

		// Pages the simulator answered (200) to riskpipe during the
		// outage: at most the one it holds for writing.
		var during []servedPage
		var last *servedPage // the last page served before ClickHouse was back
		pages := sm.served.snapshot(org)
		for i := range pages {
			pg := &pages[i]
			if pg.status != http.StatusOK || !pg.began.Before(upAt) {
				continue
			}
			last = pg
			if !pg.began.Before(downAt) {
				during = append(during, *pg)
			}
		}
		require.NotNil(t, last, org)
		require.LessOrEqual(t, len(during), 1, "%s: pages fetched while ClickHouse was down: the poller did not pause", org)
		lastFrom, lastNext := sm.position(org, *last), simtest.AfterIndex(t, last.next)
		// The stored cursor is where the last confirmed write left it:
		// the start of a page held in memory (the poller holds the batch
		// it retries and the pages fetched behind it, at most
		// poll.Settings.WritePages), or (nothing held) the end of the
		// last page.
		starts := map[int64]bool{lastNext: true}
		for i := range pages {
			if pages[i].status == http.StatusOK && pages[i].began.Before(upAt) {
				starts[sm.position(org, pages[i])] = true
			}
		}
		require.True(t, starts[stored] && stored <= lastNext,
			"%s: stored cursor at %d, not the start of a page served before the restart (the last was [%d, %d))", org, stored, lastFrom, lastNext)
		heldPages := 0
		for i := range pages {
			if from := sm.position(org, pages[i]); pages[i].status == http.StatusOK && pages[i].began.Before(upAt) && from >= stored && from < lastNext {
				heldPages++
			}
		}
		require.LessOrEqual(t, heldPages, 17, "%s: more pages held than the write in flight and WritePages (16, app.buildPollers) behind it", org)
		notes = append(notes, fmt.Sprintf("%s: cursor %d stored before the outage → %d as ClickHouse came back (%d page fetched while down, %d held)",
			org, pre[org], stored, len(during), heldPages))
		resumeAt[org] = lastNext
	}

	recoverIn := d.WaitPositions(p, 5*time.Minute, "every org caught up with what was published during the outage", endAtUp)

	// A SIGTERM while ClickHouse is down again: riskpipe must still exit
	// 0 before the kill deadline, and a restart once ClickHouse is back
	// must go on from the stored cursors.
	if err := ch.Stop(); err != nil {
		t.Logf("stop clickhouse: %v", err)
	}
	time.Sleep(2 * time.Second)
	downDrain := p.Terminate()
	ch = startCH(t, dir, port, httpPort)
	d.srv, d.db = ch, openDB(t, ch, "chaos_outage")
	p = d.start()
	end := d.stopTraffic()
	d.WaitPositions(p, 5*time.Minute, "every cursor at the end of its log", end)
	drain := p.Terminate()

	// The first page fetched after the restart starts where the last one
	// before it ended: nothing skipped, nothing re-read.
	for _, org := range orgs {
		found := false
		for _, pg := range sm.served.snapshot(org) {
			if pg.status == http.StatusOK && !pg.began.Before(upAt) {
				require.Equal(t, resumeAt[org], sm.position(org, pg), "%s: first page after the restart", org)
				found = true
				break
			}
		}
		require.True(t, found, "%s: nothing fetched after the restart", org)
	}

	var results []result
	var events int64
	for _, org := range orgs {
		tr := sm.truth(org, d.Since[org], end[org], truthOptions{})
		events += tr.To - tr.From
		results = append(results, check(t, sm, d.db, org, tr))
		require.GreaterOrEqual(t, d.db.polledCount(org), uint64(tr.To-tr.From), "%s: event_type_counts lost events", org)
	}
	d.requireOneIntegration()
	t.Logf("outage of %s (%s upBegin→upAt): %s; RSS %d MB before, at most %d MB in %d samples while down",
		seconds(outage), seconds(upAt.Sub(upBegin)), strings.Join(notes, "; "), rssBefore>>20, maxRSS>>20, samples)
	s.addResults(fmt.Sprintf("ClickHouse down %s", seconds(outage)), seconds(recoverIn)+" after it was back",
		fmt.Sprintf("%d orgs, %d events; ≤1 page fetched per org while down, poll_state unchanged during the outage (read from its data before riskpipe could write), first page after it resumed at the stored cursor; max RSS %d MB while down (bound %d MB); a second outage with SIGTERM: exit 0 in %s, restart caught up; final drain %s",
			len(orgs), events, maxRSS>>20, rssBound>>20, seconds(downDrain), seconds(drain)),
		results...)
	for _, r := range results {
		r.Require(t)
	}
}

// startCH starts a private ClickHouse on dir and the given ports and stops
// it when the test ends (or earlier, by the test).
func startCH(t *testing.T, dir string, port, httpPort int) *chserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := chserver.Start(ctx, chserver.Options{DataDir: dir, TCPPort: port, HTTPPort: httpPort, Binary: os.Getenv(chtest.EnvBinary), StopTimeout: time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { killCH(srv) })
	return srv
}

// readStatesOffline starts ClickHouse on dir on other (free) ports, reads
// every tenant's poll_state from database dbName and stops it again.
func readStatesOffline(t *testing.T, dir, dbName string) map[string]store.PollState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := chserver.Start(ctx, chserver.Options{DataDir: dir, Binary: os.Getenv(chtest.EnvBinary), StopTimeout: time.Minute})
	require.NoError(t, err)
	defer func() {
		if err := srv.Stop(); err != nil {
			t.Logf("stop the offline clickhouse: %v", err)
		}
	}()
	d := openDB(t, srv, dbName)
	defer d.st.Close()
	return d.pollStates()
}
