package simtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/store"
)

// The ground truth: what a perfect poller of a simulated org holds, and
// the check of what riskpipe wrote against it (exactly once: none lost,
// none twice, none extra, each in its category). The tests that run
// riskpipe in-process (internal/app), as a binary (cmd/riskpipe) and under
// faults (internal/chaos) all judge it so.

// Kept is an event the truth says riskpipe must keep.
type Kept struct {
	Index     int64 // its position in the org's log; -1: unknown (TruthOf)
	Category  string
	Published time.Time
	// AltID is the id riskpipe derives when the event is served without
	// its uuid (TruthOptions.AltIDs).
	AltID string
}

// Truth is what a perfect poller of one org integrated at since holds once
// it has read the log up to index To (exclusive).
type Truth struct {
	From, To int64
	Kept     map[string]Kept // by event id
	// Late counts kept events published more than LateBy before an event
	// served ahead of them (late arrivals that a collector polling
	// since/until windows would miss), with TruthOptions.Late.
	Late int
}

// Categories is the truth as event id → category.
func (tr Truth) Categories() map[string]string {
	out := make(map[string]string, len(tr.Kept))
	for id, k := range tr.Kept {
		out[id] = k.Category
	}
	return out
}

// LateBy is how much earlier than an event ahead of it an event must be
// published to count as late (the simulator's normal lag is 0-2 s, its
// late events 5-30 s).
const LateBy = 3 * time.Second

// TruthOptions say how to judge an org's events.
type TruthOptions struct {
	// Label judges injected events: the category one must be kept under
	// ("": dropped), ok false for an event it did not inject. nil: none.
	Label func(id string) (category string, ok bool)
	// Stream judges the generated events (scenario.Stream.Expect); nil:
	// every event of the log must be labelled.
	Stream *scenario.Stream
	// AltIDs computes the ids of events served without uuid (Kept.AltID).
	AltIDs bool
	// Late counts late kept events (Truth.Late).
	Late bool
}

// OrgTruth is the truth of org integrated at since, read up to index to
// (exclusive; beyond the log's end: its end).
func OrgTruth(tb testing.TB, org *oktasim.Org, since time.Time, to int64, o TruthOptions) Truth {
	tb.Helper()
	from, end := org.TruthRange(since)
	to = min(to, end)
	tr := Truth{From: from, To: to, Kept: map[string]Kept{}}
	// Without labels or lateness, only the events the stream keeps are
	// generated (EventAt is the expensive part).
	every := o.Late || o.Label != nil || o.Stream == nil
	var newest time.Time
	for i := from; i < to; i++ {
		cat := ""
		if !every {
			if cat = o.Stream.Expect(i); cat == "" {
				continue
			}
		}
		ev, _, ok := org.EventAt(i)
		require.True(tb, ok, "event %d of %s not visible", i, org.Name())
		if every {
			labelled := false
			if o.Label != nil {
				cat, labelled = o.Label(ev.ID)
			}
			if !labelled {
				require.NotNil(tb, o.Stream, "event %d (%s) of %s is neither labelled nor generated", i, ev.ID, org.Name())
				cat = o.Stream.Expect(i)
			}
		}
		late := ev.Published.Before(newest.Add(-LateBy))
		if ev.Published.After(newest) {
			newest = ev.Published
		}
		if cat == "" {
			continue
		}
		k := Kept{Index: i, Category: cat, Published: ev.Published}
		if o.AltIDs {
			k.AltID = DerivedIDWithoutUUID(tb, ev.Raw)
		}
		if late {
			tr.Late++
		}
		require.NotContains(tb, tr.Kept, ev.ID, "%s: event id %s twice in the log", org.Name(), ev.ID)
		tr.Kept[ev.ID] = k
	}
	return tr
}

// DerivedIDWithoutUUID is the id riskpipe gives raw once its uuid is
// removed (as the simulator's missing_uuid fault serves it).
func DerivedIDWithoutUUID(tb testing.TB, raw []byte) string {
	tb.Helper()
	var m map[string]json.RawMessage
	require.NoError(tb, json.Unmarshal(raw, &m))
	delete(m, "uuid")
	b, err := json.Marshal(m)
	require.NoError(tb, err)
	return event.DerivedID(b)
}

// Stored reads what risk_events holds for tenant (FINAL).
func Stored(tb testing.TB, st *store.Store, tenant string) store.Stored {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := st.Reader().StoredEvents(ctx, tenant)
	require.NoError(tb, err)
	return s
}

// Result is the check's verdict on one org.
type Result struct {
	Org      string
	Expected int // kept events the truth holds
	// Lost, Extra and WrongCategory describe the events missing from
	// risk_events, held but not kept by the truth, and held under another
	// category; sorted.
	Lost, Extra, WrongCategory []string
	Duplicated                 int // rows beyond one per event, and events held under both ids
	DerivedIDs                 int // kept events found under their AltID
	Excused                    int // kept events missing but excused
}

