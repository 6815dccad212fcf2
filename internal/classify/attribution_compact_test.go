package classify

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
)

// reportAttributionBytes checks AttributionBytes against the live heap
// measured for a full table of tx transactions, and the heap itself.
func reportAttributionBytes(t *testing.T, c *Classifier, tx, live int) {
	t.Helper()
	est := c.AttributionBytes()
	t.Logf("AttributionBytes %d (%.1f B/transaction), measured/estimate %.2f", est, float64(est)/float64(tx), float64(live)/float64(est))
	require.Equal(t, tx, c.att.len())
	require.InDelta(t, 1, float64(live)/float64(est), 0.35, "estimate within 35%% of the live heap")
	require.Less(t, live/tx, 100, "a full table costs under 100 bytes per transaction")
}

// TestAttributionBytesDistinctUsers measures the worst case for the user
// table: every transaction of its own user, just filled and steady.
func TestAttributionBytesDistinctUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap of a 50,000-transaction table")
	}
	for _, through := range []int{heapTx, 4 * heapTx} {
		c, live := measureAttributionHeap(t, through, through)
		require.Equal(t, heapTx, c.att.liveUsers)
		est := c.AttributionBytes()
		t.Logf("live heap of %d transactions (%d through), as many users: %d bytes (%.1f B/transaction); AttributionBytes %d, measured/estimate %.2f",
			heapTx, through, live, float64(live)/heapTx, est, float64(live)/float64(est))
		require.InDelta(t, 1, float64(live)/float64(est), 0.35)
	}
}

// TestAttributionNoAllocs: remembering a new transaction of a known user
// in a full table allocates nothing.
func TestAttributionNoAllocs(t *testing.T) {
	var a attribution
	a.init(1000, DefaultWindow, DefaultMaxPendingBytes)
	evs := make([]event.Event, 5000)
	for i := range evs {
		evs[i] = event.Event{Published: t0, ActorType: "User", ActorID: fmt.Sprint("u", i%10), ActorLogin: "l", TransactionID: fmt.Sprint("tx", i)}
	}
	a.startPage(&Result{}, testNow)
	for i := range evs[:2000] {
		a.observe(&evs[i])
	}
	i := 2000
	allocs := testing.AllocsPerRun(2000, func() {
		a.observe(&evs[i%len(evs)])
		i++
	})
	require.Zero(t, allocs)
	require.Equal(t, 1000, a.len())
	checkAttribution(t, &a)
}

// TestAttributionBudget: WithAttributionBytes bounds the state (as
// estimated, and as measured) whatever fills it: transactions, distinct
// users or pending events.
func TestAttributionBudget(t *testing.T) {
	const budget = 1 << 20
	c := New(nil, WithAttributionBytes(budget))
	require.Equal(t, budget/txBytes, c.att.maxTx)
	require.Equal(t, budget, c.att.maxBytes)

	// Options apply in order: the last transaction bound wins, the budget
	// stays.
	c = New(nil, WithAttributionBytes(budget), WithMaxTransactions(7))
	require.Equal(t, 7, c.att.maxTx)
	require.Equal(t, budget, c.att.maxBytes)
	c = New(nil, WithMaxTransactions(7), WithAttributionBytes(budget))
	require.Equal(t, budget/txBytes, c.att.maxTx)
	c = New(nil, WithAttributionBytes(0))
	require.Equal(t, DefaultMaxTransactions, c.att.maxTx)
	require.Zero(t, c.att.maxBytes)
	c = New(nil, WithAttributionBytes(1))
	require.Equal(t, 1, c.att.maxTx)

	// Few users: nearly the transaction bound (the users take the rest).
	c = New(nil, WithAttributionBytes(budget))
	for p := 0; p < 40; p++ {
		c.Page(heapPageRaws(p, heapUsers), testNow)
		require.LessOrEqual(t, c.AttributionBytes(), budget)
		checkAttribution(t, &c.att)
	}
	require.Greater(t, c.AttributionBytes()+txEntryBytes+userBytesOverhead+50, budget, "full")
	require.Greater(t, c.att.len(), c.att.maxTx*9/10)

	// Distinct users: the byte budget binds before the transaction bound.
	if !testing.Short() {
		c, live := measureAttributionHeap(t, 40*heapPage, 40*heapPage, WithAttributionBytes(budget))
		require.LessOrEqual(t, c.AttributionBytes(), budget)
		require.Less(t, c.att.len(), c.att.maxTx)
		require.Greater(t, c.att.len(), budget/(txBytes+2*userBytesOverhead))
		t.Logf("budget %d, distinct users: %d transactions, AttributionBytes %d, measured %d", budget, c.att.len(), c.AttributionBytes(), live)
		require.Less(t, live, budget*5/4)
		checkAttribution(t, &c.att)
	}

	// Pending events count too, and the least recently used go first.
	c = New(nil, WithAttributionBytes(20*(pendingOverhead+txBytes+400)))
	var evs []ev
	for i := 0; i < 100; i++ {
		evs = append(evs, threat(fmt.Sprint("t", i), fmt.Sprint("tx", i), 0))
	}
	c.Page(raws(evs...), testNow)
	require.LessOrEqual(t, c.AttributionBytes(), c.att.maxBytes)
	require.Positive(t, c.att.pendingBytes)
	require.Less(t, c.att.len(), 40)
	require.Greater(t, c.att.len(), 10)
	checkAttribution(t, &c.att)
	res := c.Page(raws(signIn("s99", "u1", "tx99", 0), signIn("s0", "u1", "tx0", 0)), testNow)
	require.Len(t, res.Updated, 1)
	require.Equal(t, "t99", res.Updated[0].ID)
}

