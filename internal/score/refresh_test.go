package score

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
)

// TestRefresh: Refresh writes only material changes: score or percentile
// moved by MaterialChange, level or signal count changed, or reached 0.
func TestRefresh(t *testing.T) {
	e := newEngine(t, Config{})
	out := e.ObservePage(seen(now.Add(-10*day), "a", "b", "c"),
		events(ev{id: "e1", user: "a", cat: event.CategoryLeakedCredentials, at: now}), now)
	require.Len(t, out.Updates, 1)
	require.Equal(t, 55.07, out.Updates[0].Score)
	require.Equal(t, 66.67, out.Updates[0].Percentile)

	require.Empty(t, e.Refresh(now.Add(time.Minute)).Updates, "nothing moved")
	require.Empty(t, e.Refresh(now.Add(2*day)).Updates, "51.55 is within 5 points of 55.07")
	up := e.Refresh(now.Add(4 * day)).Updates
	require.Equal(t, []Update{{
		Tenant: tenant, UpdatedAt: now.Add(4 * day),
		Factor: Factor{
			UserID: "a", UserLogin: "a@acme.example", Score: 48.12, Percentile: 66.67,
			Level: LevelHigh, Signals: 1, Explanation: "leaked_credentials 100%",
		},
		CauseCategory: CauseRefresh,
	}}, up)
	require.Empty(t, e.Refresh(now.Add(4*day)).Updates, "written already")

	// Another user's new signal moves a's percentile: the page writes d,
	// the refresh writes a.
	out = e.ObservePage(seen(now.Add(4*day), "d"),
		events(ev{id: "e2", user: "d", cat: event.CategoryLeakedCredentials, at: now.Add(4 * day)}), now.Add(4*day))
	require.Len(t, out.Updates, 1)
	require.Equal(t, "d", out.Updates[0].UserID)
	require.Equal(t, 75.0, out.Updates[0].Percentile)
	up = e.Refresh(now.Add(4*day + time.Minute)).Updates
	require.Len(t, up, 1)
	require.Equal(t, "a", up[0].UserID)
	require.Equal(t, 50.0, up[0].Percentile)

	// The level band changes (high → medium at 40) even if by little.
	e2 := newEngine(t, Config{MaterialChange: 50})
	e2.ObservePage(seen(now.Add(-10*day), "a"), events(ev{id: "e1", user: "a", cat: event.CategoryLeakedCredentials, at: now}), now)
	require.Empty(t, e2.Refresh(now.Add(6*day)).Updates) // 44.8: still high
	up = e2.Refresh(now.Add(10 * day)).Updates           // 38.6: medium
	require.Len(t, up, 1)
	require.Equal(t, LevelMedium, up[0].Level)

	up = e2.Refresh(now.Add(29 * day)).Updates // 17.3: low
	require.Len(t, up, 1)
	require.Equal(t, LevelLow, up[0].Level)
	require.Equal(t, uint32(1), up[0].Signals)
	// The signal leaves the 30-day window: signals 1 → 0.
	require.Empty(t, e2.Refresh(now.Add(30*day-time.Second)).Updates)
	up = e2.Refresh(now.Add(30 * day)).Updates
	require.Len(t, up, 1)
	require.Equal(t, uint32(0), up[0].Signals)
	require.Greater(t, up[0].Score, 0.0)

	// Beyond the horizon: a last row at 0, then the user is forgotten.
	var last Update
	for d := 31 * day; d <= 141*day; d += day {
		for _, u := range e2.Refresh(now.Add(d)).Updates {
			last = u
		}
	}
	require.Equal(t, 0.0, last.Score)
	require.Equal(t, 0.0, last.Percentile)
	require.Equal(t, LevelLow, last.Level)
	require.Empty(t, e2.users)
	require.Empty(t, e2.Refresh(now.Add(142*day)).Updates)
}

func TestRefreshDue(t *testing.T) {
	e := newEngine(t, Config{RefreshEvery: 10 * time.Minute})
	require.True(t, e.RefreshDue(now))
	e.Refresh(now)
	require.False(t, e.RefreshDue(now.Add(9*time.Minute)))
	require.True(t, e.RefreshDue(now.Add(10*time.Minute)))
}

