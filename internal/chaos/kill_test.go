package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/simtest"
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
	const pageLimit = 200
	sm := newSim(t, s.seed, false,
		orgSpec{name: "acme", auth: authToken, scenario: scenario.ScenarioDemo, eps: 100},
		orgSpec{name: "globex", auth: authJWT, scenario: scenario.ScenarioDemo, eps: 100})
	d := s.deploy(t, sm, s.ch, newDatabase(t, s.ch), cfgSpec{pageLimit: pageLimit})
	orgs := sm.names
	kills := simtest.KillRounds(t, simtest.KillRig{
		Orgs:           orgs,
		Start:          func(int) *proc { return d.start() },
		WaitIntegrated: func(p *proc) { d.WaitIntegrated(p, 2*time.Minute) },
		First:          d.From,
		Positions:      d.Positions, // never backwards, integration time unchanged
		WaitPositions:  d.WaitPositions,
		Org:            sm.org,
		AddBacklog: func(n int64) {
			for _, org := range orgs {
				sm.org(org).AddBacklog(n)
			}
		},
		PageLimit: pageLimit,
	}, simtest.KillOptions{Rounds: rounds, Seed: s.seed, MinLag: s.sz.killMinLag})
	prev := kills.Last

	// The last restart: how long until the cursors move again, and until
	// riskpipe has caught up with everything published so far.
	end := d.stopTraffic()
	p := d.start()
	began := time.Now()
	resumeAt := map[string]int64{}
	for _, org := range orgs {
		resumeAt[org] = min(prev[org]+1, end[org])
	}
	resume := d.WaitPositions(p, 3*time.Minute, "cursors moving after the last restart", resumeAt)
	d.WaitPositions(p, 5*time.Minute, "every cursor at the end of its log", end)
	catchUp := time.Since(began)
	drain := p.Terminate()
	t.Logf("cursor positions (log index) after each kill:\n%s", kills.Table(orgs, end))

	var results []result
	var events int64
	for _, org := range orgs {
		tr := sm.truth(org, d.Since[org], end[org], truthOptions{})
		require.Equal(t, end[org], tr.To, "%s: truth range", org)
		events += tr.To - tr.From
		r := check(t, sm, d.db, org, tr)
		results = append(results, r)
		// A page replayed after a kill is counted again in
		// event_type_counts (a SummingMergeTree); none may be missing.
		require.GreaterOrEqual(t, d.db.polledCount(org), uint64(tr.To-tr.From), "%s: event_type_counts lost events", org)
	}
	d.requireOneIntegration()
	s.addResults(fmt.Sprintf("kill -9 ×%d", rounds),
		fmt.Sprintf("%s to resume, %s to catch up", seconds(resume), seconds(catchUp)),
		fmt.Sprintf("%d orgs, %d events; every kill mid-backlog (a held page request); cursors never moved backwards; integration times unchanged; final SIGTERM drain %s",
			len(orgs), events, seconds(drain)),
		results...)
	for _, r := range results {
		r.Require(t)
	}
}
