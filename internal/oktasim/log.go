package oktasim

import (
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// retention: "System Log data older than 90 days isn't returned."
	retention = 90 * 24 * time.Hour
	// maxSinceAge: a since further back is rejected with E0000053.
	maxSinceAge = 180 * 24 * time.Hour
	// openCount marks the segment of a steady rate that is still running.
	openCount = -1
)

// segment is a run of consecutive events. Persisted times never decrease
// along the log, so the events visible at any instant form a prefix of it.
type segment struct {
	first int64 // index of the first event
	count int64 // number of events, or openCount
	start time.Time
	// interval > 0: event k is persisted at start+k*interval (steady rate).
	// interval == 0 and stored == nil: all count events at start (backlog).
	interval time.Duration
	// stored: injected events, each with its own persisted time.
	stored []storedEvent
}

func (s *segment) end() int64 {
	if s.count == openCount {
		return math.MaxInt64
	}
	return s.first + s.count
}

func (s *segment) persistedAt(k int64) time.Time {
	if s.stored != nil {
		return s.stored[k].persisted
	}
	return s.start.Add(time.Duration(k) * s.interval)
}

// countAtOrBefore is how many events of s are persisted at or before t.
func (s *segment) countAtOrBefore(t time.Time) int64 {
	if t.Before(s.start) {
		return 0
	}
	var n int64
	switch {
	case s.stored != nil:
		return int64(sort.Search(len(s.stored), func(i int) bool { return s.stored[i].persisted.After(t) }))
	case s.interval == 0:
		n = s.count
	default:
		n = int64(t.Sub(s.start)/s.interval) + 1
	}
	if s.count != openCount && n > s.count {
		n = s.count
	}
	return n
}

// countBefore is how many events of s are persisted strictly before t.
func (s *segment) countBefore(t time.Time) int64 {
	if !s.start.Before(t) {
		return 0
	}
	var n int64
	switch {
	case s.stored != nil:
		return int64(sort.Search(len(s.stored), func(i int) bool { return !s.stored[i].persisted.Before(t) }))
	case s.interval == 0:
		n = s.count
	default:
		d := t.Sub(s.start)
		n = int64(d / s.interval)
		if d%s.interval != 0 {
			n++
		}
	}
	if s.count != openCount && n > s.count {
		n = s.count
	}
	return n
}

// logView is an immutable snapshot of an org's log.
type logView struct {
	segs []segment
	src  Source
}

// visible returns how many events are persisted at or before now.
func (v logView) visible(now time.Time) int64 {
	j := sort.Search(len(v.segs), func(j int) bool { return v.segs[j].start.After(now) })
	if j == 0 {
		return 0
	}
	s := &v.segs[j-1]
	return s.first + s.countAtOrBefore(now)
}

// firstAtOrAfter returns the index of the first event persisted at or after
// t; past the last event when there is none.
func (v logView) firstAtOrAfter(t time.Time) int64 {
	j := sort.Search(len(v.segs), func(j int) bool {
		s := &v.segs[j]
		return s.count == openCount || !s.persistedAt(s.count-1).Before(t)
	})
	if j == len(v.segs) {
		if j == 0 {
			return 0
		}
		return v.segs[j-1].end()
	}
	return v.segs[j].first + v.segs[j].countBefore(t)
}

func (v logView) segFor(i int64) *segment {
	j := sort.Search(len(v.segs), func(j int) bool { return v.segs[j].end() > i })
	return &v.segs[j]
}

// event returns the i-th event and its persisted time; i must exist.
func (v logView) event(i int64) (Event, time.Time) {
	s := v.segFor(i)
	k := i - s.first
	if s.stored != nil {
		return s.stored[k].Event, s.stored[k].persisted
	}
	p := s.persistedAt(k)
	return v.src.Event(i, p), p
}

// published returns the published time of event i, without generating it
// when the source can say.
func (v logView) published(i int64) time.Time {
	s := v.segFor(i)
	k := i - s.first
	if s.stored != nil {
		return s.stored[k].Published
	}
	p := s.persistedAt(k)
	if ps, ok := v.src.(PublishedSource); ok {
		return ps.Published(i, p)
	}
	return v.src.Event(i, p).Published
}

