package chaos

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
)

// kill9 kills riskpipe with SIGKILL at random moments while it works
// through a backlog and a steady stream, restarting it each time. After
// every kill no cursor may have moved backwards and the integration times
// must be the ones first recorded; at the end riskpipe catches up and
// ClickHouse must hold every kept event exactly once.
func (s *suite) kill9(t *testing.T) {
	rounds := s.sz.killRounds
	rng := rand.New(rand.NewPCG(uint64(s.seed), 9))
	const (
		minKill = 100 * time.Millisecond
		maxKill = 2500 * time.Millisecond
	)
	sm := newSim(t, s.seed, false,
		orgSpec{name: "acme", auth: authToken, scenario: scenario.ScenarioDemo, eps: 100},
		orgSpec{name: "globex", auth: authJWT, scenario: scenario.ScenarioDemo, eps: 100})
	d := s.deploy(t, sm, s.ch, newDatabase(t, s.ch), cfgSpec{pageLimit: 200})
	orgs := sm.names

	var rate float64 // the most events a second one org was read at so far
	// Before each round, backlog is added until the org nearest to its
	// log's end has more to read than riskpipe read in 1.5 × maxKill so
	// far: kills land mid-backlog on fast machines too, and no more piles
	// up than the final catch-up needs.
	topUp := func(pos map[string]int64) int64 {
		need := min(max(s.sz.killMinLag, int64(1.5*rate*maxKill.Seconds())), s.sz.killMaxLag)
		lag := int64(math.MaxInt64)
		for org, p := range pos {
			lag = min(lag, sm.org(org).Len()-p)
		}
		add := max(0, need-lag)
		if add > 0 {
			for _, org := range orgs {
				sm.org(org).AddBacklog(add)
			}
		}
		return add
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "round\tbacklog added\tkilled after\t")
	for _, org := range orgs {
		fmt.Fprintf(tw, "%s cursor\t(log end)\t", org)
	}
	fmt.Fprintln(tw)

	prev := map[string]int64{}
	midBacklog := 0
	for r := 1; r <= rounds; r++ {
		var (
			p     *proc
			added int64
		)
		if r == 1 {
			p = d.start()
			d.waitIntegrated(p)
			for _, org := range orgs {
				prev[org] = d.from(org)
			}
			added = topUp(prev) // after the integration time: riskpipe must read it all
		} else {
			added = topUp(prev)
			p = d.start()
		}
		began := time.Now()
		time.Sleep(minKill + time.Duration(rng.Int64N(int64(maxKill-minKill))))
		p.Alive(fmt.Sprintf("waiting to kill it (round %d)", r))
		p.Signal(syscall.SIGKILL)
		killedAfter := time.Since(began)
		_, sig := p.Wait(time.Minute)
		require.Equal(t, syscall.SIGKILL, sig, "round %d", r)

		pos := d.positions() // never backwards, integration time unchanged
		busy := false
		fmt.Fprintf(tw, "%d\t%d\t%s\t", r, added, killedAfter.Round(time.Millisecond))
		for _, org := range orgs {
			rate = max(rate, float64(pos[org]-prev[org])/killedAfter.Seconds())
			end := sm.org(org).Len()
			if pos[org] > prev[org] && end-pos[org] > 200 {
				busy = true // it had advanced and still had pages to read
			}
			fmt.Fprintf(tw, "%d\t(%d)\t", pos[org], end)
			prev[org] = pos[org]
		}
		fmt.Fprintln(tw)
		if busy {
			midBacklog++
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
		fmt.Sprintf("%d orgs, %d events; %d kills mid-backlog; cursors never moved backwards; integration times unchanged; final SIGTERM drain %s",
			len(orgs), events, midBacklog, seconds(drain)),
		results...)
	require.Positive(t, midBacklog, "no kill landed while riskpipe was working through the log: the test proved nothing")
	for _, r := range results {
		r.require(t)
	}
}
