package poll

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/store"
)

// The tests of the write-behind pipeline (Run writes page N while it
// fetches and classifies page N+1) and of the wait after a catch-up.

// newStoreSink is the real store writer on a fresh database of the test
// binary's ClickHouse, running until the test ends, and its store.
func newStoreSink(t *testing.T) (*store.Store, *store.Writer) {
	t.Helper()
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, chtest.Config(srv, db), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))
	w := store.NewWriter(st, store.WriterOptions{})
	runInBackground(t, w.Run) // stopped (drained) before the store closes
	return st, w
}

// storedIDs are the tenant's event ids in risk_events, sorted.
func storedIDs(t *testing.T, st *store.Store) []string {
	t.Helper()
	rows, err := st.Conn().Query(t.Context(),
		"SELECT event_id FROM `"+st.Database()+"`.risk_events FINAL WHERE tenant = ? ORDER BY event_id", tenant)
	require.NoError(t, err)
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

// orderSink wraps the poller's Sink and checks how batches are handed
// over: never two Writes at once, and after a Write that failed only the
// same batches again, never later ones. Gate, when set, runs inside every
// Write before the batches are passed on, with the Write's first batch.
type orderSink struct {
	Sink
	Gate func(ctx context.Context, b store.Batch) error

	mu       sync.Mutex
	active   bool
	last     []store.Batch
	lastErr  error
	problems []string
	// confirmed are the cursors of the confirmed batches, in order.
	confirmed []string
	// writes are how many batches each confirmed Write held.
	writes []int
}

func (o *orderSink) Write(ctx context.Context, bs ...store.Batch) error {
	o.mu.Lock()
	if o.active {
		o.problems = append(o.problems, fmt.Sprintf("batches %s handed over during another Write", describeAll(bs)))
	}
	if o.last != nil && o.lastErr != nil && !sameBatches(o.last, bs) {
		o.problems = append(o.problems, fmt.Sprintf("batches %s handed over while %s were not confirmed (%v)",
			describeAll(bs), describeAll(o.last), o.lastErr))
	}
	o.active = true
	o.mu.Unlock()

	var err error
	if o.Gate != nil {
		err = o.Gate(ctx, bs[0])
	}
	if err == nil {
		err = o.Sink.Write(ctx, bs...)
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	o.active = false
	o.last, o.lastErr = bs, err
	if err == nil {
		o.writes = append(o.writes, len(bs))
		for _, b := range bs {
			if b.State != nil {
				o.confirmed = append(o.confirmed, b.State.Cursor)
			}
		}
	}
	return err
}

func describeAll(bs []store.Batch) string {
	var parts []string
	for _, b := range bs {
		parts = append(parts, describe(b))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func sameBatches(a, b []store.Batch) bool {
	return slices.EqualFunc(a, b, sameBatch)
}

func (o *orderSink) report() (problems, confirmed []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.problems), slices.Clone(o.confirmed)
}

func describe(b store.Batch) string {
	cursor := "<no state>"
	if b.State != nil {
		cursor = b.State.Cursor
	}
	return fmt.Sprintf("{%d events, cursor %s}", len(b.Events), cursor)
}

func sameBatch(a, b store.Batch) bool {
	return (a.State == nil) == (b.State == nil) &&
		(a.State == nil || *a.State == *b.State) &&
		slices.Equal(idsOf(a.Events), idsOf(b.Events))
}

// classifyRecorder wraps testClassify: it records the kept ids of every
// call, in call order, and counts calls that ran while another one did.
type classifyRecorder struct {
	running  atomic.Int32
	overlaps atomic.Int32

	mu    sync.Mutex
	pages [][]string
}

func (c *classifyRecorder) classify(raws []json.RawMessage, now time.Time) Outcome {
	if c.running.Add(1) != 1 {
		c.overlaps.Add(1)
	}
	defer c.running.Add(-1)
	out := testClassify(raws, now)
	time.Sleep(time.Millisecond) // a window for an overlapping call to show
	c.mu.Lock()
	c.pages = append(c.pages, idsOf(out.Rows.Events))
	c.mu.Unlock()
	return out
}

func (c *classifyRecorder) calls() [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.pages)
}

// pageOf is the index of the classify call that produced the events
// starting with id, or -1.
func (c *classifyRecorder) pageOf(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, p := range c.pages {
		if len(p) > 0 && p[0] == id {
			return k
		}
	}
	return -1
}

// chunks splits ids into pages of n.
func chunks(ids []string, n int) [][]string {
	var out [][]string
	for s := range slices.Chunk(ids, n) {
		out = append(out, s)
	}
	return out
}

// Through the real store writer: while page N's batch is written, page
// N+1 is fetched and classified; batches (and their cursor states) are
// handed over strictly in order, N+1 only once N is confirmed, also when
// writes fail in between; ClickHouse ends with every event and the last
// cursor.
func TestPollerPipelineWritesInOrder(t *testing.T) {
	st, writer := newStoreSink(t)
	var (
		cls   = &classifyRecorder{}
		order = &orderSink{}
	)
	f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) {
		s.Interval = time.Hour // caught up, the poller waits out the test
		s.WritePages = 1       // one page per write: see TestPollerAccumulatesPagesWhileWriting
		order.Sink = s.Sink
		s.Sink = order
		s.State = st
		s.Classify = cls.classify
	})
	f.sink.Next = writer
	ids, raws := makeEvents("o", 55, 0) // pages of 10, 10, 10, 10, 10, 5

	// Each full page's write waits until the next page was classified:
	// with fetch and write in sequence that never happens (then the gate
	// gives up once, after a long wait, and the test fails).
	var (
		gateMu     sync.Mutex
		overlapped = map[int]bool{} // pages whose write saw the next page classified
		gaveUp     atomic.Bool
	)
	order.Gate = func(ctx context.Context, b store.Batch) error {
		if len(b.Events) < 10 || gaveUp.Load() {
			return nil
		}
		k := cls.pageOf(b.Events[0].ID)
		deadline := time.Now().Add(30 * time.Second)
		for len(cls.calls()) < k+2 {
			if time.Now().After(deadline) {
				gaveUp.Store(true)
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
		gateMu.Lock()
		overlapped[k] = true
		gateMu.Unlock()
		return nil
	}
	// The second page fails twice, the fourth once.
	var (
		failMu sync.Mutex
		fails  = map[string]int{ids[10]: 2, ids[30]: 1}
	)
	f.sink.Before = func(n int, b store.Batch) error {
		if n == 0 {
			f.sim.org.Inject(raws...)
			return nil
		}
		failMu.Lock()
		defer failMu.Unlock()
		if len(b.Events) > 0 && fails[b.Events[0].ID] > 0 {
			fails[b.Events[0].ID]--
			return errCHDown
		}
		return nil
	}

	stop := f.start(t)
	eventually(t, func() bool {
		s := f.poller.Status()
		return s.EventsPolled == 55 && s.State == "caught_up"
	})
	stop()

	problems, confirmed := order.report()
	require.Empty(t, problems)
	require.False(t, gaveUp.Load(), "a page's write did not overlap the next page's classification")
	gateMu.Lock()
	require.Equal(t, map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true}, overlapped,
		"every full page's write overlapped the next page's classification")
	gateMu.Unlock()
	require.InDelta(t, 3, value(t, f.metrics.writeErrors.WithLabelValues(tenant)), 0)

	// Classified once per page, in order, one at a time.
	require.Zero(t, cls.overlaps.Load())
	require.Equal(t, chunks(ids, 10), cls.calls())

	// The cursors were confirmed in order: the integration's, then one per
	// page; every page was fetched once, from the cursor before it.
	var idx []int64
	for _, c := range confirmed {
		idx = append(idx, cursorIndex(t, c))
	}
	require.Equal(t, []int64{-1, 10, 20, 30, 40, 50, 55}, idx)
	require.Equal(t, confirmed[:6], f.src.fetched())

	// ClickHouse holds every event once and the last confirmed cursor.
	require.Equal(t, ids, storedIDs(t, st))
	ps, ok, err := st.LoadPollState(t.Context(), tenant)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, confirmed[len(confirmed)-1], ps.Cursor)
	require.EqualValues(t, 55, f.poller.Status().EventsKept)
}