func (v logView) persisted(i int64) time.Time {
	s := v.segFor(i)
	return s.persistedAt(i - s.first)
}

// eventLog is an org's log: readers take lock-free snapshots, writers copy
// the (short) segment list under mu.
type eventLog struct {
	src  Source
	mu   sync.Mutex
	segs atomic.Pointer[[]segment]
}

func (l *eventLog) view() logView {
	p := l.segs.Load()
	if p == nil {
		return logView{src: l.src}
	}
	return logView{segs: *p, src: l.src}
}

// edit stops the running steady rate at now, lets f add segments after the
// events persisted so far, resumes the rate and publishes the result.
func (l *eventLog) edit(now time.Time, f func(b *logBuilder)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := &logBuilder{segs: slices.Clone(l.view().segs), now: now}
	b.stopRate()
	f(b)
	b.resumeRate()
	l.segs.Store(&b.segs)
}

type logBuilder struct {
	segs []segment
	now  time.Time
	// The steady rate to resume (0: none) and when its next event is due.
	interval time.Duration
	resume   time.Time
	tail     time.Time // persisted time of the last event so far
}

func (b *logBuilder) end() int64 {
	if len(b.segs) == 0 {
		return 0
	}
	return b.segs[len(b.segs)-1].end()
}

func (b *logBuilder) stopRate() {
	if n := len(b.segs); n > 0 && b.segs[n-1].count == openCount {
		s := &b.segs[n-1]
		c := s.countAtOrBefore(b.now)
		b.interval = s.interval
		b.resume = s.start.Add(time.Duration(c) * s.interval)
		if c == 0 {
			b.segs = b.segs[:n-1]
		} else {
			s.count = c
		}
	}
	if n := len(b.segs); n > 0 {
		s := &b.segs[n-1]
		b.tail = s.persistedAt(s.count - 1)
	}
}

// at is the persisted time for events added now: never before the tail.
func (b *logBuilder) at() time.Time {
	if b.now.Before(b.tail) {
		return b.tail
	}
	return b.now
}

func (b *logBuilder) addBacklog(n int64, at time.Time) {
	if n <= 0 {
		return
	}
	if at.Before(b.tail) {
		at = b.tail
	}
	b.segs = append(b.segs, segment{first: b.end(), count: n, start: at})
	b.tail = at
}

func (b *logBuilder) addStored(raws [][]byte) {
	if len(raws) == 0 {
		return
	}
	at := b.at()
	evs := make([]storedEvent, len(raws))
	for i, raw := range raws {
		evs[i] = newStoredEvent(raw, at)
	}
	if n := len(b.segs); n > 0 && b.segs[n-1].stored != nil {
		// Appending past len never changes what older views see.
		s := &b.segs[n-1]
		s.stored = append(s.stored, evs...)
		s.count = int64(len(s.stored))
	} else {
		b.segs = append(b.segs, segment{first: b.end(), count: int64(len(evs)), start: at, stored: evs})
	}
	b.tail = at
}

// setRate replaces the steady rate, starting at `from` (at least the tail).
func (b *logBuilder) setRate(eventsPerSecond float64, from time.Time) {
	b.interval = rateInterval(eventsPerSecond)
	b.resume = from
}

func (b *logBuilder) resumeRate() {
	if b.interval <= 0 {
		return
	}
	start := b.resume
	if start.Before(b.tail) {
		start = b.tail
	}
	b.segs = append(b.segs, segment{first: b.end(), count: openCount, start: start, interval: b.interval})
}

// rateInterval converts events/s to the time between events (0: stopped).
func rateInterval(eventsPerSecond float64) time.Duration {
	if !(eventsPerSecond > 0) || math.IsInf(eventsPerSecond, 0) {
		return 0
	}
	d := time.Duration(math.Round(float64(time.Second) / eventsPerSecond))
	return max(d, 1)
}
