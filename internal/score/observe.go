package score

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/riskpipe/riskpipe/internal/event"
)

// lastSeenDivisor: an org_users row is rewritten when last_seen moved by
// PopulationWindow/lastSeenDivisor (1 day by default) or more: at most a
// row per active user and day. first_seen and login changes are written at
// once.
const lastSeenDivisor = 30

// candidate is an event admitted in this call: a possible cause.
type candidate struct {
	id  string
	cat event.Category
	p   time.Time
	wk  wkey
	dyn bool
}

// ObservePage takes one page of the tenant's System Log, classified:
// seen holds the users of every event of the page, kept or dropped (see
// AppendSeen); kept the kept and re-attributed events (category and user
// set by the classifier). now is the evaluation time (the wall clock).
//
// It returns the rows to write in the same batch as the page's events:
// an Update for each user whose values the page changed (other users'
// percentiles are brought up to date by Refresh), the org activity
// buckets the page changed, and the org_users rows of new or moved users.
//
// Events already observed (by id, per user) are ignored, so a replayed
// page changes nothing and returns no Update. The state after any set of
// pages depends only on the set of events and sightings and on now, not
// on their order or on how they were split into pages.
func (e *Engine) ObservePage(seen []SeenUser, kept []event.Event, now time.Time) Output {
	now = now.UTC()
	e.advance(now)
	pg := newPage()
	for _, s := range seen {
		e.see(pg, s.ID, s.Login, s.At, now, false)
	}
	for i := range kept {
		e.observe(pg, &kept[i], now)
	}
	var out Output
	if len(pg.changed) > 0 {
		rk := e.rank(now)
		slices.SortFunc(pg.corder, byKey)
		for _, u := range pg.corder {
			f := e.factor(u, now, rk, false)
			if valsOf(f).same(u.emitted) {
				continue
			}
			u.emitted = valsOf(f)
			e.explain(u, now, &f)
			c := e.cause(u, pg.changed[u], now)
			out.Updates = append(out.Updates, Update{
				Tenant: e.tenant, UpdatedAt: now, Factor: f,
				CauseEventID: c.id, CauseCategory: string(c.cat),
			})
		}
	}
	out.Activity = e.activityRows(pg.border)
	out.Users = e.userRows(pg)
	return out
}

// Refresh brings every user's row up to date at now: it writes an Update
// (cause CauseRefresh) for each user whose score or percentile moved by
// MaterialChange or more since the user's last row, or whose level or
// signal count changed, or whose score or percentile reached or left 0.
// It also forgets signals older than Horizon and users no longer in the
// population. Call it every RefreshEvery (see RefreshDue), from the
// poller's goroutine, and write its Output like a page's.
func (e *Engine) Refresh(now time.Time) Output {
	now = now.UTC()
	e.lastRefresh = now
	e.advance(now)
	e.prune(now)
	rk := e.rank(now)
	var us []*user
	for _, u := range e.users {
		us = append(us, u)
	}
	slices.SortFunc(us, byKey)
	var out Output
	for _, u := range us {
		if u.score == 0 && u.emitted.same(vals{}) {
			continue
		}
		f := e.factor(u, now, rk, false)
		if !e.material(u.emitted, valsOf(f)) {
			continue
		}
		u.emitted = valsOf(f)
		e.explain(u, now, &f)
		out.Updates = append(out.Updates, Update{
			Tenant: e.tenant, UpdatedAt: now, Factor: f, CauseCategory: CauseRefresh,
		})
	}
	return out
}

// RefreshDue reports whether RefreshEvery has passed since the last
// Refresh (or Restore).
func (e *Engine) RefreshDue(now time.Time) bool {
	return e.lastRefresh.IsZero() || now.Sub(e.lastRefresh) >= e.cfg.RefreshEvery
}

// Restore rebuilds the engine after a restart, before the first page (see
// Config.RestoreSince for what to load):
//
//   - kept: the tenant's kept events from risk_events (FINAL), in any order:
//     those attributed to a user since Since.Signals, all since Since.Events;
//   - users: the tenant's org_users rows last seen after Since.Users;
//   - latest: the tenant's attack_factor_latest rows (FINAL), so that only
//     material changes are written again.
//
// It returns what to write: a Refresh at now (rows the crash may have lost
// or decay has moved), every live activity bucket (absolute counts, so
// rewriting them is harmless) and org_users rows the events add to.
func (e *Engine) Restore(kept []event.Event, users []OrgUser, latest []Update, now time.Time) Output {
	now = now.UTC()
	e.advance(now)
	window := now.Add(-e.cfg.PopulationWindow)
	for _, r := range users {
		if !r.LastSeen.After(window) {
			continue
		}
		key := userKey(r.UserID, r.UserLogin)
		if key == "" {
			continue
		}
		u := e.user(key)
		u.sight(r.FirstSeen.UTC())
		u.sight(r.LastSeen.UTC())
		e.setLogin(u, r.UserLogin, r.LastSeen.UTC())
		u.written, u.wFirst, u.wLast, u.wLogin = true, u.first, u.last, u.login
	}
	pg := newPage()
	for i := range kept {
		e.observe(pg, &kept[i], now)
	}
	// latest: the newest row of each user sets what was last written.
	newest := map[string]time.Time{}
	for _, r := range latest {
		key := userKey(r.UserID, r.UserLogin)
		if key == "" || r.UpdatedAt.Before(newest[key]) {
			continue
		}
		newest[key] = r.UpdatedAt
		u := e.users[key]
		if u == nil {
			if r.Score == 0 && r.Percentile == 0 {
				continue
			}
			// Not seen since the window: in no population, but its
			// last row is not 0, so Refresh writes a row of zeros.
			u = e.user(key)
			e.setLogin(u, r.UserLogin, time.Time{})
		}
		u.emitted = valsOf(r.Factor)
	}
	out := e.Refresh(now)
	var keys []bucketKey
	for k := range e.act {
		keys = append(keys, k)
	}
	out.Activity = e.activityRows(keys)
	out.Users = e.userRows(pg)
	return out
}

