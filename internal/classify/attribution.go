package classify

import (
	"time"

	"github.com/riskpipe/riskpipe/internal/event"
)

// attribution links ThreatInsight events, which carry no user, to the user
// of another event of the same transaction.id: any event (kept or dropped)
// whose actor is a User, typically the user.session.start of a request that
// ThreatInsight let through. Either may come first:
//
//   - user event first: the transaction remembers its user, and a later
//     threat event is kept with that user filled in;
//   - threat event first: it is kept without a user and held as pending; when
//     the user event arrives, the threat event is filled in place (same page)
//     or returned in Result.Updated (later page).
//
// The two events must be at most window apart by `published`. At most maxTx
// transactions are remembered, least recently used forgotten first, and
// pending threat events may hold at most maxPendingBytes of raw JSON.
// Transactions older than window before the newest `published` seen
// (capped at the page's now, so one event dated in the future cannot expire
// everything) are forgotten. State is in memory only.
type attribution struct {
	maxTx           int
	maxPendingBytes int
	window          time.Duration

	txs          map[string]*txEntry
	head, tail   *txEntry // LRU list, head most recently used
	pendingBytes int
	watermark    time.Time // newest plausible `published` seen

	page uint64  // sequence number of the page being classified
	res  *Result // its result
	now  time.Time
}

type txEntry struct {
	id         string
	prev, next *txEntry
	last       time.Time // newest `published` of the events seen with this transaction

	hasUser       bool
	userID        string
	userLogin     string
	userPublished time.Time

	pending []pendingThreat
}

// pendingThreat is a kept threat event waiting for its user.
type pendingThreat struct {
	ev   event.Event
	page uint64
	idx  int // index in Result.Kept of page
	size int
}

// pendingOverhead approximates the memory of a pending event beyond its raw
// JSON (the Event struct and its strings).
const pendingOverhead = 512

func (a *attribution) init(maxTx int, window time.Duration, maxPendingBytes int) {
	a.maxTx, a.window, a.maxPendingBytes = maxTx, window, maxPendingBytes
	a.txs = make(map[string]*txEntry)
}

func (a *attribution) startPage(res *Result, now time.Time) {
	a.page++
	a.res, a.now = res, now
}

func (a *attribution) endPage() {
	a.evict()
	a.res = nil
}

// observe records what every decoded event tells: its time, and the user of
// its transaction.
func (a *attribution) observe(e *event.Event) {
	if e.PublishedNote == "" {
		p := e.Published
		if p.After(a.now) {
			p = a.now
		}
		if p.After(a.watermark) {
			a.watermark = p
		}
	}
	if e.TransactionID == "" || !isUser(e) {
		return
	}
	en := a.lookup(e.TransactionID)
	if en == nil {
		en = a.insert(e.TransactionID)
	}
	a.touch(en, e.Published)
	if !en.hasUser {
		en.hasUser, en.userID, en.userLogin, en.userPublished = true, e.ActorID, e.ActorLogin, e.Published
	}
	if len(en.pending) > 0 {
		a.resolve(en)
	}
	a.evict()
}

// attribute fills in the user of the threat event res.Kept[idx], or holds it
// until its transaction's user is seen.
func (a *attribution) attribute(idx int) {
	e := &a.res.Kept[idx]
	if e.TransactionID == "" {
		return
	}
	en := a.lookup(e.TransactionID)
	if en == nil {
		en = a.insert(e.TransactionID)
	}
	a.touch(en, e.Published)
	if en.hasUser && a.within(e.Published, en.userPublished) {
		e.UserID, e.UserLogin = en.userID, en.userLogin
		return
	}
	p := pendingThreat{ev: *e, page: a.page, idx: idx, size: len(e.Raw) + pendingOverhead}
	replaced := false
	for i := range en.pending {
		// A replay of an event held from an earlier page: keep one copy.
		if old := &en.pending[i]; old.ev.ID == e.ID && old.page != a.page {
			a.pendingBytes += p.size - old.size
			*old, replaced = p, true
			break
		}
	}
	if !replaced {
		en.pending = append(en.pending, p)
		a.pendingBytes += p.size
	}
	a.evict()
}

// resolve fills in the user of en's pending threat events that are within
// the window of the user event.
func (a *attribution) resolve(en *txEntry) {
	kept := en.pending[:0]
	for _, p := range en.pending {
		if !a.within(p.ev.Published, en.userPublished) {
			kept = append(kept, p)
			continue
		}
		a.pendingBytes -= p.size
		if p.page == a.page {
			k := &a.res.Kept[p.idx]
			k.UserID, k.UserLogin = en.userID, en.userLogin
			continue
		}
		ev := p.ev
		ev.UserID, ev.UserLogin = en.userID, en.userLogin
		a.res.Updated = append(a.res.Updated, ev)
	}
	clear(en.pending[len(kept):])
	en.pending = kept
}

func (a *attribution) within(t1, t2 time.Time) bool {
	d := t1.Sub(t2)
	return d <= a.window && d >= -a.window
}

func (a *attribution) expired(en *txEntry) bool {
	return en.last.Before(a.watermark.Add(-a.window))
}

// lookup returns the live entry of a transaction, forgetting it if expired.
func (a *attribution) lookup(tx string) *txEntry {
	en := a.txs[tx]
	if en != nil && a.expired(en) {
		a.remove(en)
		return nil
	}
	return en
}

func (a *attribution) insert(tx string) *txEntry {
	en := &txEntry{id: tx}
	a.txs[tx] = en
	a.pushFront(en)
	return en
}

// touch marks en most recently used and records the event time.
func (a *attribution) touch(en *txEntry, published time.Time) {
	if published.After(en.last) {
		en.last = published
	}
	if a.head != en {
		a.unlink(en)
		a.pushFront(en)
	}
}

// evict enforces the bounds and forgets expired transactions from the LRU
// end.
func (a *attribution) evict() {
	for a.tail != nil && (len(a.txs) > a.maxTx || a.pendingBytes > a.maxPendingBytes || a.expired(a.tail)) {
		a.remove(a.tail)
	}
}

func (a *attribution) remove(en *txEntry) {
	for _, p := range en.pending {
		a.pendingBytes -= p.size
	}
	a.unlink(en)
	delete(a.txs, en.id)
}

func (a *attribution) pushFront(en *txEntry) {
	en.prev, en.next = nil, a.head
	if a.head != nil {
		a.head.prev = en
	}
	a.head = en
	if a.tail == nil {
		a.tail = en
	}
}

func (a *attribution) unlink(en *txEntry) {
	if en.prev != nil {
		en.prev.next = en.next
	} else if a.head == en {
		a.head = en.next
	}
	if en.next != nil {
		en.next.prev = en.prev
	} else if a.tail == en {
		a.tail = en.prev
	}
	en.prev, en.next = nil, nil
}

// len reports how many transactions are remembered (for tests).
func (a *attribution) len() int { return len(a.txs) }
