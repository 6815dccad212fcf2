package app

import (
	"cmp"
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/score"
	"github.com/riskpipe/riskpipe/internal/store"
)

// TestAttackFactorEndToEnd runs the attack factor through the whole
// pipeline: the simulator's "demo" stream served over HTTP, the real Okta
// client, the pollers, classify, score, the writer and ClickHouse. Two orgs
// (acme: two demo cycles, globex: one, so their scores differ and a mixed
// population would show in the percentiles), then a restart with one more
// cycle each, globex's cursor rewound to its integration so that its whole
// log is replayed into the restored engine.
//
// After each run, from what ClickHouse holds:
//   - ranking: spray victims, leaked-credential and ITP HIGH users score
//     above every other user of their org; the new hires' HIGH first
//     sign-ins are damped below every attacked user; the ITP users an admin
//     set back to LOW lose the level's weight (docs/attack-factor.md);
//   - every attack_factor_latest row has the score a fresh score.Engine
//     computes at the row's time from the kept events read back from
//     risk_events and the sightings of every event the org served: the
//     engine restored after the restart (and fed a full replay) neither
//     forgot nor double-counted anything;
//   - after a refresh, every user with a score has a row, and every row is
//     within material_change of the reference's score and percentile, the
//     percentile being relative to the user's own org (ranked with the
//     other org's users, some would be further off);
//   - every update's cause is a kept event of the same tenant and user,
//     written in the same batch (same writer version) as the update;
//     refresh rows have no cause; rows of one batch order percentiles as
//     their scores, and every score and percentile is in [0, 100];
//   - org_attack_activity holds exactly the counts of risk_events per hour
//     and category (a ThreatInsight event attributed a page later moves
//     from unattributed to users), and org_users exactly the users the org's System Log
//     showed, each first seen when it was; no user of one org appears in
//     the other's rows.
func TestAttackFactorEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil,
		orgSpec{name: "acme", scenario: scenario.ScenarioDemo},
		orgSpec{name: "globex", scenario: scenario.ScenarioDemo})
	cycles := map[string]int64{"acme": 2, "globex": 1}
	cfg := h.config()
	for i := range cfg.Tenants {
		cfg.Tenants[i].Poll.PageLimit = 1000
	}
	// A refresh after every page round, and rows within 1 point of the
	// truth after it (defaults: 1 hour, 5 points).
	cfg.Score.RefreshEvery = 300 * time.Millisecond
	cfg.Score.MaterialChange = 1

	// Run 1: integrate, then the demo cycles arrive. The first spray
	// victim's sign-in arrives in a later page than the ThreatInsight event
	// of its transaction: that event is written without a user first, then
	// again attributed to the victim.
	sinks := map[string]*hookSink{"acme": {}, "globex": {}}
	r := h.start(t, cfg, func(s *poll.Settings) { integrateEarly(s); hooks(sinks)(s) })
	integratedAt := map[string]time.Time{}
	split := map[string]int64{}
	for name, o := range h.orgs {
		integratedAt[name] = r.integrated(t, name)
		require.Zero(t, o.org.Len(), "nothing before the integration")
		split[name] = firstAllowedThreat(t, o.stream) + 1
		o.publish(t, 0, split[name], integratedAt[name])
	}
	for name, o := range h.orgs {
		eventually(t, waitFor, func() bool { return h.caughtUp(t, name) }, "%s: first page", name)
		o.publish(t, split[name], cycles[name]*scenario.DemoPeriod, integratedAt[name])
	}
	for name, o := range h.orgs {
		h.converged(t, name, h.want(t, name, integratedAt[name]), waitFor)
		threat, _, _ := o.org.EventAt(split[name] - 1)
		var writes []int
		for i, c := range sinks[name].pages() {
			if slices.Contains(c.Events, threat.ID) {
				writes = append(writes, i)
			}
		}
		require.Len(t, writes, 2, "%s: the ThreatInsight event is written alone, then attributed", name)
	}
	h.refreshed(t, r, cfg.Score.RefreshEvery, "acme", "globex")
	run1 := map[string]factorCheck{}
	for name := range h.orgs {
		run1[name] = h.checkFactors(t, name, integratedAt[name], cfg.Score, cycles[name]*scenario.DemoPeriod, time.Time{})
		h.checkRanking(t, name, run1[name])
	}
	requireDisjointOrgs(t, run1["acme"], run1["globex"])
	requirePooledDiffers(t, cfg.Score, run1["acme"], run1["globex"])
	r.stop(t)

	// Run 2, on the same ClickHouse: one more cycle each, published while
	// riskpipe was down; globex polls its whole log again from the
	// integration's cursor.
	fresh := map[string]map[string]bool{}
	for name, o := range h.orgs {
		from := cycles[name] * scenario.DemoPeriod
		fresh[name] = map[string]bool{}
		for _, id := range o.publish(t, from, from+scenario.DemoPeriod, integratedAt[name]) {
			fresh[name][id] = true
		}
	}
	integration := sinks["globex"].pages()[0]
	require.Equal(t, int64(-1), cursorIndex(t, integration.Cursor), "the integration's cursor is the since= URL")
	h.storeCursor(t, store.PollState{Tenant: "globex", IntegratedAt: integratedAt["globex"], Cursor: integration.Cursor})

	restarted := time.Now()
	r2 := h.start(t, cfg, nil)
	for name := range h.orgs {
		require.Equal(t, integratedAt[name], r2.integrated(t, name))
	}
	for name := range h.orgs {
		h.converged(t, name, h.want(t, name, integratedAt[name]), waitFor)
	}
	s, _ := r2.status("globex")
	require.GreaterOrEqual(t, s.EventsPolled, uint64(h.orgs["globex"].org.Len()), "globex read its whole log again")
	h.refreshed(t, r2, cfg.Score.RefreshEvery, "acme", "globex")
	run2 := map[string]factorCheck{}
	replayed := map[string]time.Time{"globex": restarted} // its run-1 events were written again
	for name := range h.orgs {
		run2[name] = h.checkFactors(t, name, integratedAt[name], cfg.Score, (cycles[name]+1)*scenario.DemoPeriod, replayed[name])
		h.checkRanking(t, name, run2[name])

		// Only the events published while riskpipe was down caused rows
		// in run 2: the replayed ones were recognised by their id.
		caused := 0
		for _, u := range run2[name].updates {
			if u.Version < uint64(restarted.UnixNano()) || u.CauseCategory == score.CauseRefresh {
				continue
			}
			require.True(t, fresh[name][u.CauseEventID], "%s: run 2 wrote %s's row %v for %s, an event of run 1",
				name, u.UserID, u, u.CauseEventID)
			caused++
		}
		require.NotZero(t, caused, "%s: the new cycle caused updates", name)
	}
	requireDisjointOrgs(t, run2["acme"], run2["globex"])
	r2.stop(t)
}