// Top returns the n users with the highest scores at now (all users with
// a score above 0 if n <= 0), highest first, ties by user id.
func (e *Engine) Top(n int, now time.Time) []Factor {
	now = now.UTC()
	rk := e.rank(now)
	var us []*user
	for _, u := range e.users {
		if u.score > 0 {
			us = append(us, u)
		}
	}
	slices.SortFunc(us, func(a, b *user) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	if n > 0 && len(us) > n {
		us = us[:n]
	}
	out := make([]Factor, 0, len(us))
	for _, u := range us {
		out = append(out, e.factor(u, now, rk, true))
	}
	return out
}

func byKey(a, b *user) int { return strings.Compare(a.key, b.key) }

// user returns the user of key, created if new (not sighted yet).
func (e *Engine) user(key string) *user {
	u := e.users[key]
	if u == nil {
		u = &user{key: strings.Clone(key)}
		e.users[u.key] = u
	}
	return u
}

// sight widens the user's first and last sightings to include at.
func (u *user) sight(at time.Time) {
	if u.first.IsZero() || at.Before(u.first) {
		u.first = at
	}
	if at.After(u.last) {
		u.last = at
	}
}

// setLogin keeps the login of the newest sighting that has one.
func (e *Engine) setLogin(u *user, login string, at time.Time) {
	if login == "" {
		return
	}
	if u.login == "" || at.After(u.loginAt) || (at.Equal(u.loginAt) && login > u.login) {
		if login != u.login {
			u.login = strings.Clone(login)
		}
		u.loginAt = at
	}
}

// see records a sighting. Sightings older than the population window are
// ignored unless force (the user of a kept event: it holds the signal).
func (e *Engine) see(pg *page, id, login string, at, now time.Time, force bool) *user {
	key := userKey(id, login)
	if key == "" || at.IsZero() {
		return nil
	}
	at = at.UTC()
	if !force && !at.After(now.Add(-e.cfg.PopulationWindow)) {
		return nil
	}
	u := e.user(key)
	u.sight(at)
	e.setLogin(u, login, at)
	if !u.written || u.first.Before(u.wFirst) || u.login != u.wLogin || u.last.Sub(u.wLast) >= e.cfg.PopulationWindow/lastSeenDivisor {
		pg.markDirty(u)
	}
	return u
}

// observe takes one kept event.
func (e *Engine) observe(pg *page, ev *event.Event, now time.Time) {
	if ev.PublishedNote != "" || ev.ID == "" || ev.Published.Before(e.integratedAt) {
		return
	}
	wk, dyn, state, ok := e.classify(ev)
	if !ok {
		return
	}
	p := ev.Published.UTC()
	if !p.After(now.Add(-e.cfg.Horizon)) {
		return // also long past the activity window
	}
	u := e.see(pg, ev.UserID, ev.UserLogin, p, now, true)
	e.countActivity(pg, ev, u, p)
	if u == nil {
		return
	}
	if state {
		if u.admitITP(itpEvent{id: strings.Clone(ev.ID), p: p, wk: wk}) {
			pg.addCandidate(u, candidate{id: ev.ID, cat: ev.Category, p: p, wk: wk})
		}
		return
	}
	if e.w[wk] <= 0 {
		return
	}
	s := signal{
		id: strings.Clone(ev.ID), tx: strings.Clone(ev.TransactionID), p: p, wk: wk, dyn: dyn,
		rank: math.Log2(e.w[wk]) + float64(p.Sub(epoch))/float64(e.cfg.HalfLife),
	}
	if u.admitSignal(s, e.cfg.MaxSignalsPerUser) {
		pg.addCandidate(u, candidate{id: ev.ID, cat: ev.Category, p: p, wk: wk, dyn: dyn})
	}
}

// classify maps a kept event to its weight key. state: a user_risk level
// event (sets the ITP level rather than adding a signal). dyn: a high_risk
// event that is damped if the user turns out to be new. ok false: the
// event is not scored nor counted (category extra with weight 0, unknown
// categories).
func (e *Engine) classify(ev *event.Event) (wk wkey, dyn, state, ok bool) {
	switch ev.Category {
	case event.CategoryLeakedCredentials:
		return wLeaked, false, false, true
	case event.CategoryThreatInsight:
		return wThreatInsight, false, false, true
	case event.CategoryEntityRisk:
		if strings.EqualFold(ev.EventType, "policy.entity_risk.evaluate") {
			return wEntityRiskEvaluate, false, false, true
		}
		return wEntityRisk, false, false, true
	case event.CategoryHighRisk:
		if e.onlyNewReasons(ev.RiskReasons) {
			return wFirstSignIn, false, false, true
		}
		return wHighRisk, true, false, true
	case event.CategoryUserRisk:
		switch ev.RiskLevel {
		case event.LevelHigh:
			return wUserRiskHigh, false, true, true
		case event.LevelMedium:
			return wUserRiskMedium, false, true, true
		case event.LevelLow:
			return wUserRiskLow, false, true, true
		}
		return wUserRisk, false, false, true
	case event.CategoryExtra:
		return wExtra, false, false, e.w[wExtra] > 0
	}
	return 0, false, false, false
}

// onlyNewReasons reports whether reasons is not empty and each of its
// comma-separated parts is a FirstSignInReasons entry.
func (e *Engine) onlyNewReasons(reasons string) bool {
	if len(e.reasons) == 0 || strings.TrimSpace(reasons) == "" {
		return false
	}
	for part := range strings.SplitSeq(reasons, ",") {
		if _, ok := e.reasons[strings.ToLower(strings.TrimSpace(part))]; !ok {
			return false
		}
	}
	return true
}

// isNew reports whether a high_risk event at p falls in the user's first
// FirstSignInWindow, the user having been first seen at least
// FirstSignInWindow after the integration (before that, every user looks
// new).
func (e *Engine) isNew(u *user, p time.Time) bool {
	w := e.cfg.FirstSignInWindow
	return u.first.Sub(e.integratedAt) >= w && p.Sub(u.first) <= w
}

// weight is the weight of a signal of u, after new-user damping.
func (e *Engine) weight(u *user, wk wkey, dyn bool, p time.Time) (float64, wkey) {
	if dyn && e.isNew(u, p) {
		return e.w[wFirstSignIn], wFirstSignIn
	}
	return e.w[wk], wk
}

// cause picks the candidate worth most at now; ties: the newest, then the
// smallest id.
func (e *Engine) cause(u *user, cs []candidate, now time.Time) candidate {
	var best candidate
	bestV := -1.0
	for _, c := range cs {
		v := 0.0
		if !c.p.After(now) {
			w, _ := e.weight(u, c.wk, c.dyn, c.p)
			v = w * e.decay(now.Sub(c.p))
		}
		if v > bestV || (v == bestV && (c.p.After(best.p) || (c.p.Equal(best.p) && c.id < best.id))) {
			best, bestV = c, v
		}
	}
	return best
}

// material reports whether the change from old to cur is worth a row.
func (e *Engine) material(old, cur vals) bool {
	m := e.cfg.MaterialChange
	return old.lvl() != cur.lvl() || old.signals != cur.signals ||
		math.Abs(old.score-cur.score) >= m || math.Abs(old.pct-cur.pct) >= m ||
		(old.score == 0) != (cur.score == 0) || (old.pct == 0) != (cur.pct == 0)
}

// prune forgets signals beyond the horizon and users who no longer matter:
// not seen within the population window, no signal left, last row zero.
func (e *Engine) prune(now time.Time) {
	horizon := now.Add(-e.cfg.Horizon)
	window := now.Add(-e.cfg.PopulationWindow)
	for key, u := range e.users {
		u.sigs = slices.DeleteFunc(u.sigs, func(s signal) bool { return !s.p.After(horizon) })
		u.itp = slices.DeleteFunc(u.itp, func(s itpEvent) bool { return !s.p.After(horizon) })
		if len(u.sigs) == 0 {
			u.sigs = nil
		}
		if len(u.itp) == 0 {
			u.itp = nil
		}
		if !u.last.After(window) && u.sigs == nil && u.itp == nil && u.emitted.same(vals{}) {
			delete(e.users, key)
		}
	}
}

// userRows returns the org_users rows of the page's dirty users.
func (e *Engine) userRows(pg *page) []OrgUser {
	slices.SortFunc(pg.dorder, byKey)
	var out []OrgUser
	for _, u := range pg.dorder {
		if e.users[u.key] != u {
			continue
		}
		out = append(out, OrgUser{Tenant: e.tenant, UserID: u.key, UserLogin: u.login, FirstSeen: u.first, LastSeen: u.last})
		u.written, u.wFirst, u.wLast, u.wLogin = true, u.first, u.last, u.login
	}
	return out
}
