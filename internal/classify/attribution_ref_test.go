package classify

// The attribution table as it was before it was made compact (commit
// cc477fd, attribution.go), kept verbatim but renamed as the reference
// model of TestAttributionMatchesReference.

import (
	"time"

	"github.com/riskpipe/riskpipe/internal/event"
)

type refAttribution struct {
	maxTx           int
	maxPendingBytes int
	window          time.Duration

	txs          map[string]*refTxEntry
	head, tail   *refTxEntry // LRU list, head most recently used
	pendingBytes int
	watermark    time.Time // newest plausible `published` seen

	page uint64  // sequence number of the page being classified
	res  *Result // its result
	now  time.Time
}

type refTxEntry struct {
	id         string
	prev, next *refTxEntry
	last       time.Time // newest `published` of the events seen with this transaction

	hasUser       bool
	userID        string
	userLogin     string
	userPublished time.Time

	pending []refPendingThreat
}

// refPendingThreat is a kept threat event waiting for its user.
type refPendingThreat struct {
	ev   event.Event
	page uint64
	idx  int // index in Result.Kept of page
	size int
}

func (a *refAttribution) init(maxTx int, window time.Duration, maxPendingBytes int) {
	a.maxTx, a.window, a.maxPendingBytes = maxTx, window, maxPendingBytes
	a.txs = make(map[string]*refTxEntry)
}

func (a *refAttribution) startPage(res *Result, now time.Time) {
	a.page++
	a.res, a.now = res, now
}

func (a *refAttribution) endPage() {
	a.evict()
	a.res = nil
}

// observe records what every decoded event tells: its time, and the user of
// its transaction.
func (a *refAttribution) observe(e *event.Event) {
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
func (a *refAttribution) attribute(idx int) {
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
	p := refPendingThreat{ev: *e, page: a.page, idx: idx, size: len(e.Raw) + pendingOverhead}
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
func (a *refAttribution) resolve(en *refTxEntry) {
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

func (a *refAttribution) within(t1, t2 time.Time) bool {
	d := t1.Sub(t2)
	return d <= a.window && d >= -a.window
}

func (a *refAttribution) expired(en *refTxEntry) bool {
	return en.last.Before(a.watermark.Add(-a.window))
}

// lookup returns the live entry of a transaction, forgetting it if expired.
func (a *refAttribution) lookup(tx string) *refTxEntry {
	en := a.txs[tx]
	if en != nil && a.expired(en) {
		a.remove(en)
		return nil
	}
	return en
}

func (a *refAttribution) insert(tx string) *refTxEntry {
	en := &refTxEntry{id: tx}
	a.txs[tx] = en
	a.pushFront(en)
	return en
}

// touch marks en most recently used and records the event time.
func (a *refAttribution) touch(en *refTxEntry, published time.Time) {
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
func (a *refAttribution) evict() {
	for a.tail != nil && (len(a.txs) > a.maxTx || a.pendingBytes > a.maxPendingBytes || a.expired(a.tail)) {
		a.remove(a.tail)
	}
}

func (a *refAttribution) remove(en *refTxEntry) {
	for _, p := range en.pending {
		a.pendingBytes -= p.size
	}
	a.unlink(en)
	delete(a.txs, en.id)
}

func (a *refAttribution) pushFront(en *refTxEntry) {
	en.prev, en.next = nil, a.head
	if a.head != nil {
		a.head.prev = en
	}
	a.head = en
	if a.tail == nil {
		a.tail = en
	}
}

func (a *refAttribution) unlink(en *refTxEntry) {
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
func (a *refAttribution) len() int { return len(a.txs) }