// Write failures in the middle of a catch-up: each page is fetched once
// and classified once, in order; a failed batch is retried as it is; the
// status counts a page when its write is confirmed, in page order.
func TestPollerClassifiesOncePerPageWhileWritesFail(t *testing.T) {
	cls := &classifyRecorder{}
	f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) {
		s.Interval = time.Hour // caught up, the poller waits out the test
		s.WritePages = 1       // one page per write, so that the counts below are per page
		s.Classify = cls.classify
	})
	ids, raws := makeEvents("c", 45, 0) // pages of 10, 10, 10, 10, 5
	var (
		mu    sync.Mutex
		fails = map[string]int{ids[10]: 3, ids[20]: 1, ids[40]: 2}
	)
	f.sink.Before = func(n int, b store.Batch) error {
		if n == 0 {
			f.sim.org.Inject(raws...)
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if len(b.Events) > 0 && fails[b.Events[0].ID] > 0 {
			fails[b.Events[0].ID]--
			return errCHDown
		}
		return nil
	}
	stop := f.start(t)
	eventually(t, func() bool { return len(f.sink.keptIDs()) == 45 && f.poller.Status().State == "caught_up" })
	stop()

	require.Zero(t, cls.overlaps.Load(), "classify never ran twice at once")
	require.Equal(t, chunks(ids, 10), cls.calls(), "each page classified once, in order")
	fetched := f.src.fetched()
	require.Len(t, fetched, 5, "each page fetched once")
	require.Len(t, slices.Compact(slices.Clone(fetched)), 5, "no page fetched twice")
	require.Equal(t, ids, f.sink.keptIDs(), "every event once, in order")

	// Every Write: the batch of the page after the last confirmed one (or
	// that same batch again after a failure), with the status of exactly
	// the confirmed pages.
	var (
		prev      store.Batch
		prevErr   error
		confirmed uint64 // events of the confirmed pages
		failed    int
	)
	for k, c := range f.sink.all()[1:] {
		if prevErr != nil {
			require.True(t, sameBatch(prev, c.Batch), "write %d: the failed batch again, not %s", k, describe(c.Batch))
			require.Same(t, &prev.Events[0], &c.Batch.Events[0], "write %d: the very batch, not a re-classified one", k)
		}
		require.Equal(t, confirmed, c.Status.EventsPolled, "write %d: status counts the confirmed pages only", k)
		if c.Err != nil {
			failed++
		} else {
			confirmed += uint64(len(c.Batch.Events))
		}
		prev, prevErr = c.Batch, c.Err
	}
	require.Equal(t, 6, failed)
	require.InDelta(t, 45, value(t, f.metrics.polled.WithLabelValues(tenant)), 0)
	require.EqualValues(t, 45, f.poller.Status().EventsPolled)
}

