package score

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
)

// orgScenario is a generated org: sightings and kept events (with replays,
// re-attributed ThreatInsight, shared transactions, ITP sequences, new
// hires and a few events published after now).
type orgScenario struct {
	seen []SeenUser
	kept []event.Event
}

// kinds are the generated event kinds, roughly by frequency.
var kinds = []ev{
	{cat: event.CategoryHighRisk, reasons: "Anomalous Location, Anomalous Device"},
	{cat: event.CategoryHighRisk, reasons: "New Device, New IP"},
	{cat: event.CategoryHighRisk},
	{cat: event.CategoryThreatInsight},
	{cat: event.CategoryThreatInsight},
	{cat: event.CategoryEntityRisk},
	{cat: event.CategoryEntityRisk, typ: "policy.entity_risk.evaluate"},
	{cat: event.CategoryLeakedCredentials},
	{cat: event.CategoryUserRisk, level: "HIGH"},
	{cat: event.CategoryUserRisk, level: "MEDIUM"},
	{cat: event.CategoryUserRisk, level: "LOW"},
	{cat: event.CategoryUserRisk, typ: "user.account.report_suspicious_activity_by_enduser"},
	{cat: event.CategoryExtra},
}

func genScenario(r *rand.Rand, users, n int) orgScenario {
	var sc orgScenario
	user := func(i int) string { return fmt.Sprintf("00u%03d", i) }
	// Sightings: within 28 days, or older than 31 (clear of the window's
	// edge, which org_users rows know to the day only).
	ago := func() time.Duration {
		if r.IntN(10) == 0 {
			return 31*day + time.Duration(r.Int64N(int64(20*day)))
		}
		return time.Duration(r.Int64N(int64(28 * day)))
	}
	for i := range users {
		for range 1 + r.IntN(3) {
			sc.seen = append(sc.seen, SeenUser{ID: user(i), Login: user(i) + "@acme.example", At: now.Add(-ago())})
		}
	}
	for i := range n {
		k := kinds[r.IntN(len(kinds))]
		k.id = fmt.Sprintf("ev%05d", i)
		k.at = now.Add(-time.Duration(r.Int64N(int64(45 * day))))
		if r.IntN(50) == 0 {
			k.at = now.Add(time.Duration(1+r.IntN(120)) * time.Minute) // clock skew
		}
		u := r.IntN(users + users/4) // some users only in events
		k.user = user(u)
		if k.cat == event.CategoryThreatInsight && r.IntN(3) == 0 {
			k.user = "" // against the org
		}
		if r.IntN(3) == 0 {
			k.tx = fmt.Sprintf("tx-%s-%d", k.user, r.IntN(4))
		}
		e := k.event()
		sc.kept = append(sc.kept, e)
		switch {
		case r.IntN(10) == 0: // replayed
			sc.kept = append(sc.kept, e)
		case k.user == "" && r.IntN(2) == 0: // attributed later
			e.UserID, e.UserLogin = user(r.IntN(users)), ""
			sc.kept = append(sc.kept, e)
		}
	}
	// New hires: created a few hours before a HIGH-risk sign-in.
	for i := range 5 {
		u := fmt.Sprintf("00uhire%d", i)
		created := now.Add(-time.Duration(2+r.IntN(48)) * time.Hour)
		sc.seen = append(sc.seen, SeenUser{ID: u, Login: u + "@acme.example", At: created})
		sc.kept = append(sc.kept, ev{id: "hire" + u, user: u, cat: event.CategoryHighRisk,
			reasons: "Anomalous Location", at: created.Add(time.Hour)}.event())
	}
	return sc
}

// run observes the orgScenario shuffled and split into random pages.
type run struct {
	e       *Engine
	updates []Update
	latest  map[string]Update
	act     map[string]OrgActivity
	users   map[string]OrgUser
}

func (r *run) take(out Output) {
	r.updates = append(r.updates, out.Updates...)
	for _, u := range out.Updates {
		r.latest[u.UserID] = u
	}
	for _, a := range out.Activity {
		r.act[a.Bucket.String()+a.Category] = a
	}
	for _, u := range out.Users {
		r.users[u.UserID] = u
	}
}

func newRun(t testing.TB, cfg Config) *run {
	return &run{e: newEngine(t, cfg), latest: map[string]Update{}, act: map[string]OrgActivity{}, users: map[string]OrgUser{}}
}

func observeSplit(t testing.TB, r *rand.Rand, cfg Config, sc orgScenario, at time.Time) *run {
	seenS := slices.Clone(sc.seen)
	keptS := slices.Clone(sc.kept)
	var run = newRun(t, cfg)
	if r != nil {
		r.Shuffle(len(seenS), func(i, j int) { seenS[i], seenS[j] = seenS[j], seenS[i] })
		r.Shuffle(len(keptS), func(i, j int) { keptS[i], keptS[j] = keptS[j], keptS[i] })
	}
	pages := 1
	if r != nil {
		pages = 1 + r.IntN(25)
	}
	cut := func(n, i int) int { return n * i / pages }
	for i := range pages {
		run.take(run.e.ObservePage(seenS[cut(len(seenS), i):cut(len(seenS), i+1)], keptS[cut(len(keptS), i):cut(len(keptS), i+1)], at))
	}
	return run
}

