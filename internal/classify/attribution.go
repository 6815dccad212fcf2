package classify

import (
	"hash/maphash"
	"math"
	"strings"
	"time"
	"unsafe"

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
// pending threat events may hold at most maxPendingBytes of raw JSON. With a
// byte budget (maxBytes > 0, WithAttributionBytes) the least recently used
// transactions are also forgotten while the approximate size of the whole
// state (bytes) exceeds it. Transactions older than window before the newest
// `published` seen (capped at the page's now, so one event dated in the
// future cannot expire everything) are forgotten. State is in memory only.
//
// Memory. A transaction is a fixed-size txEntry without pointers (so the GC
// never scans the table) in the slot slice txs, found through index, an
// open-addressing table (hashIndex) from a 64-bit hash of its
// transaction.id to its slot; the id itself is not kept. Slots form an
// intrusive LRU list (int32 prev/next); removed slots go on a free list and
// are reused, so txs grows to the most transactions ever remembered at once
// (at most maxTx) and does not shrink, nor does index. A user's id and
// login are kept once, in the users table (found through userIndex), with a
// count of the transactions that refer to them, and freed with the last
// one. Pending threat events (rare) are in a map by slot. That is ~52
// bytes per transaction (40 + its share of index) plus ~70 bytes and the
// id and login per distinct user, against ~270–300 bytes per transaction
// when each entry held its transaction id, user id and login as strings
// (TestAttributionHeap measures it).
//
// Hash collisions. Two transaction ids with the same hash share an entry: a
// ThreatInsight event of one may then be attributed to the user of the other
// (if within the window). The hash is hash/maphash with a seed per
// attribution (per tenant, per process), so collisions are random and not
// reproducible; with n transactions remembered, a new transaction collides
// with probability ~n/2^64 (~3·10^-15 at 50,000), i.e. ~n²/2^64 over a
// table's worth of transactions. That is accepted: at worst one
// ThreatInsight event is attributed to the wrong user. (Users are found by
// hash too, but compared by id and login, so they never mix.)
type attribution struct {
	maxTx           int
	maxPendingBytes int
	maxBytes        int // byte budget of bytes(); 0: none
	window          time.Duration

	seed       maphash.Seed
	index      hashIndex // hash of transaction.id → slot in txs
	txs        []txEntry // slots, live or free
	free       int32     // first free slot (linked through next), or none
	head, tail int32     // LRU list of live slots, head most recently used
	live       int       // live slots

	users     []userEntry
	userIndex hashIndex // hash of (id, login) → index in users
	freeUser  int32     // first free user (linked through nextFree), or none
	liveUsers int
	userBytes int // approximate bytes of the live users (entries and strings)

	pending      map[int32][]pendingThreat // by slot, for entries with pending set
	pendingBytes int
	watermark    int64 // newest plausible `published` seen, unix ns

	page uint64  // sequence number of the page being classified
	res  *Result // its result
	now  time.Time
}

// none is the null slot and user index.
const none int32 = -1

// maxSlots bounds the slots int32 indices can address.
const maxSlots = math.MaxInt32 - 1

// txEntry is a remembered transaction (or a free slot). It holds no
// pointers. Times are unix nanoseconds (see unixNano).
type txEntry struct {
	hash          uint64 // of transaction.id, its key in index
	last          int64  // newest `published` of the events seen with this transaction
	userPublished int64  // `published` of its user event, when user != none
	prev, next    int32  // LRU neighbours; next links free slots
	user          int32  // index in users, or none
	pending       bool   // has threat events in attribution.pending
}

type userKey struct{ id, login string }

// userEntry is a user of one or more remembered transactions (or a free
// entry, refs == 0).
type userEntry struct {
	userKey
	hash     uint64 // of userKey, its key in userIndex
	refs     int32  // transactions whose user it is
	nextFree int32  // next free entry, when free
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

// Approximate memory, for bytes() and WithAttributionBytes (checked against
// the measured heap by TestAttributionHeap and
// TestAttributionBytesDistinctUsers). A transaction is its txEntry and its
// share of index, whose table is kept at most half full: 4 bytes per
// position, 8 to 16 bytes per transaction. A user is its userEntry, its id
// and login (one allocation, rounded up to a size class: ~8 bytes) and its
// share of userIndex.
const (
	txEntryBytes      = int(unsafe.Sizeof(txEntry{}))
	txBytes           = txEntryBytes + 16 // with the index at its emptiest, for WithAttributionBytes
	userBytesOverhead = int(unsafe.Sizeof(userEntry{})) + 8
)

func (a *attribution) init(maxTx int, window time.Duration, maxPendingBytes int) {
	a.maxTx, a.window, a.maxPendingBytes = maxTx, window, maxPendingBytes
	a.seed = maphash.MakeSeed()
	a.free, a.head, a.tail, a.freeUser = none, none, none, none
	a.watermark = math.MinInt64
}

// WithAttributionBytes gives the attribution state of the Classifier a
// budget of about n bytes (as AttributionBytes counts them), e.g. a
// tenant's share of a process-wide budget. It sets the transaction bound to
// what fits in n, n / ~56 bytes (replacing WithMaxTransactions or the
// default 50,000 if given before it; one given after it replaces the bound
// in turn), and forgets the least recently used transactions while the
// state exceeds n: users' ids and logins and pending ThreatInsight events
// count too, so with many distinct users or pending events fewer
// transactions are remembered. WithMaxPendingBytes still applies on its
// own. n < 1 means no budget (the default).
func WithAttributionBytes(n int) Option {
	return func(c *Classifier) {
		if n > 0 {
			c.att.maxBytes = n
			c.att.maxTx = min(max(n/txBytes, 1), maxSlots)
		}
	}
}

// AttributionBytes returns the approximate memory of the Classifier's
// attribution state: the transactions remembered and their index, their
// users and the pending ThreatInsight events. Not counted: the slots of
// transactions and users forgotten, kept for reuse (at most the
// transaction bound × 40 bytes), and the Go map of pending events.
func (c *Classifier) AttributionBytes() int { return c.att.bytes() }

// bytes is the approximate memory of the live transactions, the indexes,
// the live users and the pending events. Free slots of txs and users are
// not counted, so that forgetting transactions always makes room; the
// indexes keep the size of their peak, at most 16 bytes per transaction
// of the bound each, which txBytes reserves for index.
func (a *attribution) bytes() int {
	return a.live*txEntryBytes + a.index.bytes() + a.userBytes + a.userIndex.bytes() + a.pendingBytes
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
		if n := unixNano(p); n > a.watermark {
			a.watermark = n
		}
	}
	if e.TransactionID == "" || !isUser(e) {
		return
	}
	s := a.slot(e.TransactionID)
	published := unixNano(e.Published)
	a.touch(s, published)
	en := &a.txs[s]
	if en.user == none {
		en.user, en.userPublished = a.internUser(e.ActorID, e.ActorLogin), published
	}
	if en.pending {
		a.resolve(s)
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
	s := a.slot(e.TransactionID)
	published := unixNano(e.Published)
	a.touch(s, published)
	en := &a.txs[s]
	if en.user != none && a.within(published, en.userPublished) {
		u := &a.users[en.user]
		e.UserID, e.UserLogin = u.id, u.login
		return
	}
	if a.pending == nil {
		a.pending = make(map[int32][]pendingThreat)
	}
	list := a.pending[s]
	p := pendingThreat{ev: *e, page: a.page, idx: idx, size: len(e.Raw) + pendingOverhead}
	replaced := false
	for i := range list {
		// A replay of an event held from an earlier page: keep one copy.
		if old := &list[i]; old.ev.ID == e.ID && old.page != a.page {
			a.pendingBytes += p.size - old.size
			*old, replaced = p, true
			break
		}
	}
	if !replaced {
		list = append(list, p)
		a.pendingBytes += p.size
	}
	a.pending[s], en.pending = list, true
	a.evict()
}

// resolve fills in the user of slot s's pending threat events that are
// within the window of the user event.
func (a *attribution) resolve(s int32) {
	en := &a.txs[s]
	u := &a.users[en.user]
	list := a.pending[s]
	kept := list[:0]
	for _, p := range list {
		if !a.within(unixNano(p.ev.Published), en.userPublished) {
			kept = append(kept, p)
			continue
		}
		a.pendingBytes -= p.size
		if p.page == a.page {
			k := &a.res.Kept[p.idx]
			k.UserID, k.UserLogin = u.id, u.login
			continue
		}
		ev := p.ev
		ev.UserID, ev.UserLogin = u.id, u.login
		a.res.Updated = append(a.res.Updated, ev)
	}
	clear(list[len(kept):])
	if len(kept) == 0 {
		delete(a.pending, s)
		en.pending = false
		return
	}
	a.pending[s] = kept
}

// within reports whether t1 and t2 (unix ns) are at most window apart.
func (a *attribution) within(t1, t2 int64) bool {
	if t1 < t2 {
		t1, t2 = t2, t1
	}
	return uint64(t1)-uint64(t2) <= uint64(a.window) // exact: t1 >= t2
}

func (a *attribution) expired(en *txEntry) bool {
	w := int64(a.window)
	return a.watermark >= math.MinInt64+w && en.last < a.watermark-w
}

// slot returns the slot of the live entry of a transaction, forgetting it
// if expired, or of a new entry.
func (a *attribution) slot(tx string) int32 {
	h := maphash.String(a.seed, tx)
	if s := a.index.lookup(h, a.txHash, nil); s != none {
		if !a.expired(&a.txs[s]) {
			return s
		}
		a.remove(s)
	}
	return a.insert(h)
}

// insert adds an entry for hash h, most recently used. When the table is
// full it first forgets the least recently used transaction (which evict
// would forget right after anyway: the new entry is the most recent).
func (a *attribution) insert(h uint64) int32 {
	if a.live >= min(a.maxTx, maxSlots) && a.tail != none {
		a.remove(a.tail)
	}
	s := a.free
	if s != none {
		a.free = a.txs[s].next
	} else {
		if len(a.txs) == cap(a.txs) {
			// Grow to at most the bound, so a full table has no spare capacity.
			n := min(max(2*cap(a.txs), 64), max(a.maxTx, len(a.txs)+1), maxSlots)
			grown := make([]txEntry, len(a.txs), n)
			copy(grown, a.txs)
			a.txs = grown
		}
		s = int32(len(a.txs))
		a.txs = a.txs[:s+1]
	}
	a.txs[s] = txEntry{hash: h, last: math.MinInt64, prev: none, next: none, user: none}
	a.index.add(h, s, a.txHash)
	a.pushFront(s)
	a.live++
	return s
}

// touch marks slot s most recently used and records the event time.
func (a *attribution) touch(s int32, published int64) {
	if en := &a.txs[s]; published > en.last {
		en.last = published
	}
	if a.head != s {
		a.unlink(s)
		a.pushFront(s)
	}
}

// evict enforces the bounds and forgets expired transactions from the LRU
// end.
func (a *attribution) evict() {
	for a.tail != none && (a.live > a.maxTx || a.pendingBytes > a.maxPendingBytes ||
		a.maxBytes > 0 && a.bytes() > a.maxBytes || a.expired(&a.txs[a.tail])) {
		a.remove(a.tail)
	}
}

func (a *attribution) remove(s int32) {
	en := &a.txs[s]
	if en.pending {
		for _, p := range a.pending[s] {
			a.pendingBytes -= p.size
		}
		delete(a.pending, s)
	}
	if en.user != none {
		a.releaseUser(en.user)
	}
	a.unlink(s)
	a.index.remove(en.hash, s, a.txHash)
	*en = txEntry{prev: none, next: a.free, user: none}
	a.free = s
	a.live--
}

func (a *attribution) pushFront(s int32) {
	en := &a.txs[s]
	en.prev, en.next = none, a.head
	if a.head != none {
		a.txs[a.head].prev = s
	}
	a.head = s
	if a.tail == none {
		a.tail = s
	}
}

func (a *attribution) unlink(s int32) {
	en := &a.txs[s]
	if en.prev != none {
		a.txs[en.prev].next = en.next
	} else if a.head == s {
		a.head = en.next
	}
	if en.next != none {
		a.txs[en.next].prev = en.prev
	} else if a.tail == s {
		a.tail = en.prev
	}
	en.prev, en.next = none, none
}

func (a *attribution) txHash(s int32) uint64   { return a.txs[s].hash }
func (a *attribution) userHash(u int32) uint64 { return a.users[u].hash }

// internUser returns the users index of (id, login), adding it or counting
// one more reference.
func (a *attribution) internUser(id, login string) int32 {
	h := maphash.Comparable(a.seed, userKey{id, login})
	u := a.userIndex.lookup(h, a.userHash, func(u int32) bool {
		return a.users[u].id == id && a.users[u].login == login
	})
	if u != none {
		a.users[u].refs++
		return u
	}
	// One allocation for both strings, and a copy: the event's strings may
	// share memory with its page.
	var b strings.Builder
	b.Grow(len(id) + len(login))
	b.WriteString(id)
	b.WriteString(login)
	both := b.String()
	ue := userEntry{userKey: userKey{both[:len(id)], both[len(id):]}, hash: h, refs: 1, nextFree: none}
	if u = a.freeUser; u != none {
		a.freeUser = a.users[u].nextFree
		a.users[u] = ue
	} else {
		u = int32(len(a.users))
		a.users = append(a.users, ue)
	}
	a.userIndex.add(h, u, a.userHash)
	a.liveUsers++
	a.userBytes += len(both) + userBytesOverhead
	return u
}

// releaseUser drops a reference to user u, freeing it with the last one.
func (a *attribution) releaseUser(u int32) {
	ue := &a.users[u]
	if ue.refs--; ue.refs > 0 {
		return
	}
	a.userIndex.remove(ue.hash, u, a.userHash)
	a.liveUsers--
	a.userBytes -= len(ue.id) + len(ue.login) + userBytesOverhead
	*ue = userEntry{nextFree: a.freeUser}
	a.freeUser = u
}

// hashIndex is a hash table from 64-bit hashes to int32 slots of a slice
// kept by its user, which tells a slot's hash (hashOf) and, if hashes may
// be shared, whether a slot is the one looked for (eq). It is open
// addressing with linear probing and backward-shift deletion: no
// tombstones, so a table that churns does not grow (Go maps do, by up to
// 2×), and no pointers. It is kept at most half full: 8 to 16 bytes per
// slot indexed.
type hashIndex struct {
	tab []int32 // slot+1 per position, 0 if empty; len 0 or a power of two
	n   int     // slots indexed
}

const minIndexLen = 16

func (x *hashIndex) bytes() int { return 4 * len(x.tab) }

// lookup returns the slot indexed under h for which eq (nil: any) holds,
// or none.
func (x *hashIndex) lookup(h uint64, hashOf func(int32) uint64, eq func(int32) bool) int32 {
	if x.n == 0 {
		return none
	}
	mask := uint64(len(x.tab) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		v := x.tab[i]
		if v == 0 {
			return none
		}
		if s := v - 1; hashOf(s) == h && (eq == nil || eq(s)) {
			return s
		}
	}
}

// add indexes slot s under h.
func (x *hashIndex) add(h uint64, s int32, hashOf func(int32) uint64) {
	if 2*(x.n+1) > len(x.tab) {
		old := x.tab
		x.tab = make([]int32, max(2*len(old), minIndexLen))
		for _, v := range old {
			if v != 0 {
				x.place(hashOf(v-1), v)
			}
		}
	}
	x.place(h, s+1)
	x.n++
}

func (x *hashIndex) place(h uint64, v int32) {
	mask := uint64(len(x.tab) - 1)
	i := h & mask
	for x.tab[i] != 0 {
		i = (i + 1) & mask
	}
	x.tab[i] = v
}

// remove unindexes slot s, indexed under h.
func (x *hashIndex) remove(h uint64, s int32, hashOf func(int32) uint64) {
	mask := uint64(len(x.tab) - 1)
	i := h & mask
	for x.tab[i] != s+1 {
		i = (i + 1) & mask
	}
	// Shift back the entries after the hole that may fill it: those whose
	// home position is not cyclically in (hole, their position].
	for j := (i + 1) & mask; x.tab[j] != 0; j = (j + 1) & mask {
		if home := hashOf(x.tab[j]-1) & mask; (j-home)&mask >= (j-i)&mask {
			x.tab[i] = x.tab[j]
			i = j
		}
	}
	x.tab[i] = 0
	x.n--
}

// unixNano is t in unix nanoseconds, saturated outside the years
// 1678–2262 (event times are within 1970–2106; only a page's now could be
// outside).
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minUnixNano):
		return math.MinInt64
	case t.After(maxUnixNano):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minUnixNano = time.Unix(0, math.MinInt64)
	maxUnixNano = time.Unix(0, math.MaxInt64)
)

// len reports how many transactions are remembered (for tests).
func (a *attribution) len() int { return a.live }