// While ClickHouse is down in a catch-up, the poller holds the batch it
// retries and at most WritePages more pages, and fetches nothing else; once
// ClickHouse is back the catch-up completes with each page fetched and
// classified once.
func TestPollerBoundedWhileSinkFails(t *testing.T) {
	for _, writePages := range []int{1, 3} {
		t.Run(fmt.Sprintf("write_pages %d", writePages), func(t *testing.T) {
			cls := &classifyRecorder{}
			f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) {
				s.Interval = time.Hour // caught up, the poller waits out the test
				s.WritePages = writePages
				s.Classify = cls.classify
			})
			ids, raws := makeEvents("b", 50, 0) // five full pages
			var down atomic.Bool
			down.Store(true)
			f.sink.Before = func(n int, b store.Batch) error {
				if n == 0 {
					f.sim.org.Inject(raws...)
					return nil
				}
				if down.Load() {
					return errCHDown
				}
				return nil
			}
			stop := f.start(t)

			// Thirty retries of the first page (RetryMax is 20ms): plenty of
			// time for a poller that does not wait to fetch on.
			eventually(t, func() bool { return len(f.sink.all()) > 30 })
			require.Len(t, f.src.fetched(), 1+writePages, "the page being retried and the ones waiting behind it")
			require.Len(t, cls.calls(), 1+writePages)
			for _, c := range f.sink.all()[1:] {
				require.Equal(t, ids[:10], idsOf(c.Batch.Events), "only the first page is handed over")
			}
			st := f.poller.Status()
			require.Equal(t, StateWriteError, st.State)
			require.Zero(t, st.EventsPolled, "nothing confirmed yet")

			down.Store(false)
			eventually(t, func() bool { return len(f.sink.keptIDs()) == 50 && f.poller.Status().State == "caught_up" })
			stop()
			require.Equal(t, ids, f.sink.keptIDs())
			require.Equal(t, append(chunks(ids, 10), []string{}), cls.calls(), "five full pages and an empty one, once each")
			fetched := f.src.fetched()
			require.Len(t, fetched, 6)
			require.Len(t, slices.Compact(slices.Clone(fetched)), 6, "no page fetched twice")
		})
	}
}

