package chaos

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
)

// kill9 kills riskpipe with SIGKILL while it works through a backlog and
// a steady stream, restarting it each time. Every kill lands mid-backlog,
// by a deterministic trigger rather than a timer racing with the machine:
// the simulator holds riskpipe's request for a random page (the 2nd to
// 5th of the round) of one org, and the kill comes once that request is in
// flight and the pages before it are written (the other org is wherever
// its own work has brought it). After every kill no cursor may have moved
// backwards and the integration times must be the ones first recorded; at
// the end riskpipe catches up and ClickHouse must hold every kept event
// exactly once.
func (s *suite) kill9(t *testing.T) {
	rounds := s.sz.killRounds
	rng := rand.New(rand.NewPCG(uint64(s.seed), 9))
	const pageLimit = 200
	sm := newSim(t, s.seed, false,
		orgSpec{name: "acme", auth: authToken, scenario: scenario.ScenarioDemo, eps: 100},
		orgSpec{name: "globex", auth: authJWT, scenario: scenario.ScenarioDemo, eps: 100})
	d := s.deploy(t, sm, s.ch, newDatabase(t, s.ch), cfgSpec{pageLimit: pageLimit})
	orgs := sm.names

	// Before each round, backlog is added until every org has at least
	// killMinLag events to read: more than the pages before the held one.
	topUp := func(pos map[string]int64) int64 {
		lag := int64(math.MaxInt64)
		for org, p := range pos {
			lag = min(lag, sm.org(org).Len()-p)
		}
		add := max(0, s.sz.killMinLag-lag)
		if add > 0 {
			for _, org := range orgs {
				sm.org(org).AddBacklog(add)
			}
		}
		return add
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "round\tbacklog added\tkilled at\tafter\t")
	for _, org := range orgs {
		fmt.Fprintf(tw, "%s cursor\t(log end)\t", org)
	}
	fmt.Fprintln(tw)

	prev := map[string]int64{}
	for r := 1; r <= rounds; r++ {
		var (
			p     *proc
			added int64
			hold  *oktasim.Hold
		)
		held := orgs[(r-1)%len(orgs)]
		page := 2 + rng.IntN(4)
		arm := func() { hold = sm.org(held).HoldRequest(page-1, isPageRequest) }
		if r == 1 {
			p = d.start()
			d.waitIntegrated(p)
			for _, org := range orgs {
				prev[org] = d.from(org)
			}
			added = topUp(prev) // after the integration time: riskpipe must read it all
			arm()
		} else {
			added = topUp(prev)
			arm()
			p = d.start()
		}
		began := time.Now()
		waitFor(t, 2*time.Minute, fmt.Sprintf("round %d: riskpipe asking %s for page %d of the round", r, held, page), func() (bool, string) {
			p.Alive(fmt.Sprintf("waiting for its request (round %d)", r))
			select {
			case <-hold.Held():
				return true, ""
			default:
				return false, "not yet"
			}
		})
		// The pages before the held one are written while it waits.
		d.waitPositions(p, 2*time.Minute, fmt.Sprintf("round %d: %s's pages before the held one written", r, held),
			map[string]int64{held: prev[held] + 1})
		p.Signal(syscall.SIGKILL)
		killedAfter := time.Since(began)
		_, sig := p.Wait(time.Minute)
		hold.Release() // into a closed connection
		require.Equal(t, syscall.SIGKILL, sig, "round %d", r)

		pos := d.positions() // never backwards, integration time unchanged
		fmt.Fprintf(tw, "%d\t%d\t%s page %d\t%s\t", r, added, held, page, killedAfter.Round(time.Millisecond))
		for _, org := range orgs {
			fmt.Fprintf(tw, "%d\t(%d)\t", pos[org], sm.org(org).Len())
		}
		fmt.Fprintln(tw)
		// Mid-backlog: it had written pages of the round and had more
		// than a page still to read.
		require.Greater(t, pos[held], prev[held], "round %d: %s's cursor did not advance before the kill", r, held)
		require.Greater(t, sm.org(held).Len()-pos[held], int64(pageLimit), "round %d: %s was not mid-backlog at the kill", r, held)
		for _, org := range orgs {
			prev[org] = pos[org]
		}
	}

	// The last restart: how long until the cursors move again, and until
	// riskpipe has caught up with everything published so far.
	end := d.stopTraffic()
	p := d.start()
	began := time.Now()
	resumeAt := map[string]int64{}
	for _, org := range orgs {
		resumeAt[org] = min(prev[org]+1, end[org])
	}
	resume := d.waitPositions(p, 3*time.Minute, "cursors moving after the last restart", resumeAt)
	d.waitPositions(p, 5*time.Minute, "every cursor at the end of its log", end)
	catchUp := time.Since(began)
	drain := p.Terminate()
	fmt.Fprintf(tw, "final\t\tSIGTERM, exit 0\t")
	for _, org := range orgs {
		fmt.Fprintf(tw, "%d\t(%d)\t", end[org], end[org])
	}
	fmt.Fprintln(tw)
	tw.Flush()
	t.Logf("cursor positions (log index) after each kill:\n%s", table.String())

	var results []result
	var events int64
	for _, org := range orgs {
		tr := sm.truth(org, d.since[org], end[org], truthOptions{})
		require.Equal(t, end[org], tr.to, "%s: truth range", org)
		events += tr.to - tr.from
		r := check(t, sm, d.db, org, tr)
		results = append(results, r)
		// A page replayed after a kill is counted again in
		// event_type_counts (a SummingMergeTree); none may be missing.
		require.GreaterOrEqual(t, d.db.polledCount(org), uint64(tr.to-tr.from), "%s: event_type_counts lost events", org)
	}
	d.requireOneIntegration()
	s.addResults(fmt.Sprintf("kill -9 ×%d", rounds),
		fmt.Sprintf("%s to resume, %s to catch up", seconds(resume), seconds(catchUp)),
		fmt.Sprintf("%d orgs, %d events; every kill mid-backlog (a held page request); cursors never moved backwards; integration times unchanged; final SIGTERM drain %s",
			len(orgs), events, seconds(drain)),
		results...)
	for _, r := range results {
		r.require(t)
	}
}

// isPageRequest is a page request of a poller resuming from a cursor (not
// a credential probe or a first request with since).
func isPageRequest(r *http.Request) bool { return r.URL.Query().Get("after") != "" }
