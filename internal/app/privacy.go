package app

import (
	"context"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskpipe/riskpipe/internal/api"
	"github.com/riskpipe/riskpipe/internal/classify"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/privacy"
)

// Forget makes every tenant's classify → score stage, and the response
// actions, forget the people m matches (privacy.Forgetter): the privacy
// service calls it during a deletion, the watcher for deletions made by
// other processes.
func (a *App) Forget(m privacy.Matcher) {
	a.mu.Lock()
	procs := make([]*processor, 0, len(a.procs))
	for _, p := range a.procs {
		procs = append(procs, p)
	}
	responder, sup := a.respond, a.sup
	a.mu.Unlock()
	// Suppressed at once, not from the watcher's next read of
	// privacy_requests: a deletion made by this process may end before it.
	sup.forget(m)
	for _, p := range procs {
		p.forget(m)
	}
	if responder != nil {
		responder.Forget(m.Matches)
	}
}

// forget drops the people m matches from the tenant's engine and
// attribution table, between two pages.
func (p *processor) forget(m privacy.Matcher) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.eng != nil {
		p.eng.Forget(m.Matches)
	}
	p.cls.Forget(m.Matches)
}

// suppressor drops the events of deleted people (privacy.suppress_deleted):
// it holds the HMACs of their emails and user ids, never the identifiers.
type suppressor struct {
	h       *privacy.Hasher
	dropped *prometheus.CounterVec

	mu     sync.RWMutex
	hashes map[string]struct{}
	cache  map[string]bool // identifier → suppressed, bounded
}

func newSuppressor(h *privacy.Hasher, reg prometheus.Registerer) *suppressor {
	s := &suppressor{h: h, hashes: map[string]struct{}{}, cache: map[string]bool{},
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "riskpipe_privacy_suppressed_events_total",
			Help: "Events about deleted people dropped by privacy.suppress_deleted, by tenant."}, []string{"tenant"})}
	reg.MustRegister(s.dropped)
	return s
}

func (s *suppressor) add(hashes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hashes {
		s.hashes[h] = struct{}{}
	}
	clear(s.cache)
}

// forget suppresses the people m names (with suppress_deleted; s nil:
// nothing).
func (s *suppressor) forget(m privacy.Matcher) {
	if s == nil {
		return
	}
	var hashes []string
	switch x := m.(type) {
	case privacy.Subject:
		for _, id := range x.IDs {
			hashes = append(hashes, s.h.ID(id))
		}
		for _, l := range x.Logins {
			hashes = append(hashes, s.h.Email(l))
		}
	case privacy.HashedSubject:
		for h := range x.Hashes {
			hashes = append(hashes, h)
		}
	}
	if len(hashes) > 0 {
		s.add(hashes)
	}
}

func (s *suppressor) empty() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.hashes) == 0
}