// firstAllowedThreat returns the index of the demo stream's first
// ThreatInsight event that let a spray request through (the next event is
// the victim's sign-in in the same transaction).
func firstAllowedThreat(t *testing.T, st *scenario.Stream) int64 {
	t.Helper()
	for i := range int64(scenario.DemoPeriod) {
		e, err := event.Decode(st.Event(i, time.Now()).Raw, time.Now())
		require.NoError(t, err)
		if e.EventType == "security.threat.detected" && e.Outcome == "ALLOW" {
			return i
		}
	}
	t.Fatal("no ALLOW ThreatInsight event in the demo stream")
	return 0
}

// publishRate is the pace at which the orgs of TestAttackFactorEndToEnd
// published the demo stream: an ITP user's MEDIUM, HIGH and LOW steps are
// then 70 s and more apart, beyond the stream's publication lag (up to 30 s
// for 3% of its events), so the newest of them by `published` (the user's
// level, docs/attack-factor.md) is the last of the cycle, as in Truth.
const publishRate = 100 * time.Millisecond

// publish injects the demo stream's events [from, to) into the org's log,
// labelled with the category the stream says riskpipe must keep them
// under, as the org published them: event i at integratedAt + 1 min +
// i·publishRate, minus the stream's own lag. They are persisted now, all at
// once, so the pipeline reads them in a few seconds. (The simulator's
// AddBacklog persists and publishes every event at once: within 30 s, in
// random order, which would shuffle the ITP steps.) It returns their ids.
func (o *simOrg) publish(t *testing.T, from, to int64, integratedAt time.Time) []string {
	t.Helper()
	start := integratedAt.Add(time.Minute)
	require.True(t, start.Add(time.Duration(to)*publishRate).Before(time.Now()), "events would be published in the future")
	evs := make([]scenario.Event, to-from)
	var wg sync.WaitGroup
	for w := range int64(runtime.GOMAXPROCS(0)) { // a Stream is safe for concurrent use
		wg.Go(func() {
			for i := from + w; i < to; i += int64(runtime.GOMAXPROCS(0)) {
				evs[i-from] = o.stream.Event(i, start.Add(time.Duration(i)*publishRate))
			}
		})
	}
	wg.Wait()
	raws := make([][]byte, len(evs))
	ids := make([]string, len(evs))
	for k, ev := range evs {
		o.label(ev.ID, o.stream.Expect(from+int64(k)))
		raws[k], ids[k] = ev.Raw, ev.ID
	}
	o.org.Inject(raws...)
	return ids
}