// TestMemoryCap: a user keeps the MaxSignalsPerUser strongest signals, the
// same whatever the order; evicted signals replayed stay out.
func TestMemoryCap(t *testing.T) {
	var xs []ev
	for i := range 1000 {
		x := ev{id: fmt.Sprintf("h%04d", i), user: "u1", cat: event.CategoryHighRisk,
			at: now.Add(-time.Duration(i) * 37 * time.Minute)}
		if i%100 == 7 {
			x.cat = event.CategoryLeakedCredentials
		}
		xs = append(xs, x)
	}
	kept := func(e *Engine) []string {
		var ids []string
		for _, s := range e.users["u1"].sigs {
			ids = append(ids, s.id)
		}
		slices.Sort(ids)
		return ids
	}
	// The 64 strongest: by log2(weight) + published/half-life.
	strongest := slices.Clone(xs)
	rank := func(x ev) float64 {
		w := 10.0
		if x.cat == event.CategoryLeakedCredentials {
			w = 40
		}
		return w * decayed(1, now.Sub(x.at))
	}
	slices.SortFunc(strongest, func(a, b ev) int {
		if rank(a) > rank(b) {
			return -1
		}
		return 1
	})
	var want []string
	for _, x := range strongest[:DefaultMaxSignalsPerUser] {
		want = append(want, x.id)
	}
	slices.Sort(want)

	e1 := newEngine(t, Config{})
	e1.ObservePage(seen(now.Add(-50*day), "u1"), events(xs...), now)
	require.Len(t, e1.users["u1"].sigs, DefaultMaxSignalsPerUser)
	require.Equal(t, want, kept(e1))
	require.Contains(t, kept(e1), "h0907", "an old leaked credential outweighs newer sign-ins")

	rev := slices.Clone(xs)
	slices.Reverse(rev)
	e2 := newEngine(t, Config{})
	e2.ObservePage(seen(now.Add(-50*day), "u1"), nil, now)
	for i := 0; i < len(rev); i += 10 {
		e2.ObservePage(nil, events(rev[i:i+10]...), now)
	}
	require.Equal(t, want, kept(e2))
	require.Equal(t, e1.Top(0, now), e2.Top(0, now))
	f := e1.Top(0, now)[0]
	require.Equal(t, uint32(DefaultMaxSignalsPerUser), f.Signals)

	out := e1.ObservePage(nil, events(xs...), now)
	require.Empty(t, out.Updates)
	require.Equal(t, want, kept(e1))
}

// TestActivity: org_attack_activity rows are absolute counts per bucket
// and category; replays do not change them; an org-level ThreatInsight
// event attributed later moves to its user.
func TestActivity(t *testing.T) {
	e := newEngine(t, Config{})
	h := now.Add(-30 * time.Minute).Truncate(time.Hour) // 11:00, now is 12:00
	out := e.ObservePage(nil, events(
		ev{id: "t1", cat: event.CategoryThreatInsight, at: h.Add(time.Minute)},
		ev{id: "t2", cat: event.CategoryThreatInsight, at: h.Add(2 * time.Minute)},
		ev{id: "t3", cat: event.CategoryThreatInsight, at: h.Add(3 * time.Minute)},
		ev{id: "t4", user: "a", cat: event.CategoryThreatInsight, at: h.Add(4 * time.Minute)},
		ev{id: "l1", user: "a", cat: event.CategoryLeakedCredentials, at: h.Add(-time.Minute)},
		ev{id: "x1", user: "a", cat: event.CategoryExtra, at: h},
		ev{id: "old", user: "b", cat: event.CategoryThreatInsight, at: now.Add(-49 * time.Hour)},
	), now)
	require.Equal(t, []OrgActivity{
		{Tenant: tenant, Bucket: h.Add(-time.Hour), Category: "leaked_credentials", Signals: 1, Users: 1},
		{Tenant: tenant, Bucket: h, Category: "threat_insight", Signals: 4, Users: 1, Unattributed: 3},
	}, out.Activity)

	out = e.ObservePage(nil, events(
		ev{id: "t1", user: "b", cat: event.CategoryThreatInsight, at: h.Add(time.Minute)}, // attributed now
		ev{id: "t2", cat: event.CategoryThreatInsight, at: h.Add(2 * time.Minute)},        // replay
		ev{id: "t4", user: "a", cat: event.CategoryThreatInsight, at: h.Add(4 * time.Minute)},
	), now)
	require.Equal(t, []OrgActivity{
		{Tenant: tenant, Bucket: h, Category: "threat_insight", Signals: 4, Users: 2, Unattributed: 2},
	}, out.Activity)
	require.Len(t, out.Updates, 1)
	require.Equal(t, "b", out.Updates[0].UserID)
	require.Empty(t, e.ObservePage(nil, events(ev{id: "t1", user: "b", cat: event.CategoryThreatInsight, at: h.Add(time.Minute)}), now).Activity)

	// Two days on, the buckets are final: late events are not counted and
	// the buckets are forgotten.
	later := now.Add(49 * time.Hour)
	out = e.ObservePage(nil, events(ev{id: "t9", cat: event.CategoryThreatInsight, at: h.Add(5 * time.Minute)}), later)
	require.Empty(t, out.Activity)
	require.Empty(t, e.act)

	// Extra events count when weighted.
	e = newEngine(t, Config{Weights: map[string]float64{KeyExtra: 1}})
	out = e.ObservePage(nil, events(ev{id: "x1", user: "a", cat: event.CategoryExtra, at: h}), now)
	require.Equal(t, []OrgActivity{{Tenant: tenant, Bucket: h, Category: "extra", Signals: 1, Users: 1}}, out.Activity)
	require.Len(t, out.Updates, 1)
}

