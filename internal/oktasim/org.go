package oktasim

import (
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// Org is one simulated Okta org. Its methods are safe for concurrent use.
type Org struct {
	name   string
	srv    *Server
	logger *slog.Logger
	log    eventLog
	auth   *authServer
	limits *limiter
	faults *faultSet
	stats  orgStats
	people *people // API-token owners and admin roles (principal.go)
	dir    *directory
	mgmt   *limiter // users and groups API bucket
	holds  holdSet  // users/groups API requests held at a point of their handling (hold.go)

	reqHoldMu sync.Mutex
	reqHolds  []*RequestHold // armed holds of /api/v1/logs requests (request_hold.go)
}

func newOrg(s *Server, oo OrgOptions) (*Org, error) {
	auth, err := newAuthServer(oo)
	if err != nil {
		return nil, err
	}
	o := &Org{
		name:   oo.Name,
		srv:    s,
		logger: s.logger.With("org", oo.Name),
		log:    eventLog{src: oo.Source},
		auth:   auth,
		limits: newLimiter(oo.RateLimit),
		faults: newFaultSet(s.seed, oo.Name),
		people: newPeople(oo),
	}
	start := oo.Start
	if start.IsZero() {
		start = s.now()
	}
	dir, err := newDirectory(oo.Users, oo.Groups, start)
	if err != nil {
		return nil, err
	}
	o.dir = dir
	perMinute := oo.ManagementPerMinute
	if perMinute <= 0 {
		perMinute = defaultManagementPerMinute
	}
	o.mgmt = newLimiter(RateLimitOptions{Disabled: oo.RateLimit.Disabled, PerMinute: perMinute, Concurrency: defaultConcurrency})
	o.log.edit(start, func(b *logBuilder) {
		b.addBacklog(oo.Backlog, start)
		b.setRate(oo.EventsPerSecond, start)
	})
	return o, nil
}

// Name returns the org's name.
func (o *Org) Name() string { return o.name }

func (o *Org) now() time.Time { return o.srv.now() }

// Inject appends explicit raw events, persisted now (stored, unlike
// generated events). Each raw event should be one JSON object; its uuid and
// published are read for ground truth (published defaults to persisted).
func (o *Org) Inject(raw ...[]byte) {
	o.log.edit(o.now(), func(b *logBuilder) { b.addStored(raw) })
}

// AddBacklog appends n generated events, all persisted now (after any
// event persisted so far). Panics when the org has no Source.
func (o *Org) AddBacklog(n int64) {
	o.mustHaveSource()
	o.log.edit(o.now(), func(b *logBuilder) { b.addBacklog(n, b.at()) })
	o.logger.Debug("backlog added", "events", n)
}

// SetRate makes the org generate eventsPerSecond events from now on
// (0 stops). Panics when the org has no Source.
func (o *Org) SetRate(eventsPerSecond float64) {
	o.mustHaveSource()
	o.log.edit(o.now(), func(b *logBuilder) { b.setRate(eventsPerSecond, b.at()) })
	o.logger.Debug("rate set", "events_per_second", eventsPerSecond)
}

func (o *Org) mustHaveSource() {
	if o.log.src == nil {
		panic(fmt.Sprintf("oktasim: org %q has no Source", o.name))
	}
}

// Len returns how many events are visible now (persisted at or before now),
// retention aside.
func (o *Org) Len() int64 { return o.log.view().visible(o.now()) }

// Truth returns what a perfect poller started with `since` would get: every
// visible event persisted at or after since (and within the 90-day
// retention), in persistence order. The range is fixed when Truth is
// called; events are generated as the sequence is iterated, so a million
// events cost no memory (slices.Collect them for small logs).
func (o *Org) Truth(since time.Time) iter.Seq[Event] {
	from, to := o.TruthRange(since)
	v := o.log.view()
	return func(yield func(Event) bool) {
		for i := from; i < to; i++ {
			if ev, _ := v.event(i); !yield(ev) {
				return
			}
		}
	}
}

// TruthRange returns Truth's events as the index range [from, to).
func (o *Org) TruthRange(since time.Time) (from, to int64) {
	now := o.now()
	v := o.log.view()
	from = max(v.firstAtOrAfter(since), v.firstAtOrAfter(now.Add(-retention)))
	to = v.visible(now)
	return min(from, to), to
}

// EventAt returns the i-th event with its persisted time; ok is false when
// it is not visible yet.
func (o *Org) EventAt(i int64) (ev Event, persisted time.Time, ok bool) {
	v := o.log.view()
	if i < 0 || i >= v.visible(o.now()) {
		return Event{}, time.Time{}, false
	}
	ev, persisted = v.event(i)
	return ev, persisted, true
}

// ExpireTokens expires every access token issued so far: the next request
// with one gets 401 invalid_token, as after Okta's one-hour lifetime.
func (o *Org) ExpireTokens() { o.auth.expireAll() }

// Stats are an org's counters.
type Stats struct {
	// Requests counts responses to the org's endpoints by HTTP status;
	// 0 counts connections reset by a fault. Requests whose client left
	// before an answer are not counted.
	Requests     map[int]int64 `json:"requests"`
	TokensIssued int64         `json:"tokens_issued"`
	EventsServed int64         `json:"events_served"`
	// Faults counts faults applied, by kind.
	Faults   map[FaultKind]int64 `json:"faults"`
	InFlight int64               `json:"in_flight"` // /api/v1/logs requests being served
	Events   int64               `json:"events"`    // visible events (Len)
}

// Stats returns a copy of the org's counters.
func (o *Org) Stats() Stats {
	o.stats.mu.Lock()
	st := Stats{
		Requests: maps.Clone(o.stats.requests),
		Faults:   maps.Clone(o.stats.faults),
	}
	o.stats.mu.Unlock()
	if st.Requests == nil {
		st.Requests = map[int]int64{}
	}
	if st.Faults == nil {
		st.Faults = map[FaultKind]int64{}
	}
	st.TokensIssued = o.stats.tokensIssued.Load()
	st.EventsServed = o.stats.eventsServed.Load()
	st.InFlight = o.limits.inflight.Load()
	st.Events = o.Len()
	return st
}

type orgStats struct {
	mu           sync.Mutex
	requests     map[int]int64
	faults       map[FaultKind]int64
	tokensIssued atomic.Int64
	eventsServed atomic.Int64
}

func (s *orgStats) request(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requests == nil {
		s.requests = map[int]int64{}
	}
	s.requests[status]++
}

func (s *orgStats) fault(k FaultKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults == nil {
		s.faults = map[FaultKind]int64{}
	}
	s.faults[k]++
}
