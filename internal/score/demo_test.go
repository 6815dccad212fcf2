package score

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/classify"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
)

// TestSimulatorDemo runs the simulator's "demo" org through the classifier
// and the engine the way a poller does (pages of 1000; sightings of every
// event, kept ones and re-attributed ThreatInsight) and checks the ranking:
// leaked-credential users, ITP HIGH users and spray victims above everyone
// else; the damped new hires below every other attacked user.
func TestSimulatorDemo(t *testing.T) {
	for _, cycles := range []int64{1, 3} {
		s, err := scenario.New(scenario.Options{Org: "acme", Seed: 1, Users: 500, Scenario: scenario.ScenarioDemo})
		require.NoError(t, err)
		t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		eng, err := NewEngine("acme", t0, Config{})
		require.NoError(t, err)
		cl := classify.New(nil)
		const page, step = 1000, 2 * time.Second
		var end time.Time
		for start := int64(0); start < cycles*scenario.DemoPeriod; start += page {
			var raws []json.RawMessage
			var sightings []SeenUser
			for i := start; i < start+page; i++ {
				at := t0.Add(time.Duration(i) * step)
				ev := s.Event(i, at)
				raws = append(raws, ev.Raw)
				d, err := event.Decode(ev.Raw, at)
				require.NoError(t, err)
				sightings = AppendSeen(sightings, &d)
				end = at.Add(time.Minute)
			}
			res := cl.Page(raws, end)
			eng.ObservePage(sightings, append(res.Kept, res.Updated...), end)
		}
		eng.Refresh(end)

		tr := s.Truth()
		top := map[string]bool{}
		for _, set := range [][]scenario.User{tr.LeakedCredentialUsers, tr.ITPHighUsers, tr.SprayVictims} {
			for _, u := range set {
				top[u.ID] = true
			}
		}
		hires := map[string]bool{}
		for c := range cycles {
			for _, u := range s.NewHires(c) {
				hires[u.ID] = true
			}
		}
		got := eng.Top(0, end)
		require.Greater(t, len(got), len(top)+len(hires))
		for i, f := range got {
			if i < len(top) {
				require.True(t, top[f.UserID], "cycles %d: #%d %s %v (%s) is not a target", cycles, i, f.UserLogin, f.Score, f.Explanation)
				require.GreaterOrEqual(t, f.Score, DefaultBands().Medium)
			}
			if hires[f.UserID] {
				require.Greater(t, i, len(got)-len(hires)-1, "a hire ranks above an attacked user")
				require.Equal(t, "high_risk:first_sign_in 100%", f.Explanation)
			}
		}
	}
}