// integrateEarly makes a tenant's first start record its integration 40
// minutes early, as if the org had been connected before the events the
// test publishes (see publish). Only the first reading of the poller's
// clock, the integration's (poll.Poller.initState), is early.
func integrateEarly(s *poll.Settings) {
	first := true // the poller's goroutine only
	s.Now = func() time.Time {
		if first {
			first = false
			return time.Now().Add(-40 * time.Minute)
		}
		return time.Now()
	}
}

// refreshed waits until each tenant's poller has processed a page more
// than refreshEvery after now: the engine has refreshed since (a page
// refreshes when refreshEvery passed since the last refresh).
func (h *harness) refreshed(t *testing.T, r *running, refreshEvery time.Duration, tenants ...string) {
	t.Helper()
	after := time.Now().Add(refreshEvery)
	for _, name := range tenants {
		eventually(t, waitFor, func() bool {
			s, _ := r.status(name)
			return s.LastSuccess.After(after)
		}, "tenant %s processed no page after %s", name, after)
	}
}

// storeCursor writes a poll state through a writer of the test's own, as
// riskpipe would have.
func (h *harness) storeCursor(t *testing.T, st store.PollState) {
	t.Helper()
	w := store.NewWriter(h.read, store.WriterOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	err := w.Write(ctx, store.Batch{Tenant: st.Tenant, State: &st})
	cancel()
	require.NoError(t, err)
	require.NoError(t, <-done)
	got, ok := h.state(t, st.Tenant)
	require.True(t, ok)
	require.Equal(t, st.Cursor, got.Cursor)
}

// factorRow is a row of attack_factor_latest or attack_factor_updates.
type factorRow struct {
	UserID, UserLogin                        string
	UpdatedAt                                time.Time
	Score, Percentile                        float64
	Level                                    string
	Signals                                  uint32
	CauseEventID, CauseCategory, Explanation string
	Version                                  uint64
}

func (h *harness) factorRows(t *testing.T, from, tenant string) []factorRow {
	t.Helper()
	rows, err := h.read.Conn().Query(context.Background(), `SELECT user_id, user_login, updated_at, score, percentile,
	level, signals, cause_event_id, cause_category, explanation, version FROM `+from+` WHERE tenant = ?`, tenant)
	require.NoError(t, err)
	defer rows.Close()
	var out []factorRow
	for rows.Next() {
		var f factorRow
		require.NoError(t, rows.Scan(&f.UserID, &f.UserLogin, &f.UpdatedAt, &f.Score, &f.Percentile, &f.Level, &f.Signals,
			&f.CauseEventID, &f.CauseCategory, &f.Explanation, &f.Version))
		f.UpdatedAt = f.UpdatedAt.UTC()
		out = append(out, f)
	}
	require.NoError(t, rows.Err())
	return out
}

// storedEvent is a row of risk_events FINAL.
type storedEvent struct {
	event.Event
	version uint64
}

// storedEvents returns tenant's kept events as ClickHouse holds them: the
// raw JSON decoded again, with the category and the user riskpipe stored
// (ThreatInsight events carry the user they were attributed to).
func (h *harness) storedEvents(t *testing.T, tenant string) map[string]storedEvent {
	t.Helper()
	rows, err := h.read.Conn().Query(context.Background(), `SELECT event_id, raw, category, user_id, user_login,
	published_note, ingested_at, version FROM `+h.table("risk_events")+` FINAL WHERE tenant = ?`, tenant)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]storedEvent{}
	for rows.Next() {
		var (
			id, raw, cat, uid, login, note string
			ingested                       time.Time
			v                              uint64
		)
		require.NoError(t, rows.Scan(&id, &raw, &cat, &uid, &login, &note, &ingested, &v))
		e, err := event.Decode([]byte(raw), ingested)
		require.NoError(t, err)
		require.Equal(t, id, e.ID)
		require.Empty(t, note, "the simulator's published times all parse")
		e.Category, e.UserID, e.UserLogin = event.Category(cat), uid, login
		out[id] = storedEvent{Event: e, version: v}
	}
	require.NoError(t, rows.Err())
	return out
}