// Check compares got, what risk_events holds for org, with the truth.
// excuse, when set, is asked about each kept event missing from got: true
// when the test accounts for it otherwise (dead-lettered whole, say), and
// then it is counted as Excused, not lost.
func Check(org string, tr Truth, got store.Stored, excuse func(id string, k Kept) bool) Result {
	r := Result{Org: org, Expected: len(tr.Kept), Duplicated: int(got.Rows - got.Unique)}
	known := map[string]bool{}
	for id, k := range tr.Kept {
		known[id] = true
		cat, ok := got.Categories[id]
		if k.AltID != "" {
			known[k.AltID] = true
			if altCat, altOK := got.Categories[k.AltID]; altOK {
				if ok {
					r.Duplicated++ // stored under its uuid and under the derived id
				}
				cat, ok = altCat, true
				r.DerivedIDs++
			}
		}
		switch {
		case !ok:
			if excuse != nil && excuse(id, k) {
				r.Excused++
				continue
			}
			if k.Index < 0 { // TruthOf: the category alone
				r.Lost = append(r.Lost, fmt.Sprintf("%s (%s)", id, k.Category))
				continue
			}
			r.Lost = append(r.Lost, fmt.Sprintf("%s (index %d, %s, published %s)", id, k.Index, k.Category, k.Published.Format(time.RFC3339Nano)))
		case cat != k.Category:
			r.WrongCategory = append(r.WrongCategory, fmt.Sprintf("%s: %s, want %s", id, cat, k.Category))
		}
	}
	for id := range got.Categories {
		if !known[id] {
			r.Extra = append(r.Extra, id)
		}
	}
	sort.Strings(r.Lost)
	sort.Strings(r.Extra)
	sort.Strings(r.WrongCategory)
	return r
}

// Require fails tb for anything but exactly once, naming up to ten events
// of each kind, and for a truth that keeps nothing (the check would prove
// nothing).
func (r Result) Require(tb testing.TB) {
	tb.Helper()
	if len(r.Lost) > 0 {
		tb.Errorf("%s: %d of %d kept events missing from risk_events: %s", r.Org, len(r.Lost), r.Expected, First(r.Lost, 10))
	}
	if r.Duplicated > 0 {
		tb.Errorf("%s: %d duplicates in risk_events FINAL", r.Org, r.Duplicated)
	}
	if len(r.Extra) > 0 {
		tb.Errorf("%s: %d events in risk_events that the truth does not keep: %s", r.Org, len(r.Extra), First(r.Extra, 10))
	}
	if len(r.WrongCategory) > 0 {
		tb.Errorf("%s: %d events in the wrong category: %s", r.Org, len(r.WrongCategory), First(r.WrongCategory, 10))
	}
	if r.Expected == 0 {
		tb.Errorf("%s: the truth keeps nothing: the check proves nothing", r.Org)
	}
}

// RequireExactlyOnce reads tenant's risk_events and requires it to hold
// the truth exactly once.
func RequireExactlyOnce(tb testing.TB, st *store.Store, tenant string, tr Truth) {
	tb.Helper()
	Check(tenant, tr, Stored(tb, st, tenant), nil).Require(tb)
	if tb.Failed() {
		tb.FailNow()
	}
}

// First joins the first n of s, saying how many more there are.
func First(s []string, n int) string {
	if len(s) > n {
		return strings.Join(s[:n], "; ") + fmt.Sprintf("; ... (%d more)", len(s)-n)
	}
	return strings.Join(s, "; ")
}

// OpenStore opens (without migrating) the database of cfg (chtest.Config)
// for a test's own reads; the test's cleanup closes it.
func OpenStore(tb testing.TB, cfg config.ClickHouse) *store.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, cfg, nil)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// PollStates returns every tenant's stored poll state; none before
// riskpipe created the table.
func PollStates(tb testing.TB, st *store.Store) map[string]store.PollState {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var n uint64
	require.NoError(tb, st.Conn().QueryRow(ctx,
		"SELECT count() FROM system.tables WHERE database = ? AND name = 'poll_state'", st.Database()).Scan(&n))
	out := map[string]store.PollState{}
	if n == 0 {
		return out
	}
	states, err := st.LoadAllPollStates(ctx)
	require.NoError(tb, err)
	for _, s := range states {
		out[s.Tenant] = s
	}
	return out
}

// AfterIndex is the log index of a simulator polling cursor's after
// parameter (<ms>_<index>).
func AfterIndex(tb testing.TB, after string) int64 {
	tb.Helper()
	_, idx, ok := strings.Cut(after, "_")
	require.True(tb, ok, "after %q is not <ms>_<index>", after)
	n, err := strconv.ParseInt(idx, 10, 64)
	require.NoError(tb, err, "after %q", after)
	return n
}

// CursorPosition is the log position a stored cursor resumes from: the
// index in its after=<ms>_<index>, or from (the first event at or after
// the integration time) for the first cursor, which has no after yet and
// polls since the integration time.
func CursorPosition(tb testing.TB, cursor string, from int64) int64 {
	tb.Helper()
	u, err := url.Parse(cursor)
	require.NoError(tb, err, "cursor %q", cursor)
	after := u.Query().Get("after")
	if after == "" {
		require.NotEmpty(tb, u.Query().Get("since"), "a cursor without after must poll since the integration time: %q", cursor)
		return from
	}
	return AfterIndex(tb, after)
}

// WaitFor polls cond until it holds or the (generous) deadline passes; the
// deadline guards against hangs and is not a speed assertion.
func WaitFor(tb testing.TB, deadline time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	end := time.Now().Add(deadline)
	for {
		ok, status := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			tb.Fatalf("gave up waiting after %s for %s; last: %s", deadline, what, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Polled is the number of polled events event_type_counts holds for
// tenant, kept and dropped.
func Polled(tb testing.TB, st *store.Store, tenant string) uint64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := st.Reader().Polled(ctx, tenant)
	require.NoError(tb, err)
	return n
}

// TruthOf is a truth of the events to keep, event id → category (a test's
// own, or Truth.Categories changed by it).
func TruthOf(categories map[string]string) Truth {
	tr := Truth{Kept: make(map[string]Kept, len(categories))}
	for id, c := range categories {
		tr.Kept[id] = Kept{Category: c, Index: -1}
	}
	return tr
}