// While a write is in flight, a catching-up poller fetches on and hands
// the pages over together: one Write of several batches, in order, each
// with its own cursor, never more than WritePages.
func TestPollerAccumulatesPagesWhileWriting(t *testing.T) {
	st, writer := newStoreSink(t)
	var (
		cls   = &classifyRecorder{}
		order = &orderSink{}
	)
	f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) {
		s.Interval = time.Hour
		s.WritePages = 4
		order.Sink = s.Sink
		s.Sink = order
		s.State = st
		s.Classify = cls.classify
	})
	f.sink.Next = writer
	ids, raws := makeEvents("m", 95, 0) // nine full pages and one of 5
	// The first page's write is held until five more pages are classified.
	var held atomic.Bool
	order.Gate = func(ctx context.Context, b store.Batch) error {
		if len(b.Events) == 0 || held.Swap(true) {
			return nil
		}
		for len(cls.calls()) < 5 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
		return nil
	}
	f.sink.Before = onIntegration(func() { f.sim.org.Inject(raws...) })
	stop := f.start(t)
	eventually(t, func() bool {
		s := f.poller.Status()
		return s.EventsPolled == 95 && s.State == "caught_up"
	})
	stop()

	problems, confirmed := order.report()
	require.Empty(t, problems)
	order.mu.Lock()
	writes := slices.Clone(order.writes)
	order.mu.Unlock()
	require.Equal(t, 4, writes[2], "the four pages fetched while the first page's write was held, in one Write (after the integration's and the first page's): %v", writes)
	for _, n := range writes {
		require.LessOrEqual(t, n, 4, "never more than WritePages in one Write")
	}
	var idx []int64
	for _, c := range confirmed {
		idx = append(idx, cursorIndex(t, c))
	}
	require.Equal(t, []int64{-1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95}, idx, "every page's cursor, in order")
	require.Equal(t, chunks(ids, 10), cls.calls(), "each page classified once, in order")
	require.Equal(t, ids, storedIDs(t, st))
	ps, ok, err := st.LoadPollState(t.Context(), tenant)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(95), cursorIndex(t, ps.Cursor))
}

// Run does not return while a write is in flight: cancelled during a
// Write that takes its time to give up (as the store writer's does), it
// waits for it, whether it was waiting for that write or fetching the next
// page, and leaves no goroutine behind.
func TestPollerStopWaitsForWriteInFlight(t *testing.T) {
	tests := []struct {
		name      string
		giveStall bool // the second fetch hangs until the poller stops
	}{
		{name: "while waiting for the write"},
		{name: "while fetching the next page", giveStall: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				returned atomic.Bool
				blocking = &blockingSink{started: make(chan struct{}), returned: &returned}
				stall    = &stallSource{stalled: make(chan struct{})}
			)
			f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) {
				blocking.Sink = s.Sink
				s.Sink = blocking
				if tt.giveStall {
					stall.Source = s.Source
					s.Source = stall
				}
			})
			_, raws := makeEvents("s", 25, 0)
			f.sink.Before = onIntegration(func() { f.sim.org.Inject(raws...) })
			ignore := goleak.IgnoreCurrent()

			stop := f.start(t)
			<-blocking.started // the first page's write is in flight ...
			if tt.giveStall {
				<-stall.stalled // ... and the next page's fetch hangs
			} else {
				// ... and the pages after it (10, then 5 events: the poller
				// waits for the write to hand them over).
				eventually(t, func() bool { return len(f.src.fetched()) == 3 }, "... and the next pages were fetched")
			}
			stop()
			require.True(t, returned.Load(), "Run returned before its write")
			st := f.poller.Status()
			require.Equal(t, StatePolling, st.State)
			require.Zero(t, st.EventsPolled, "nothing confirmed")
			f.client.CloseIdleConnections()
			goleak.VerifyNone(t, ignore)
		})
	}
}