// sightings returns the users of every event the org served since the
// integration (kept or dropped): the org's population.
func (h *harness) sightings(t *testing.T, tenant string, since time.Time) []score.SeenUser {
	t.Helper()
	o := h.orgs[tenant]
	var out []score.SeenUser
	from, to := o.org.TruthRange(since)
	for i := from; i < to; i++ {
		ev, persisted, ok := o.org.EventAt(i)
		require.True(t, ok)
		e, err := event.Decode(ev.Raw, persisted)
		require.NoError(t, err)
		out = score.AppendSeen(out, &e)
	}
	return out
}

// factorCheck is what checkFactors read and computed for one tenant.
type factorCheck struct {
	tenant  string
	latest  map[string]factorRow // by user
	updates []factorRow
	users   map[string]bool // every user the org's log showed
	ref     map[string]score.Factor
	kept    []event.Event
	seen    []score.SeenUser
	stream  *scenario.Stream
	cycles  []int64 // the demo cycles served
}

// checkFactors checks every attack-factor table of tenant against a fresh
// engine fed what ClickHouse and the simulator hold (see
// TestAttackFactorEndToEnd). Call it once the tenant converged and refreshed.
// The org published the first n events of the demo stream; the events
// written before rewrittenBefore (zero: none) may have been written again
// since, by a replay.
func (h *harness) checkFactors(t *testing.T, tenant string, integratedAt time.Time, cfg score.Config, n int64,
	rewrittenBefore time.Time) factorCheck {
	t.Helper()
	now := time.Now()
	kept := h.storedEvents(t, tenant)
	seen := h.sightings(t, tenant, integratedAt)
	ref, err := score.NewEngine(tenant, integratedAt, cfg)
	require.NoError(t, err)
	evs := make([]event.Event, 0, len(kept))
	for _, e := range kept {
		evs = append(evs, e.Event)
	}
	ref.ObservePage(seen, evs, now)

	c := factorCheck{tenant: tenant, latest: map[string]factorRow{}, users: map[string]bool{}, ref: map[string]score.Factor{},
		kept: evs, seen: seen, stream: h.orgs[tenant].stream}
	for cy := int64(0); cy <= (n-1)/scenario.DemoPeriod; cy++ {
		c.cycles = append(c.cycles, cy)
	}
	firstSeen := map[string]time.Time{}
	logins := map[string]map[string]bool{}
	sight := func(id, login string, at time.Time) {
		key := event.UserKey(id, login)
		if key == "" {
			return
		}
		c.users[key] = true
		if f, ok := firstSeen[key]; !ok || at.Before(f) {
			firstSeen[key] = at
		}
		if logins[key] == nil {
			logins[key] = map[string]bool{}
		}
		logins[key][login] = true
	}
	for _, s := range seen {
		sight(s.ID, s.Login, s.At)
	}
	for _, e := range kept {
		sight(e.UserID, e.UserLogin, e.Published)
	}
	for _, f := range ref.Top(0, now) {
		c.ref[f.UserID] = f
	}
	require.NotEmpty(t, c.ref)

	// attack_factor_latest: one row per user, the newest update.
	for _, f := range h.factorRows(t, h.table("attack_factor_latest")+" FINAL", tenant) {
		_, dup := c.latest[f.UserID]
		require.False(t, dup, "%s: two latest rows for %s", tenant, f.UserID)
		c.latest[f.UserID] = f
	}
	c.updates = h.factorRows(t, h.table("attack_factor_updates"), tenant)
	newest := map[string]factorRow{}
	for _, u := range c.updates {
		if prev, ok := newest[u.UserID]; !ok || u.Version > prev.Version {
			newest[u.UserID] = u
		}
	}
	require.Equal(t, newest, c.latest, "%s: attack_factor_latest holds each user's newest update", tenant)

	// Every row's score is what the reference computes at the row's time
	// (its second: DateTime), from the same kept events: the row is the
	// user's newest, so no later event of the user changed it. Rounding
	// at a slightly different instant may move the 2nd decimal.
	at := map[time.Time]map[string]score.Factor{}
	for _, f := range c.latest {
		when := f.UpdatedAt.Add(time.Second - time.Millisecond)
		if at[when] == nil {
			at[when] = map[string]score.Factor{}
			for _, g := range ref.Top(0, when) {
				at[when][g.UserID] = g
			}
		}
		want := at[when][f.UserID]
		require.InDelta(t, want.Score, f.Score, 0.011, "%s: %s's score at %s (%s; reference: %s)",
			tenant, f.UserID, f.UpdatedAt, f.Explanation, want.Explanation)
		require.Equal(t, want.Signals, f.Signals, "%s: %s's signals at %s", tenant, f.UserID, f.UpdatedAt)
		require.Equal(t, want.Explanation, f.Explanation, "%s: %s's explanation at %s", tenant, f.UserID, f.UpdatedAt)
		require.Equal(t, cfg.Bands.Level(f.Score), f.Level, "%s: %s's level", tenant, f.UserID)
	}

	// After the refresh: every user with a score has a row, within
	// material_change of the reference now, percentile relative to the org.
	tol := cfg.MaterialChange + 0.011
	// Percentiles are compared at the last refresh (the newest row's
	// second), not now: two users whose scores round alike at the refresh
	// may round apart seconds later, moving a percentile a rank with no
	// new data.
	var refreshed time.Time
	for _, f := range c.latest {
		if f.UpdatedAt.After(refreshed) {
			refreshed = f.UpdatedAt
		}
	}
	atRefresh := map[string]score.Factor{}
	for _, g := range ref.Top(0, refreshed.Add(time.Second-time.Millisecond)) {
		atRefresh[g.UserID] = g
	}
	for id, want := range c.ref {
		got, ok := c.latest[id]
		require.True(t, ok, "%s: %s scores %v (%s) but has no row", tenant, id, want.Score, want.Explanation)
		require.InDelta(t, want.Score, got.Score, tol, "%s: %s's score after the refresh", tenant, id)
		require.InDelta(t, atRefresh[id].Percentile, got.Percentile, tol, "%s: %s's percentile at the refresh", tenant, id)
		require.Equal(t, want.Level, got.Level, "%s: %s's level after the refresh", tenant, id)
	}
	for id, got := range c.latest {
		if _, ok := c.ref[id]; !ok {
			require.Zero(t, got.Score, "%s: %s has a row but no score in the reference", tenant, id)
			require.Zero(t, got.Percentile, "%s: %s", tenant, id)
		}
	}

	// Updates: bounds, causes written in the same batch, and within one
	// batch (one evaluation time) percentiles ordered as scores.
	versions := h.eventVersions(t, tenant)
	batches := map[uint64][]factorRow{}
	for _, u := range c.updates {
		require.True(t, c.users[u.UserID], "%s: a row for %s, whom the org's log never showed", tenant, u.UserID)
		require.True(t, u.Score >= 0 && u.Score <= 100, "%s: score %v", tenant, u.Score)
		require.True(t, u.Percentile >= 0 && u.Percentile <= 100, "%s: percentile %v", tenant, u.Percentile)
		batches[u.Version] = append(batches[u.Version], u)
		if u.CauseCategory == score.CauseRefresh {
			require.Empty(t, u.CauseEventID, "%s: a refresh row with a cause", tenant)
			continue
		}
		e, ok := kept[u.CauseEventID]
		require.True(t, ok, "%s: %s's update %v: cause %q not in risk_events", tenant, u.UserID, u, u.CauseEventID)
		require.Equal(t, string(e.Category), u.CauseCategory, "%s: cause %s", tenant, u.CauseEventID)
		require.Equal(t, u.UserID, event.UserKey(e.UserID, e.UserLogin), "%s: cause %s is another user's", tenant, u.CauseEventID)
		// Same batch: the event was written with the update's version.
		// A replay writes it again, and a merge may then drop that
		// version: only rows from before a replay may lack it.
		sameBatch := slices.Contains(versions[u.CauseEventID], u.Version)
		if !sameBatch && !rewrittenBefore.IsZero() && u.Version < uint64(rewrittenBefore.UnixNano()) {
			sameBatch = e.version > u.Version
		}
		require.True(t, sameBatch, "%s: cause %s written at versions %v (final %d), its update at %d: not in the same batch",
			tenant, u.CauseEventID, versions[u.CauseEventID], e.version, u.Version)
	}
	requireOrderedBatches(t, tenant, batches)
	latestBatches := map[uint64][]factorRow{}
	for _, f := range c.latest {
		latestBatches[f.Version] = append(latestBatches[f.Version], f)
	}
	requireOrderedBatches(t, tenant, latestBatches)

	h.checkActivity(t, tenant, kept)

	// org_users: exactly the users the log showed (every user of
	// risk_events among them), each first seen when it was.
	rows, err := h.read.Conn().Query(context.Background(), `SELECT user_id, argMax(user_login, version), min(first_seen),
	max(last_seen) FROM `+h.table("org_users")+` WHERE tenant = ? GROUP BY user_id`, tenant)
	require.NoError(t, err)
	defer rows.Close()
	inTable := map[string]bool{}
	for rows.Next() {
		var id, login string
		var first, last time.Time
		require.NoError(t, rows.Scan(&id, &login, &first, &last))
		inTable[id] = true
		require.True(t, c.users[id], "%s: org_users holds %s, whom the log never showed", tenant, id)
		require.True(t, logins[id][login], "%s: %s's login %q", tenant, id, login)
		require.Equal(t, firstSeen[id].Truncate(time.Second), first.UTC(), "%s: %s's first_seen", tenant, id)
		require.False(t, last.Before(first), "%s: %s", tenant, id)
	}
	require.NoError(t, rows.Err())
	for _, e := range kept {
		if key := event.UserKey(e.UserID, e.UserLogin); key != "" {
			require.True(t, inTable[key], "%s: risk_events user %s is not in org_users", tenant, key)
		}
	}
	require.Len(t, inTable, len(c.users), "%s: org_users holds every user the log showed", tenant)
	return c
}