// is reports whether an id (kind id) or login is a deleted person's.
func (s *suppressor) is(v string, login bool) bool {
	if v == "" {
		return false
	}
	key := "i:" + v
	if login {
		key = "l:" + v
	}
	s.mu.RLock()
	hit, ok := s.cache[key]
	s.mu.RUnlock()
	if ok {
		return hit
	}
	var h string
	if login {
		h = s.h.Email(v)
	} else {
		h = s.h.ID(v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, hit = s.hashes[h]
	if len(s.cache) >= 100_000 {
		clear(s.cache)
	}
	s.cache[key] = hit
	return hit
}

func (s *suppressor) event(e *event.Event) bool {
	return s.is(e.UserID, false) || s.is(e.ActorID, false) || s.is(e.TargetUserID, false) ||
		s.is(e.UserLogin, true) || s.is(e.ActorLogin, true) || s.is(e.TargetUserLogin, true)
}

// filter removes the deleted people's events and sightings from res and
// counts the events.
func (s *suppressor) filter(tenant string, res *classify.Result) {
	if s == nil || s.empty() {
		return
	}
	n := 0
	keep := func(evs []event.Event) []event.Event {
		out := evs[:0]
		for i := range evs {
			if s.event(&evs[i]) {
				n++
				continue
			}
			out = append(out, evs[i])
		}
		return out
	}
	res.Kept = keep(res.Kept)
	res.Updated = keep(res.Updated)
	seen := res.Seen[:0]
	for _, u := range res.Seen {
		if !s.is(u.ID, false) && !s.is(u.Login, true) {
			seen = append(seen, u)
		}
	}
	res.Seen = seen
	if n > 0 {
		s.dropped.WithLabelValues(tenant).Add(float64(n))
	}
}

// privacyWatcher follows privacy_requests for deletions made by any
// process (the CLI, another riskpipe): their subject hashes are forgotten
// from memory and, with suppress_deleted, suppressed.
type privacyWatcher struct {
	conn     driver.Conn
	db       string // the database's name
	h        *privacy.Hasher
	forget   func(privacy.Matcher) // App.Forget: memory, and suppression
	interval time.Duration
	seen     map[string]int // request id → hashes handled
}

// load reads every deletion's hashes and handles the new ones.
func (w *privacyWatcher) load(ctx context.Context) error {
	deletions, err := privacy.DeletionHashes(ctx, w.conn, w.db)
	if err != nil {
		return err
	}
	fresh := map[string]struct{}{}
	for id, hashes := range deletions {
		if w.seen[id] == len(hashes) {
			continue
		}
		w.seen[id] = len(hashes)
		for _, h := range hashes {
			fresh[h] = struct{}{}
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	w.forget(privacy.HashedSubject{H: w.h, Hashes: fresh})
	return nil
}

func (w *privacyWatcher) run(ctx context.Context, log func(error)) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		if err := w.load(ctx); err != nil && ctx.Err() == nil {
			log(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// startPrivacy builds the privacy service (with privacy.hash_key), its
// watcher and the retention enforcer, and runs them until the returned
// stop is called (after the pollers stopped: before ClickHouse closes).
func (a *App) startPrivacy(ctx context.Context, st interface {
	Conn() driver.Conn
	Database() string
}) (stop func(), err error) {
	cfg := a.o.Config
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	stop = func() { cancel(); wg.Wait() }
	ret, err := privacy.NewRetention(privacy.RetentionOptions{Conn: st.Conn(), Database: st.Database(), Ages: cfg.Retention,
		Registerer: a.reg, Logger: a.log.With("component", "retention")})
	if err != nil {
		cancel()
		return nil, err
	}
	wg.Add(1)
	go func() { defer wg.Done(); _ = ret.Run(ctx) }()
	if cfg.Privacy.HashKey == "" {
		return stop, nil
	}
	h := privacy.NewHasher(cfg.Privacy.HashKey.Reveal())
	var sup *suppressor
	if cfg.Privacy.SuppressDeleted {
		sup = newSuppressor(h, a.reg)
	}
	svc, err := privacy.New(privacy.Options{Conn: st.Conn(), Database: st.Database(), HashKey: cfg.Privacy.HashKey.Reveal(),
		Forgetter: a, Logger: a.log.With("component", "privacy"), Registerer: a.reg})
	if err != nil {
		stop()
		return nil, err
	}
	a.mu.Lock()
	a.privacy, a.sup = svc, sup
	a.mu.Unlock()
	w := &privacyWatcher{conn: st.Conn(), db: st.Database(), h: h, forget: a.Forget,
		interval: privacy.WatchInterval, seen: map[string]int{}}
	// Suppression is in force before the first page.
	if err := w.load(ctx); err != nil {
		a.log.Warn("privacy: read privacy_requests", "err", err)
	}
	wg.Add(2)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	go func() {
		defer wg.Done()
		w.run(ctx, func(err error) { a.log.Warn("privacy: read privacy_requests", "err", err) })
	}()
	return stop, nil
}

// privacyAPI is the privacy service for the API (nil: not configured).
func (a *App) privacyAPI() api.Privacy {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.privacy == nil {
		return nil
	}
	return a.privacy
}