// TestAttributionUsersShared: a user is kept once however many
// transactions it has, and freed with the last.
func TestAttributionUsersShared(t *testing.T) {
	c := New(nil, WithMaxTransactions(3))
	c.Page(raws(signIn("s1", "u1", "tx1", 0), signIn("s2", "u1", "tx2", 0), signIn("s3", "u2", "tx3", 0)), testNow)
	require.Equal(t, 2, c.att.liveUsers)
	u1 := c.att.internUser("u1", "u1@example.com") // one more reference
	require.Equal(t, int32(3), c.att.users[u1].refs)
	c.att.releaseUser(u1)
	checkAttribution(t, &c.att)
	// Same id, another login: another user (as before, each transaction
	// keeps the pair of its first user event).
	c.Page(raws(ev{uuid: "s4", typ: "user.session.start", actorType: "User", actorID: "u1", actorLogin: "other", tx: "tx4"}), testNow)
	require.Equal(t, 3, c.att.liveUsers)
	checkAttribution(t, &c.att)
	// Evicting tx1..tx3 frees u1 and u2; their entries are reused.
	c.Page(raws(signIn("s5", "u5", "tx5", 0), signIn("s6", "u6", "tx6", 0)), testNow)
	require.Equal(t, 3, c.att.liveUsers)
	require.Len(t, c.att.users, 3, "users are reused")
	require.Len(t, c.att.txs, 3, "slots are reused")
	checkAttribution(t, &c.att)
	// Everything expires: nothing is left.
	c.Page(raws(ev{uuid: "x", typ: "user.session.end", at: time.Hour}), testNow)
	require.Zero(t, c.att.len())
	require.Zero(t, c.att.liveUsers)
	require.Zero(t, c.att.userIndex.n)
	require.Zero(t, c.att.index.n)
	require.Equal(t, c.att.index.bytes()+c.att.userIndex.bytes(), c.AttributionBytes(), "only the (empty) indexes")
	checkAttribution(t, &c.att)
}

func TestUnixNano(t *testing.T) {
	require.Equal(t, t0.UnixNano(), unixNano(t0))
	require.Equal(t, int64(-1<<63), unixNano(time.Time{}))
	require.Equal(t, int64(1<<63-1), unixNano(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)))
	a := attribution{window: time.Minute}
	require.True(t, a.within(unixNano(t0), unixNano(t0.Add(time.Minute))))
	require.True(t, a.within(unixNano(t0.Add(time.Minute)), unixNano(t0)))
	require.False(t, a.within(unixNano(t0), unixNano(t0.Add(time.Minute+1))))
	require.False(t, a.within(-1<<63, 1<<63-1))
	// A zero now (year 1) neither panics nor expires anything.
	c := New(nil)
	c.Page(raws(threat("t1", "tx1", 0)), time.Time{})
	res := c.Page(raws(signIn("s1", "u1", "tx1", time.Minute)), time.Time{})
	require.Len(t, res.Updated, 1)
}