// requireOrderedBatches: among the rows of one batch (one writer version,
// so one evaluation time), a higher score has a higher percentile, an equal
// score the same percentile (every user with a score is in the population,
// so each one strictly below adds to the percentile).
func requireOrderedBatches(t *testing.T, tenant string, batches map[uint64][]factorRow) {
	t.Helper()
	for v, rows := range batches {
		slices.SortFunc(rows, func(a, b factorRow) int { return cmp.Compare(a.Score, b.Score) })
		for i := 1; i < len(rows); i++ {
			a, b := rows[i-1], rows[i]
			if a.Score == b.Score {
				require.Equal(t, a.Percentile, b.Percentile, "%s: batch %d: equal scores, different percentiles: %v %v", tenant, v, a, b)
			} else {
				require.Less(t, a.Percentile, b.Percentile, "%s: batch %d: percentiles not ordered as scores: %v %v", tenant, v, a, b)
			}
		}
	}
}

// eventVersions returns the versions each kept event of tenant was written
// with, as far as merges have not collapsed them (the newest always stays).
func (h *harness) eventVersions(t *testing.T, tenant string) map[string][]uint64 {
	t.Helper()
	rows, err := h.read.Conn().Query(context.Background(),
		"SELECT event_id, version FROM "+h.table("risk_events")+" WHERE tenant = ?", tenant)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string][]uint64{}
	for rows.Next() {
		var id string
		var v uint64
		require.NoError(t, rows.Scan(&id, &v))
		out[id] = append(out[id], v)
	}
	require.NoError(t, rows.Err())
	return out
}

