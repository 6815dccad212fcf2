package classify

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// Heap figures of a full attribution table: heapTx transactions (the
// default cap) of heapUsers distinct users, all within the window, fed
// through Page as user.session.start events with Okta-like ids (27-byte
// transaction ids, 20-byte user ids, ~27-byte logins).
const (
	heapTx    = DefaultMaxTransactions
	heapUsers = 500
	heapPage  = 1000
)

// heapPageRaws renders page p of the heap scenario: heapPage sign-ins, one
// transaction each, user i%users.
func heapPageRaws(p, users int) []json.RawMessage {
	out := make([]json.RawMessage, heapPage)
	for j := range out {
		i := p*heapPage + j
		u := i % users
		at := t0.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
		out[j] = json.RawMessage(`{"uuid":"ev` + strconv.Itoa(i) + `","eventType":"user.session.start","published":"` + at +
			`","actor":{"type":"User","id":"` + fmt.Sprintf("00u%017d", u) + `","alternateId":"` + fmt.Sprintf("first.last%05d@example.com", u) +
			`"},"transaction":{"type":"WEB","id":"` + fmt.Sprintf("Wq7f5fXH%019d", i) + `"}}`)
	}
	return out
}

// liveHeap returns the heap bytes still live after a GC.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// measureAttributionHeap fills a classifier with tx transactions of users
// distinct users and returns the live heap it retains, in bytes.
func measureAttributionHeap(tb testing.TB, tx, users int, opts ...Option) (*Classifier, int) {
	tb.Helper()
	before := liveHeap()
	c := New(nil, opts...)
	for p := 0; p < tx/heapPage; p++ {
		res := c.Page(heapPageRaws(p, users), testNow)
		if len(res.Kept) != 0 || len(res.DeadLetters) != 0 {
			tb.Fatalf("page %d: %d kept, %d dead letters", p, len(res.Kept), len(res.DeadLetters))
		}
	}
	after := liveHeap()
	runtime.KeepAlive(c)
	return c, int(after) - int(before)
}

// TestAttributionHeap measures the live heap of a full table (50,000
// transactions, 500 users), just filled and in the steady state of a table
// at its bound (200,000 transactions through it, so 150,000 evicted), and
// bounds it; run with -v to see the figures.
func TestAttributionHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap of a 50,000-transaction table")
	}
	for _, through := range []int{heapTx, 4 * heapTx} {
		c, live := measureAttributionHeap(t, through, heapUsers)
		t.Logf("live heap of %d transactions (%d through), %d users: %d bytes (%.1f B/transaction)",
			heapTx, through, heapUsers, live, float64(live)/heapTx)
		reportAttributionBytes(t, c, heapTx, live)
	}
}

// BenchmarkAttributionHeap reports the live heap per transaction of a full
// table (50,000 transactions, 500 users) as live-B/tx, just filled and
// after 200,000 transactions (steady).
func BenchmarkAttributionHeap(b *testing.B) {
	for _, through := range []int{heapTx, 4 * heapTx} {
		b.Run(fmt.Sprintf("through=%d", through), func(b *testing.B) {
			var live int
			for b.Loop() {
				_, live = measureAttributionHeap(b, through, heapUsers)
			}
			b.ReportMetric(float64(live)/heapTx, "live-B/tx")
		})
	}
}