// attrKind is what the differential driver does with an event.
type attrKind int

const (
	attrObserved attrKind = iota // decoded, dropped: observe only
	attrKept                     // kept, not attributed: observe, then in Kept
	attrThreat                   // a kept security.threat.detected: observe, Kept, attribute
)

type attrStep struct {
	kind attrKind
	e    event.Event
}

type attrPage struct {
	now   time.Time
	steps []attrStep
}

// attrCoverage counts what the reference did over a run, to show the
// random scenarios exercise every path.
type attrCoverage struct {
	inPlace, updated, replays, lruEvictions, expiries, pendingEvictions int
}

// TestAttributionMatchesReference drives the compact attribution and the
// previous implementation (attribution_ref_test.go) with the same random
// scenarios and requires the same results event by event: users filled in
// place and in Updated (same order), transactions remembered, pending
// bytes. Scenarios use few transactions, users and uuids, tiny bounds,
// windows hit exactly, replays, future-dated events and unparsed
// `published` values, so LRU eviction, window expiry, pending resolution
// (same page, later page), replays and the pending-bytes bound all happen
// often (checked at the end).
func TestAttributionMatchesReference(t *testing.T) {
	runs := 3000
	if testing.Short() {
		runs = 300
	}
	var cov attrCoverage
	for run := 0; run < runs; run++ {
		rng := rand.New(rand.NewPCG(uint64(run), 1))
		maxTx := 1 + rng.IntN(6)
		window := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}[rng.IntN(3)]
		maxPending := DefaultMaxPendingBytes
		if rng.IntN(2) == 0 {
			maxPending = (1 + rng.IntN(4)) * (pendingOverhead + 300)
		}
		var got attribution
		got.init(maxTx, window, maxPending)
		var want refAttribution
		want.init(maxTx, window, maxPending)
		pages := randomAttrPages(rng, window)
		for p, pg := range pages {
			msg := fmt.Sprintf("run %d (maxTx %d, window %v, maxPending %d), page %d", run, maxTx, window, maxPending, p)
			compareAttrPage(t, &got, &want, pg, &cov, msg)
		}
	}
	t.Logf("coverage: %+v", cov)
	require.Positive(t, cov.inPlace, "pending resolved on the same page")
	require.Positive(t, cov.updated, "pending resolved on a later page")
	require.Positive(t, cov.replays, "replays of pending events")
	require.Positive(t, cov.lruEvictions, "LRU evictions")
	require.Positive(t, cov.expiries, "window expiries")
	require.Positive(t, cov.pendingEvictions, "pending-bytes evictions")
}

func randomAttrPages(rng *rand.Rand, window time.Duration) []attrPage {
	pages := make([]attrPage, 1+rng.IntN(6))
	clock := t0
	for p := range pages {
		clock = clock.Add(time.Duration(rng.IntN(4)) * window / 2)
		now := clock.Add(time.Duration(rng.IntN(3)-1) * window) // sometimes events are "in the future"
		steps := make([]attrStep, rng.IntN(12))
		for i := range steps {
			e := event.Event{ID: fmt.Sprint("e", rng.IntN(8)), EventType: "x"}
			switch rng.IntN(10) {
			case 0:
				e.Published, e.PublishedNote = now, "published missing"
			case 1, 2: // exactly at, or just beyond, a window boundary
				e.Published = clock.Add(time.Duration(rng.IntN(3)-1)*window + time.Duration(rng.IntN(3)-1))
			default:
				e.Published = clock.Add(time.Duration(rng.IntN(int(2*window/time.Second))-int(window/time.Second)) * time.Second)
			}
			if rng.IntN(8) != 0 {
				e.TransactionID = fmt.Sprint("tx", rng.IntN(2+rng.IntN(8)))
			}
			switch rng.IntN(6) {
			case 0:
				e.ActorType, e.ActorID = "IP address", "1.2.3.4"
			case 1:
				e.ActorType, e.ActorLogin = "user", fmt.Sprint("login", rng.IntN(3)) // no id
			case 2:
				e.ActorType = "User" // no id nor login: not a user
			default:
				u := rng.IntN(4)
				e.ActorType, e.ActorID, e.ActorLogin = "User", fmt.Sprint("u", u), fmt.Sprint("u", u, "@example.com")
				if rng.IntN(10) == 0 {
					e.ActorLogin = "renamed@example.com"
				}
			}
			e.Raw = make([]byte, 1+rng.IntN(600))
			kind := attrKind(rng.IntN(3))
			if kind == attrThreat {
				e.EventType = TypeThreatDetected
				if rng.IntN(3) != 0 {
					e.ActorType, e.ActorID, e.ActorLogin = "IP address", "1.2.3.4", ""
				}
			}
			steps[i] = attrStep{kind: kind, e: e}
		}
		pages[p] = attrPage{now: now, steps: steps}
	}
	return pages
}