// checkActivity requires org_attack_activity to hold exactly, per hour and
// category of the kept events, their count, their distinct users and the
// events of no user.
func (h *harness) checkActivity(t *testing.T, tenant string, kept map[string]storedEvent) {
	t.Helper()
	type key struct {
		bucket   time.Time
		category string
	}
	type counts struct{ Signals, Users, Unattributed uint64 }
	want := map[key]counts{}
	users := map[key]map[string]bool{}
	for _, e := range kept {
		k := key{e.Published.Truncate(time.Hour).UTC(), string(e.Category)}
		c := want[k]
		c.Signals++
		if u := event.UserKey(e.UserID, e.UserLogin); u == "" {
			c.Unattributed++
		} else {
			if users[k] == nil {
				users[k] = map[string]bool{}
			}
			users[k][u] = true
		}
		want[k] = c
	}
	for k, c := range want {
		c.Users = uint64(len(users[k]))
		want[k] = c
	}
	rows, err := h.read.Conn().Query(context.Background(), "SELECT bucket, category, signals, users, unattributed FROM "+
		h.table("org_attack_activity")+" FINAL WHERE tenant = ?", tenant)
	require.NoError(t, err)
	defer rows.Close()
	got := map[key]counts{}
	for rows.Next() {
		var k key
		var c counts
		require.NoError(t, rows.Scan(&k.bucket, &k.category, &c.Signals, &c.Users, &c.Unattributed))
		k.bucket = k.bucket.UTC()
		got[k] = c
	}
	require.NoError(t, rows.Err())
	require.Equal(t, want, got, "%s: org_attack_activity", tenant)
	cats := map[string]bool{}
	for k := range got {
		cats[k.category] = true
	}
	for _, cat := range []string{scenario.CategoryUserRisk, scenario.CategoryEntityRisk, scenario.CategoryThreatInsight,
		scenario.CategoryLeakedCredentials, scenario.CategoryHighRisk} {
		require.True(t, cats[cat], "%s: no activity of %s", tenant, cat)
	}
}

