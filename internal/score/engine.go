package score

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Engine computes the attack factors of one tenant. It holds the tenant's
// population and each user's strongest signals in memory (bounded: see
// Config.MaxSignalsPerUser) and is rebuilt after a restart by Restore.
//
// An Engine is not safe for concurrent use: the tenant's poller owns it
// and calls ObservePage, Refresh and Top from its one goroutine.
type Engine struct {
	tenant       string
	integratedAt time.Time
	cfg          Config
	w            [numKeys]float64
	reasons      map[string]struct{} // FirstSignInReasons, lower case

	users map[string]*user

	act       map[bucketKey]*bucket
	actCutoff time.Time // buckets starting before it are final

	lastRefresh time.Time
	forgotten   int // users dropped by Forget, for their opaque keys

	elems  []element // scratch for eval
	scores []float64 // scratch for rank
}

// NewEngine returns the engine of one tenant integrated at integratedAt
// (poll_state.integrated_at): events published before it are ignored, so no
// history from before the org was connected is scored. It fails only when
// cfg does not validate.
func NewEngine(tenant string, integratedAt time.Time, cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	e := &Engine{
		tenant:       tenant,
		integratedAt: integratedAt.UTC(),
		cfg:          cfg,
		reasons:      make(map[string]struct{}, len(cfg.FirstSignInReasons)),
		users:        make(map[string]*user),
		act:          make(map[bucketKey]*bucket),
	}
	for k, name := range keyNames {
		e.w[k] = cfg.Weights[name]
	}
	for _, r := range cfg.FirstSignInReasons {
		if r = strings.ToLower(strings.TrimSpace(r)); r != "" {
			e.reasons[r] = struct{}{}
		}
	}
	return e, nil
}

// Config returns the engine's configuration, defaults filled in.
func (e *Engine) Config() Config {
	c := e.cfg
	c.Weights = maps.Clone(c.Weights)
	c.FirstSignInReasons = slices.Clone(c.FirstSignInReasons)
	return c
}

// user is one user of the population.
type user struct {
	key     string // the user_id column
	login   string
	loginAt time.Time

	first, last time.Time // sightings

	sigs []signal   // the strongest signals, at most MaxSignalsPerUser
	itp  []itpEvent // the newest user_risk level events, at most maxITPEvents

	emitted vals // the values of the user's last Update

	// The last org_users row written.
	written       bool
	wFirst, wLast time.Time
	wLogin        string

	// The score and signal count computed by the last rank.
	score   float64
	signals uint32
}

// vals are the compared values of a Factor.
type vals struct {
	score, pct float64
	level      string
	signals    uint32
}

func valsOf(f Factor) vals {
	return vals{score: f.Score, pct: f.Percentile, level: f.Level, signals: f.Signals}
}

// lvl treats the zero value (no row yet) as low.
func (v vals) lvl() string {
	if v.level == "" {
		return LevelLow
	}
	return v.level
}

// same reports whether v and o are the same values (no row and a row of
// zeros are the same).
func (v vals) same(o vals) bool {
	return v.score == o.score && v.pct == o.pct && v.signals == o.signals && v.lvl() == o.lvl()
}

// signal is one retained event that counts (not a user_risk level event).
type signal struct {
	id, tx string
	p      time.Time
	wk     wkey    // weight key before new-user damping
	dyn    bool    // high_risk: damped to KeyFirstSignIn if the user is new
	rank   float64 // log2(weight) + p/HalfLife: the retention order
}

// itpEvent is one user_risk event with a level.
type itpEvent struct {
	id string
	p  time.Time
	wk wkey // wUserRiskHigh, wUserRiskMedium or wUserRiskLow
}

// epoch anchors signal ranks.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// weaker orders signals by rank, then published, then id: a total order on
// distinct events that does not depend on when it is evaluated (all
// signals decay alike), so the retained set is the strongest
// MaxSignalsPerUser of all signals ever observed, whatever their order.
func weaker(a, b *signal) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	if !a.p.Equal(b.p) {
		return a.p.Before(b.p)
	}
	return a.id < b.id
}

// older orders user_risk level events; the newest sets the level.
func older(a, b *itpEvent) bool {
	if !a.p.Equal(b.p) {
		return a.p.Before(b.p)
	}
	return a.id < b.id
}

// admitSignal adds s unless it is a replay or, the user being full, weaker
// than every retained signal (then it would have been evicted anyway).
func (u *user) admitSignal(s signal, limit int) bool {
	for i := range u.sigs {
		if u.sigs[i].id == s.id {
			return false
		}
	}
	if len(u.sigs) < limit {
		u.sigs = append(u.sigs, s)
		return true
	}
	if limit == 0 {
		return false
	}
	mi := 0
	for i := 1; i < len(u.sigs); i++ {
		if weaker(&u.sigs[i], &u.sigs[mi]) {
			mi = i
		}
	}
	if !weaker(&u.sigs[mi], &s) {
		return false
	}
	u.sigs[mi] = s
	return true
}

// admitITP keeps the newest maxITPEvents level events.
func (u *user) admitITP(ev itpEvent) bool {
	for i := range u.itp {
		if u.itp[i].id == ev.id {
			return false
		}
	}
	if len(u.itp) < maxITPEvents {
		u.itp = append(u.itp, ev)
		return true
	}
	oi := 0
	for i := 1; i < len(u.itp); i++ {
		if older(&u.itp[i], &u.itp[oi]) {
			oi = i
		}
	}
	if !older(&u.itp[oi], &ev) {
		return false
	}
	u.itp[oi] = ev
	return true
}

// itpAt is the user's level event in force at t: the newest published at
// or before t.
func (u *user) itpAt(t time.Time) *itpEvent {
	var best *itpEvent
	for i := range u.itp {
		ev := &u.itp[i]
		if ev.p.After(t) {
			continue
		}
		if best == nil || older(best, ev) {
			best = ev
		}
	}
	return best
}

// page collects what one call changes, in first-touched order.
type page struct {
	dirty   map[*user]bool // org_users rows to write
	dorder  []*user
	changed map[*user][]candidate // users with admitted events
	corder  []*user
	buckets map[bucketKey]bool // activity rows to write
	border  []bucketKey
}

func newPage() *page {
	return &page{dirty: map[*user]bool{}, changed: map[*user][]candidate{}, buckets: map[bucketKey]bool{}}
}

func (pg *page) markDirty(u *user) {
	if !pg.dirty[u] {
		pg.dirty[u] = true
		pg.dorder = append(pg.dorder, u)
	}
}

func (pg *page) addCandidate(u *user, c candidate) {
	if _, ok := pg.changed[u]; !ok {
		pg.corder = append(pg.corder, u)
	}
	pg.changed[u] = append(pg.changed[u], c)
}

func (pg *page) touchBucket(k bucketKey) {
	if !pg.buckets[k] {
		pg.buckets[k] = true
		pg.border = append(pg.border, k)
	}
}