func compareAttrPage(t *testing.T, got *attribution, want *refAttribution, pg attrPage, cov *attrCoverage, msg string) {
	t.Helper()
	var gotRes, wantRes Result
	got.startPage(&gotRes, pg.now)
	want.startPage(&wantRes, pg.now)
	var pendingIdx []int // Kept indices left pending by the reference
	for i, st := range pg.steps {
		g, w := st.e, st.e
		before := want.len()
		_, known := want.txs[st.e.TransactionID]
		var expiredBefore int
		for en := want.tail; en != nil && want.expired(en); en = en.prev {
			expiredBefore++
		}
		got.observe(&g)
		want.observe(&w)
		if st.kind != attrObserved {
			gotRes.Kept = append(gotRes.Kept, g)
			wantRes.Kept = append(wantRes.Kept, w)
		}
		if st.kind == attrThreat && st.e.TransactionID != "" {
			if en := want.txs[st.e.TransactionID]; en != nil && !want.expired(en) {
				for _, p := range en.pending {
					if p.ev.ID == st.e.ID && p.page != want.page {
						cov.replays++
					}
				}
			}
			pendingBefore := want.pendingBytes
			got.attribute(len(gotRes.Kept) - 1)
			want.attribute(len(wantRes.Kept) - 1)
			k := len(wantRes.Kept) - 1
			if wantRes.Kept[k].UserID+wantRes.Kept[k].UserLogin == "" {
				pendingIdx = append(pendingIdx, k)
				if pendingBefore+len(st.e.Raw)+pendingOverhead > want.maxPendingBytes {
					cov.pendingEvictions++ // the bound had to act
				}
			}
		}
		if st.e.TransactionID != "" && !known && want.len() == before && before == want.maxTx && expiredBefore == 0 {
			cov.lruEvictions++
		}
		cov.expiries += expiredBefore
		require.Equal(t, want.len(), got.len(), "%s, step %d: transactions", msg, i)
		require.Equal(t, want.pendingBytes, got.pendingBytes, "%s, step %d: pending bytes", msg, i)
	}
	got.endPage()
	want.endPage()
	require.Equal(t, attrSummary(wantRes.Kept), attrSummary(gotRes.Kept), "%s: kept", msg)
	require.Equal(t, attrSummary(wantRes.Updated), attrSummary(gotRes.Updated), "%s: updated", msg)
	for i := range wantRes.Updated {
		require.Equal(t, wantRes.Updated[i].Published, gotRes.Updated[i].Published)
		require.Equal(t, len(wantRes.Updated[i].Raw), len(gotRes.Updated[i].Raw))
	}
	require.Equal(t, want.len(), got.len(), "%s: transactions", msg)
	require.Equal(t, want.pendingBytes, got.pendingBytes, "%s: pending bytes", msg)
	for _, k := range pendingIdx {
		if wantRes.Kept[k].UserID+wantRes.Kept[k].UserLogin != "" {
			cov.inPlace++
		}
	}
	cov.updated += len(wantRes.Updated)
	checkAttribution(t, got)
}

func attrSummary(evs []event.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s(%s)=%s|%s ", e.ID, e.TransactionID, e.UserID, e.UserLogin)
	}
	return b.String()
}