// checkRanking checks the demo's ground truth against the latest rows.
func (h *harness) checkRanking(t *testing.T, tenant string, c factorCheck) {
	t.Helper()
	tr := c.stream.Truth()
	row := func(u scenario.User) factorRow {
		t.Helper()
		f, ok := c.latest[u.ID]
		require.True(t, ok, "%s: %s (%s) has no attack factor", tenant, u.Login, u.ID)
		return f
	}
	top := map[string]bool{}
	minTop := math.Inf(1)
	for _, set := range [][]scenario.User{tr.SprayVictims, tr.LeakedCredentialUsers, tr.ITPHighUsers} {
		for _, u := range set {
			top[u.ID] = true
			f := row(u)
			minTop = min(minTop, f.Score)
			require.NotEqual(t, score.LevelLow, f.Level, "%s: %s: %v", tenant, u.Login, f)
		}
	}
	for id, f := range c.latest {
		if !top[id] {
			require.Less(t, f.Score, minTop, "%s: %s (%s) ranks with the attacked users", tenant, f.UserLogin, f.Explanation)
		}
	}

	// Set back to LOW by an admin: the level no longer counts, the
	// entity-risk actions that terminated the sessions still do.
	minITP := math.Inf(1)
	for _, u := range tr.ITPHighUsers {
		minITP = min(minITP, row(u).Score)
		require.Contains(t, row(u).Explanation, score.KeyUserRiskHigh)
	}
	for _, u := range tr.ITPRecoveredUsers {
		f := row(u)
		require.NotContains(t, f.Explanation, "user_risk", "%s: %s", tenant, u.Login)
		require.Contains(t, f.Explanation, score.KeyEntityRisk, "%s: %s", tenant, u.Login)
		require.Less(t, f.Score, minITP, "%s: %s", tenant, u.Login)
	}

	// New hires: their HIGH first sign-in is damped below every other
	// attacked user, HIGH-risk sign-ins included.
	minOther := math.Inf(1)
	for _, set := range [][]scenario.User{tr.HighRiskSignInUsers, tr.ITPRecoveredUsers} {
		for _, u := range set {
			minOther = min(minOther, row(u).Score)
		}
	}
	hires := 0
	for _, cy := range c.cycles {
		for _, u := range c.stream.NewHires(cy) {
			f := row(u)
			hires++
			require.Equal(t, score.KeyFirstSignIn+" 100%", f.Explanation, "%s: hire %s", tenant, u.Login)
			require.Less(t, f.Score, minOther, "%s: hire %s", tenant, u.Login)
			require.Equal(t, score.LevelLow, f.Level)
		}
	}
	require.NotZero(t, hires)
	require.Equal(t, tr.FirstSignInHighUsers, c.stream.NewHires(0))
	t.Logf("%s (cycles %v): %d users with a factor; attacked >= %.2f (ITP HIGH >= %.2f) > others; new hires < %.2f",
		tenant, c.cycles, len(c.latest), minTop, minITP, minOther)
}