// TestOrderAndSplitIndependence: shuffled and split into random pages, the
// same events give the same factors, activity and population, also with a
// tight memory cap (eviction).
func TestOrderAndSplitIndependence(t *testing.T) {
	for _, cfg := range []Config{{}, {MaxSignalsPerUser: 3}} {
		t.Run(fmt.Sprint("cap ", cfg.MaxSignalsPerUser), func(t *testing.T) {
			for seed := range uint64(8) {
				sc := genScenario(rand.New(rand.NewPCG(seed, 1)), 40, 600)
				base := observeSplit(t, nil, cfg, sc, now)
				want := base.e.Top(0, now)
				require.NotEmpty(t, want)
				for trial := range uint64(10) {
					r := rand.New(rand.NewPCG(seed, 100+trial))
					got := observeSplit(t, r, cfg, sc, now)
					require.Equal(t, want, got.e.Top(0, now), "seed %d trial %d", seed, trial)
					require.Equal(t, base.act, got.act, "seed %d trial %d", seed, trial)
					require.Equal(t, len(base.users), len(got.users))
					for id, bu := range base.users {
						gu := got.users[id]
						require.Equal(t, bu.FirstSeen, gu.FirstSeen, id)
						require.Equal(t, bu.UserLogin, gu.UserLogin, id)
						require.Less(t, bu.LastSeen.Sub(gu.LastSeen).Abs(), day, id)
					}
				}
			}
		})
	}
}

// TestFinalUpdates: after the pages and a Refresh, each user's newest row
// matches the factor within MaterialChange (exactly in level and signal
// count); with a zero threshold, the rows are identical whatever the order
// and split.
func TestFinalUpdates(t *testing.T) {
	for _, m := range []float64{DefaultMaterialChange, 1e-9} {
		cfg := Config{MaterialChange: m}
		for seed := range uint64(5) {
			sc := genScenario(rand.New(rand.NewPCG(seed, 2)), 40, 500)
			var first map[string]Update
			for trial := range uint64(6) {
				run := observeSplit(t, rand.New(rand.NewPCG(seed, trial)), cfg, sc, now)
				later := now.Add(3 * time.Hour)
				run.take(run.e.Refresh(later))
				top := run.e.Top(0, later)
				for _, f := range top {
					u, ok := run.latest[f.UserID]
					require.True(t, ok, f.UserID)
					require.Equal(t, f.Level, u.Level, f.UserID)
					require.Equal(t, f.Signals, u.Signals, f.UserID)
					require.InDelta(t, f.Score, u.Score, m, f.UserID)
					require.InDelta(t, f.Percentile, u.Percentile, m, f.UserID)
				}
				for id, u := range run.latest {
					if !slices.ContainsFunc(top, func(f Factor) bool { return f.UserID == id }) {
						require.Zero(t, u.Score, id) // the row of a user no longer scored says 0
					}
				}
				if m < 1 {
					final := map[string]Update{}
					for id, u := range run.latest {
						u.CauseEventID, u.CauseCategory, u.UpdatedAt, u.Explanation = "", "", time.Time{}, ""
						final[id] = u
					}
					if first == nil {
						first = final
					}
					require.Equal(t, first, final, "seed %d trial %d", seed, trial)
				}
			}
			first = nil
		}
	}
}

// TestReplay: observing every page again, in another split, or after a
// restart, changes nothing and writes nothing but refresh rows.
func TestReplay(t *testing.T) {
	for seed := range uint64(5) {
		sc := genScenario(rand.New(rand.NewPCG(seed, 3)), 40, 500)
		run := observeSplit(t, rand.New(rand.NewPCG(seed, 4)), Config{}, sc, now)
		run.take(run.e.Refresh(now))
		want := run.e.Top(0, now)

		r := rand.New(rand.NewPCG(seed, 5))
		for range 3 {
			keptS := slices.Clone(sc.kept)
			r.Shuffle(len(keptS), func(i, j int) { keptS[i], keptS[j] = keptS[j], keptS[i] })
			for i := 0; i < len(keptS); i += 37 {
				out := run.e.ObservePage(nil, keptS[i:min(i+37, len(keptS))], now)
				require.Empty(t, out.Updates)
				require.Empty(t, out.Activity)
				require.Empty(t, out.Users)
			}
		}
		require.Equal(t, want, run.e.Top(0, now))
		// The same sightings again write nothing either.
		out := run.e.ObservePage(sc.seen, sc.kept, now)
		require.True(t, out.Empty(), "%+v", out)

		// After a restart: Restore from the rows written, then the pages
		// again.
		var users []OrgUser
		for _, u := range run.users {
			users = append(users, u)
		}
		var latest []Update
		for _, u := range run.latest {
			latest = append(latest, u)
		}
		re := newEngine(t, Config{})
		rout := re.Restore(sc.kept, users, latest, now)
		require.Empty(t, rout.Updates, "nothing moved since the rows were written")
		require.Empty(t, rout.Users)
		activity := map[string]OrgActivity{}
		for _, a := range rout.Activity {
			activity[a.Bucket.String()+a.Category] = a
		}
		require.Equal(t, run.act, activity)
		require.Equal(t, want, re.Top(0, now))
		for i := 0; i < len(sc.kept); i += 50 {
			out := re.ObservePage(nil, sc.kept[i:min(i+50, len(sc.kept))], now)
			require.Empty(t, out.Updates)
			require.Empty(t, out.Activity)
		}
		require.Equal(t, want, re.Top(0, now))
	}
}