// stallSource hangs every Fetch after the first until ctx ends.
type stallSource struct {
	Source
	stalled chan struct{}
	n       atomic.Int32
}

func (s *stallSource) Fetch(ctx context.Context, pageURL string) (*okta.Page, error) {
	switch s.n.Add(1) {
	case 1:
		return s.Source.Fetch(ctx, pageURL)
	case 2:
		close(s.stalled)
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// blockingSink lets the integration write through and blocks every other
// Write until ctx ends; it then takes a moment before it returns.
type blockingSink struct {
	Sink
	started  chan struct{}
	returned *atomic.Bool
	once     sync.Once
}

func (s *blockingSink) Write(ctx context.Context, bs ...store.Batch) error {
	if len(bs) == 1 && len(bs[0].Events) == 0 {
		return s.Sink.Write(ctx, bs...)
	}
	s.once.Do(func() { close(s.started) })
	<-ctx.Done()
	time.Sleep(50 * time.Millisecond)
	s.returned.Store(true)
	return ctx.Err()
}

// frozenClock is a Settings.Now that moves only when told to.
type frozenClock struct{ ns atomic.Int64 }

func newFrozenClock() *frozenClock {
	c := &frozenClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *frozenClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *frozenClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// After a catch-up that outlasted the interval, the next poll is a full
// interval after the round's end, not at once; a round shorter than the
// interval keeps the interval from its start. Through the real store
// writer; the poller's clock is frozen and moved by the test, so the
// round's length is decided by the test, not by the machine's speed.
func TestPollerWaitAfterCatchUp(t *testing.T) {
	tests := []struct {
		name         string
		giveRound    time.Duration // how long the catch-up round seems to take
		wantRequests int64         // after the catch-up's three
	}{
		// The interval (an hour) from the round's end: no request during
		// the test.
		{name: "round outlasted the interval", giveRound: 2 * time.Hour, wantRequests: 0},
		// The interval from the round's start: 50ms after its end, one
		// request; then an hour.
		{name: "round shorter than the interval", giveRound: time.Hour - 50*time.Millisecond, wantRequests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, writer := newStoreSink(t)
			clock := newFrozenClock()
			f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) {
				s.Interval = time.Hour
				s.Now = clock.Now
				s.State = st
			})
			f.sink.Next = writer
			ids, raws := makeEvents("r", 25, 0) // pages of 10, 10, 5
			f.sink.Before = func(n int, b store.Batch) error {
				switch n {
				case 0:
					f.sim.org.Inject(raws...)
				case 1: // the first page: the round takes giveRound
					clock.advance(tt.giveRound)
				}
				return nil
			}
			stop := f.start(t)
			eventually(t, func() bool { return len(f.sink.keptIDs()) == 25 && f.poller.Status().State == "caught_up" })
			want := 3 + int(tt.wantRequests)
			if tt.wantRequests > 0 {
				eventually(t, func() bool { return len(f.sink.all()) == 1+want && f.poller.Status().State == "caught_up" })
			}
			// A poller that polls again at once gets its chance to.
			require.Never(t, func() bool { return len(f.src.fetched()) > want }, 300*time.Millisecond, 5*time.Millisecond)
			stop()

			calls := f.sink.all()
			require.Len(t, calls, 1+want, "the integration, three pages, and what followed them")
			require.Equal(t, []int{0, 10, 10, 5}, batchSizes(calls[:4]))
			short := calls[3] // written with the catch-up's last request answered
			require.Equal(t, tt.wantRequests, f.sim.requests()-short.Requests, "requests after the catch-up")
			require.Len(t, f.src.fetched(), want)
			require.Equal(t, ids, storedIDs(t, st))
		})
	}
}

func batchSizes(calls []sinkCall) []int {
	out := make([]int, len(calls))
	for i, c := range calls {
		out[i] = len(c.Batch.Events)
	}
	return out
}
