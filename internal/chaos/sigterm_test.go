package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
)

// sigtermDrain sends SIGTERM while riskpipe works through a backlog: it
// must exit 0 (before a generous 30 s kill deadline) with cursors that
// cover exactly what it wrote (every kept event before a cursor is in
// risk_events, none after it), and a restart must go on from there
// exactly once. The drain time is measured, not asserted.
func (s *suite) sigtermDrain(t *testing.T) {
	sm := newSim(t, s.seed+200, false,
		orgSpec{name: "acme", auth: authSecret, scenario: scenario.ScenarioBench, eps: 200},
		orgSpec{name: "globex", auth: authJWT, scenario: scenario.ScenarioBench, eps: 200})
	const pageLimit = 200
	d := s.deploy(t, sm, s.ch, newDatabase(t, s.ch), cfgSpec{pageLimit: pageLimit})
	orgs := sm.names

	var drains []time.Duration
	prev := map[string]int64{}
	for r := 1; r <= s.sz.sigtermRounds; r++ {
		p := d.start()
		if r == 1 {
			d.WaitIntegrated(p, 2*time.Minute)
			for _, org := range orgs {
				prev[org] = d.From(org)
			}
		}
		for _, org := range orgs {
			sm.org(org).AddBacklog(s.sz.sigtermBacklog)
		}
		// Under load: every org a few pages into the backlog.
		busy := map[string]int64{}
		for _, org := range orgs {
			busy[org] = prev[org] + 3*pageLimit
		}
		d.WaitPositions(p, 3*time.Minute, "riskpipe working through the backlog", busy)
		drain := p.Terminate()
		drains = append(drains, drain)

		pos := d.Positions()
		for _, org := range orgs {
			end := sm.org(org).Len()
			t.Logf("round %d: %s: SIGTERM at log position %d of %d; drained in %s", r, org, pos[org], end, drain)
			require.Greater(t, end-pos[org], int64(pageLimit), "%s had caught up before the SIGTERM: not under load", org)
			// Every kept event before the cursor is stored, none after
			// it: the drain wrote every page it fetched with its cursor.
			want := sm.truth(org, d.Since[org], pos[org], truthOptions{})
			all := sm.truth(org, d.Since[org], end, truthOptions{})
			for id := range d.db.stored(org).Categories {
				te, ok := all.Kept[id]
				require.True(t, ok, "%s: stored event %s is not a kept event of the log", org, id)
				require.Less(t, te.Index, pos[org], "%s: event %s (index %d) stored beyond the cursor", org, id, te.Index)
			}
			res := check(t, sm, d.db, org, want)
			res.Require(t)
			require.Equal(t, uint64(want.To-want.From), d.db.polledCount(org), "%s: event_type_counts", org)
			prev[org] = pos[org]
		}
	}

	// A restart resumes from the drained cursors: exactly once.
	end := d.stopTraffic()
	p := d.start()
	began := time.Now()
	d.WaitPositions(p, 5*time.Minute, "every cursor at the end of its log", end)
	catchUp := time.Since(began)
	drains = append(drains, p.Terminate())

	var results []result
	var events int64
	for _, org := range orgs {
		tr := sm.truth(org, d.Since[org], end[org], truthOptions{})
		events += tr.To - tr.From
		results = append(results, check(t, sm, d.db, org, tr))
		// No kill: every page was counted exactly once.
		require.Equal(t, uint64(tr.To-tr.From), d.db.polledCount(org), "%s: event_type_counts", org)
	}
	d.requireOneIntegration()
	var worst time.Duration
	for _, dr := range drains {
		worst = max(worst, dr)
	}
	s.addResults(fmt.Sprintf("SIGTERM under load ×%d", s.sz.sigtermRounds),
		fmt.Sprintf("drain %s (worst of %d SIGTERMs, exit 0 each)", seconds(worst), len(drains)),
		fmt.Sprintf("%d orgs, %d events (backlog %d per org per round); cursors cover exactly what was written; restart caught up in %s; event_type_counts exact",
			len(orgs), events, s.sz.sigtermBacklog, seconds(catchUp)),
		results...)
	for _, r := range results {
		r.Require(t)
	}
}