// TestSeverityMonotone: making one signal more severe (a heavier kind, a
// higher ITP level), or adding one, never lowers the user's score; time
// alone never raises it.
func TestSeverityMonotone(t *testing.T) {
	// Signal kinds with their lowest and highest effective default weight
	// (a HIGH-risk sign-in weighs 2 when the user is new).
	ladder := []ev{
		{cat: event.CategoryHighRisk, reasons: "New Device"},                // 2
		{cat: event.CategoryEntityRisk, typ: "policy.entity_risk.evaluate"}, // 5
		{cat: event.CategoryHighRisk, reasons: "Anomalous Device"},          // 2 or 10
		{cat: event.CategoryEntityRisk},                                     // 20
		{cat: event.CategoryThreatInsight},                                  // 25
		{cat: event.CategoryUserRisk},                                       // 30
		{cat: event.CategoryLeakedCredentials},                              // 40
	}
	lo := []float64{2, 5, 2, 20, 25, 30, 40}
	hi := []float64{2, 5, 10, 20, 25, 30, 40}
	levels := []string{"LOW", "MEDIUM", "HIGH"}
	r := rand.New(rand.NewPCG(7, 7))
	score := func(evs []ev, seenAt time.Time) float64 {
		e := newEngine(t, Config{MaxSignalsPerUser: 1000})
		e.ObservePage(seen(seenAt, "u1", "u2"), events(evs...), now)
		return scoreAt(e, "u1", now)
	}
	for iter := range 400 {
		var evs []ev
		for i := range 1 + r.IntN(12) {
			var x ev
			if r.IntN(6) == 0 {
				x = ev{cat: event.CategoryUserRisk, level: levels[r.IntN(3)]}
			} else {
				x = ladder[r.IntN(len(ladder))]
			}
			x.id, x.user = fmt.Sprint("e", i), "u1"
			x.at = now.Add(-time.Duration(r.Int64N(int64(40 * day))))
			if r.IntN(3) == 0 {
				x.tx = fmt.Sprint("t", r.IntN(3))
			}
			evs = append(evs, x)
		}
		seenAt := now.Add(-time.Duration(r.Int64N(int64(50 * day))))
		base := score(evs, seenAt)

		// Upgrade one signal along the ladder (or its ITP level).
		i := r.IntN(len(evs))
		up := slices.Clone(evs)
		if up[i].level != "" {
			j := slices.Index(levels, up[i].level)
			up[i].level = levels[min(j+1+r.IntN(2), 2)]
		} else {
			j := slices.IndexFunc(ladder, func(l ev) bool {
				return l.cat == up[i].cat && l.typ == up[i].typ && l.reasons == up[i].reasons
			})
			var more []int // kinds at least as heavy whoever the user is
			for k := range ladder {
				if lo[k] >= hi[j] || k == j {
					more = append(more, k)
				}
			}
			k := more[r.IntN(len(more))]
			up[i].cat, up[i].typ, up[i].reasons = ladder[k].cat, ladder[k].typ, ladder[k].reasons
		}
		require.GreaterOrEqual(t, score(up, seenAt), base, "iteration %d: %+v → %+v", iter, evs[i], up[i])

		// Add one more (non-level) signal.
		more := append(slices.Clone(evs), ladder[r.IntN(len(ladder))])
		more[len(more)-1].id, more[len(more)-1].user = "extra", "u1"
		more[len(more)-1].at = now.Add(-time.Duration(r.Int64N(int64(40 * day))))
		require.GreaterOrEqual(t, score(more, seenAt), base, "iteration %d", iter)

		// Later in time, without new signals, never higher.
		e := newEngine(t, Config{MaxSignalsPerUser: 1000})
		e.ObservePage(seen(seenAt, "u1"), events(evs...), now)
		prev := scoreAt(e, "u1", now)
		for d := time.Duration(0); d < 60*day; d += 5 * day {
			s := scoreAt(e, "u1", now.Add(d))
			require.LessOrEqual(t, s, prev)
			prev = s
		}
	}
}