// TestRestore: rebuilt from stored rows, the engine scores as before,
// writes only what moved, and treats the pages again as replays.
func TestRestore(t *testing.T) {
	evs := events(
		ev{id: "l1", user: "a", cat: event.CategoryLeakedCredentials, at: now.Add(-3 * day)},
		ev{id: "h1", user: "hire", cat: event.CategoryHighRisk, reasons: "Anomalous Location", at: now.Add(-time.Hour)},
		ev{id: "i1", user: "b", cat: event.CategoryUserRisk, level: "HIGH", at: now.Add(-2 * day)},
		ev{id: "i2", user: "b", cat: event.CategoryUserRisk, level: "LOW", at: now.Add(-day)},
		ev{id: "t1", cat: event.CategoryThreatInsight, at: now.Add(-time.Hour)},
	)
	sightings := append(seen(now.Add(-10*day), "a", "b", "c"), seen(now.Add(-2*time.Hour), "hire")...)
	e1 := newEngine(t, Config{})
	out := e1.ObservePage(sightings, evs, now)
	want := e1.Top(0, now)
	require.Equal(t, scoreOfX(decayed(2, time.Hour)), factors(e1, now)["hire"].Score, "new hire damped")

	e2 := newEngine(t, Config{})
	rout := e2.Restore(evs, out.Users, out.Updates, now)
	require.Empty(t, rout.Updates)
	require.Empty(t, rout.Users)
	require.Equal(t, out.Activity, rout.Activity)
	require.Equal(t, want, e2.Top(0, now))
	require.True(t, e2.ObservePage(sightings, evs, now).Empty())

	// Without the latest rows, Restore writes every user with a score;
	// a day later, what decayed materially.
	e3 := newEngine(t, Config{})
	rout = e3.Restore(evs, out.Users, nil, now)
	require.Len(t, rout.Updates, 2)
	e4 := newEngine(t, Config{})
	rout = e4.Restore(evs, out.Users, out.Updates, now.Add(4*day))
	require.Len(t, rout.Updates, 1)
	require.Equal(t, "a", rout.Updates[0].UserID) // 49.8 → 43.2; the hire 3.91 → 3.1
	require.Equal(t, CauseRefresh, rout.Updates[0].CauseCategory)

	// A user whose last row is not 0 but who is gone gets a 0 row.
	e5 := newEngine(t, Config{})
	ghost := Update{Tenant: tenant, UpdatedAt: now.Add(-day), Factor: Factor{UserID: "gone", Score: 10, Percentile: 50, Level: LevelLow, Signals: 1}}
	rout = e5.Restore(nil, nil, []Update{ghost}, now)
	require.Len(t, rout.Updates, 1)
	require.Equal(t, 0.0, rout.Updates[0].Score)
}