// checkAttribution checks the invariants of the compact table: the index,
// the LRU list and the free list account for every slot; user references,
// user bytes and pending bytes add up.
func checkAttribution(t *testing.T, a *attribution) {
	t.Helper()
	require.Equal(t, a.live, a.index.n)
	require.LessOrEqual(t, 2*a.index.n, len(a.index.tab))
	require.LessOrEqual(t, a.live, a.maxTx)
	require.LessOrEqual(t, len(a.txs), a.maxTx)
	seen := map[int32]bool{}
	refs := map[int32]int32{}
	pendingBytes := 0
	prev := none
	for s := a.head; s != none; s = a.txs[s].next {
		require.False(t, seen[s], "LRU cycle")
		seen[s] = true
		en := &a.txs[s]
		require.Equal(t, prev, en.prev)
		require.Equal(t, s, a.index.lookup(en.hash, a.txHash, func(x int32) bool { return x == s }))
		if en.user != none {
			refs[en.user]++
		}
		require.Equal(t, en.pending, len(a.pending[s]) > 0)
		for _, p := range a.pending[s] {
			pendingBytes += p.size
		}
		prev = s
	}
	require.Equal(t, prev, a.tail)
	require.Len(t, seen, a.live)
	for s := range a.pending {
		require.True(t, seen[s], "pending of a free slot")
	}
	require.Equal(t, pendingBytes, a.pendingBytes)
	free := 0
	for s := a.free; s != none; s = a.txs[s].next {
		require.False(t, seen[s], "slot both live and free")
		seen[s] = true
		free++
	}
	require.Equal(t, len(a.txs), a.live+free)
	userBytes := 0
	for u := range a.users {
		ue := &a.users[u]
		require.Equal(t, refs[int32(u)], ue.refs, "user %d references", u)
		if ue.refs > 0 {
			require.Equal(t, int32(u), a.userIndex.lookup(ue.hash, a.userHash, func(x int32) bool { return a.users[x].userKey == ue.userKey }))
			userBytes += len(ue.id) + len(ue.login) + userBytesOverhead
		}
	}
	require.Equal(t, len(refs), a.userIndex.n)
	require.Equal(t, len(refs), a.liveUsers)
	require.LessOrEqual(t, 2*a.userIndex.n, len(a.userIndex.tab))
	require.Equal(t, userBytes, a.userBytes)
}

// TestHashIndex checks the open-addressing index against a Go map under
// random adds and removes, with hashes from a small range so that probe
// runs collide, wrap around the table and share hashes.
func TestHashIndex(t *testing.T) {
	for run := 0; run < 50; run++ {
		rng := rand.New(rand.NewPCG(uint64(run), 2))
		var x hashIndex
		hashes := []uint64{}     // by slot
		live := map[int32]bool{} // slots indexed
		var free []int32         // slots not indexed
		hashOf := func(s int32) uint64 { return hashes[s] }
		span := uint64(1 + rng.IntN(100)) // hashes in [base, base+span)
		base := rng.Uint64()
		for op := 0; op < 2000; op++ {
			if len(live) > 0 && rng.IntN(5) < 2 {
				for s := range live { // remove a random live slot
					x.remove(hashes[s], s, hashOf)
					delete(live, s)
					free = append(free, s)
					break
				}
			} else {
				h := base + rng.Uint64N(span)
				var s int32
				if len(free) > 0 {
					s, free = free[len(free)-1], free[:len(free)-1]
					hashes[s] = h
				} else {
					s = int32(len(hashes))
					hashes = append(hashes, h)
				}
				x.add(h, s, hashOf)
				live[s] = true
			}
			require.Equal(t, len(live), x.n)
			require.LessOrEqual(t, 2*x.n, len(x.tab))
			if op%50 == 0 || len(live) < 20 {
				for s := range live {
					require.Equal(t, s, x.lookup(hashes[s], hashOf, func(y int32) bool { return y == s }), "run %d op %d slot %d", run, op, s)
				}
				for _, s := range free {
					require.Equal(t, none, x.lookup(hashes[s], hashOf, func(y int32) bool { return y == s }))
				}
				n := 0
				for _, v := range x.tab {
					if v != 0 {
						n++
						require.True(t, live[v-1])
					}
				}
				require.Equal(t, x.n, n)
			}
		}
	}
}