// requireDisjointOrgs: no user of one org in the other's rows.
func requireDisjointOrgs(t *testing.T, a, b factorCheck) {
	t.Helper()
	for id := range a.users {
		require.False(t, b.users[id], "user %s is in %s and %s", id, a.tenant, b.tenant)
	}
	for _, c := range []factorCheck{a, b} {
		for id := range c.latest {
			require.True(t, c.users[id], "%s: row for %s, not a user of the org", c.tenant, id)
		}
	}
	require.NotEmpty(t, a.latest)
	require.NotEmpty(t, b.latest)
}

// requirePooledDiffers proves that the per-org percentile check can fail:
// had the two orgs' users been ranked in one population, some percentiles
// would be more than material_change away from the rows.
func requirePooledDiffers(t *testing.T, cfg score.Config, a, b factorCheck) {
	t.Helper()
	pooled, err := score.NewEngine("pooled", time.Time{}, cfg)
	require.NoError(t, err)
	now := time.Now()
	pooled.ObservePage(append(slices.Clone(a.seen), b.seen...), append(slices.Clone(a.kept), b.kept...), now)
	differ := 0
	for _, f := range pooled.Top(0, now) {
		for _, c := range []factorCheck{a, b} {
			if row, ok := c.latest[f.UserID]; ok && math.Abs(row.Percentile-f.Percentile) > cfg.MaterialChange+0.011 {
				differ++
			}
		}
	}
	require.NotZero(t, differ, "a pooled population gives the same percentiles: the per-org check proves nothing")
}
