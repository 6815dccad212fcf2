package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/store"
)

// db is the suite's own connection to one riskpipe database, to read what
// riskpipe wrote.
type db struct {
	t  *testing.T
	st *store.Store
}

// openDB opens (without migrating) database name on srv.
func openDB(t *testing.T, srv *chserver.Server, name string) *db {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, chtest.Config(srv, name), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return &db{t: t, st: st}
}

func (d *db) table(name string) string { return "`" + d.st.Database() + "`." + name }

func (d *db) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Minute)
}

// pollStates returns every tenant's stored state; none before riskpipe
// created the table.
func (d *db) pollStates() map[string]store.PollState {
	t := d.t
	t.Helper()
	ctx, cancel := d.ctx()
	defer cancel()
	var n uint64
	require.NoError(t, d.st.Conn().QueryRow(ctx,
		"SELECT count() FROM system.tables WHERE database = ? AND name = 'poll_state'", d.st.Database()).Scan(&n))
	out := map[string]store.PollState{}
	if n == 0 {
		return out
	}
	states, err := d.st.LoadAllPollStates(ctx)
	require.NoError(t, err)
	for _, s := range states {
		out[s.Tenant] = s
	}
	return out
}

func (d *db) uint(query string, args ...any) uint64 {
	d.t.Helper()
	ctx, cancel := d.ctx()
	defer cancel()
	var n uint64
	require.NoError(d.t, d.st.Conn().QueryRow(ctx, query, args...).Scan(&n), "%s", query)
	return n
}

// keptCount is how many events of a tenant risk_events holds (FINAL).
func (d *db) keptCount(tenant string) uint64 {
	return d.uint("SELECT count() FROM "+d.table("risk_events")+" FINAL WHERE tenant = ?", tenant)
}

// polledCount is the number of polled events event_type_counts holds for a
// tenant, kept and dropped.
func (d *db) polledCount(tenant string) uint64 {
	return d.uint("SELECT sum(events) FROM "+d.table("event_type_counts")+" WHERE tenant = ?", tenant)
}

// integrations is how many different integration times poll_state holds
// for a tenant (1: it never changed).
func (d *db) integrations(tenant string) uint64 {
	return d.uint("SELECT uniqExact(integrated_at_ms) FROM "+d.table("poll_state")+" WHERE tenant = ?", tenant)
}

// stored is what risk_events holds for one tenant, read with FINAL.
type stored struct {
	rows, unique uint64
	events       map[string]string // event id → category
}

func (d *db) stored(tenant string) stored {
	t := d.t
	t.Helper()
	ctx, cancel := d.ctx()
	defer cancel()
	tbl := d.table("risk_events")
	var s stored
	require.NoError(t, d.st.Conn().QueryRow(ctx,
		"SELECT count(), uniqExact(event_id) FROM "+tbl+" FINAL WHERE tenant = ?", tenant).Scan(&s.rows, &s.unique))
	rows, err := d.st.Conn().Query(ctx, "SELECT event_id, category FROM "+tbl+" FINAL WHERE tenant = ?", tenant)
	require.NoError(t, err)
	defer rows.Close()
	s.events = map[string]string{}
	for rows.Next() {
		var id, cat string
		require.NoError(t, rows.Scan(&id, &cat))
		s.events[id] = cat
	}
	require.NoError(t, rows.Err())
	return s
}

type deadLetter struct {
	reason  string
	payload []byte
}

func (d *db) deadLetters(tenant string) []deadLetter {
	t := d.t
	t.Helper()
	ctx, cancel := d.ctx()
	defer cancel()
	rows, err := d.st.Conn().Query(ctx, "SELECT reason, payload FROM "+d.table("dead_letters")+" FINAL WHERE tenant = ?", tenant)
	require.NoError(t, err)
	defer rows.Close()
	var out []deadLetter
	for rows.Next() {
		var dl deadLetter
		var payload string
		require.NoError(t, rows.Scan(&dl.reason, &payload))
		dl.payload = []byte(payload)
		out = append(out, dl)
	}
	require.NoError(t, rows.Err())
	return out
}

// cursorPosition is the log position a stored cursor resumes from: the
// index in its after=<ms>_<index>, or from (the first event at or after
// the integration time) for the first cursor, which has no after yet.
func cursorPosition(t *testing.T, cursor string, from int64) int64 {
	t.Helper()
	u, err := url.Parse(cursor)
	require.NoError(t, err, "cursor %q", cursor)
	after := u.Query().Get("after")
	if after == "" {
		require.NotEmpty(t, u.Query().Get("since"), "a cursor without after must poll since the integration time: %q", cursor)
		return from
	}
	return afterIndex(t, after)
}

// truthEvent is an event the ground truth says riskpipe must keep.
type truthEvent struct {
	idx       int64
	category  string
	published time.Time
	// altID is the id riskpipe derives when the event is served without
	// its uuid (missing_uuid fault).
	altID string
}

// truth is what a perfect poller of one org integrated at since holds once
// it has read the log up to index to (exclusive).
type truth struct {
	from, to int64
	kept     map[string]truthEvent // by event id
	// late counts kept events published more than lateBy before an event
	// served ahead of them (late arrivals that a collector polling
	// since/until windows would miss).
	late int
}

// lateBy is how much earlier than an event ahead of it an event must be
// published to count as late (the simulator's normal lag is 0-2 s, its
// late events 5-30 s).
const lateBy = 3 * time.Second

type truthOptions struct {
	altIDs bool // compute the ids of events served without uuid
	late   bool // count late kept events (generates every event)
}

func (s *sim) truth(org string, since time.Time, to int64, o truthOptions) truth {
	s.t.Helper()
	og, st := s.org(org), s.streams[org]
	from, end := og.TruthRange(since)
	to = min(to, end)
	tr := truth{from: from, to: to, kept: map[string]truthEvent{}}
	every := o.late || s.hasInjected(org) || st == nil
	var newest time.Time
	for i := from; i < to; i++ {
		cat := ""
		if !every {
			if cat = st.Expect(i); cat == "" {
				continue
			}
		}
		ev, _, ok := og.EventAt(i)
		require.True(s.t, ok, "event %d of %s not visible", i, org)
		if every {
			if c, injected := s.injectedCategory(org, ev.ID); injected {
				cat = c
			} else if st != nil {
				cat = st.Expect(i)
			}
		}
		late := ev.Published.Before(newest.Add(-lateBy))
		if ev.Published.After(newest) {
			newest = ev.Published
		}
		if cat == "" {
			continue
		}
		te := truthEvent{idx: i, category: cat, published: ev.Published}
		if o.altIDs {
			te.altID = derivedIDWithoutUUID(s.t, ev.Raw)
		}
		if late {
			tr.late++
		}
		require.NotContains(s.t, tr.kept, ev.ID, "%s: event id %s twice in the log", org, ev.ID)
		tr.kept[ev.ID] = te
	}
	return tr
}

// derivedIDWithoutUUID is the id riskpipe gives raw once the simulator's
// missing_uuid fault removed its uuid (the same transformation as the
// simulator's, then riskpipe's own id derivation).
func derivedIDWithoutUUID(t *testing.T, raw []byte) string {
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	delete(m, "uuid")
	b, err := json.Marshal(m)
	require.NoError(t, err)
	e, err := event.Decode(b, time.Now())
	require.NoError(t, err)
	return e.ID
}

// span is a page of an org's log, [from, to), with the body served.
type span struct {
	from, to int64
	body     []byte
}

// deadLetteredPages returns the pages riskpipe dead-lettered whole: the
// invalid bodies the simulator served to org that dead_letters holds byte
// for byte.
func deadLetteredPages(t *testing.T, s *sim, org string, dls []deadLetter) []span {
	t.Helper()
	var out []span
	seen := map[string]bool{}
	for _, p := range s.served.snapshot(org) {
		if !p.invalid || p.next == "" || seen[string(p.body)] {
			continue
		}
		for _, dl := range dls {
			if bytes.Equal(dl.payload, p.body) {
				seen[string(p.body)] = true
				out = append(out, span{s.position(org, p), afterIndex(t, p.next), p.body})
				break
			}
		}
	}
	return out
}

// result is the checker's verdict on one org.
type result struct {
	org                     string
	expected                int
	lost, extra, wrongCat   []string
	duplicated              int
	deadLetteredPages       int   // pages dead-lettered whole (invalid bodies held byte for byte in dead_letters)
	deadLetteredPageEvents  int64 // events in those pages
	inDeadLetteredPage      int   // kept events not in risk_events, inside a page dead-lettered whole
	unrecoverableFromLetter int   // of those, the ones whose uuid is not in the dead letter's payload
	deadLetters             int   // dead_letters rows (FINAL)
	derivedIDs              int   // kept events found under the id derived without their uuid
	late                    int
}

// check compares an org's risk_events (FINAL) with the truth: lost,
// duplicated, extra, wrong category. Kept events of a page riskpipe
// dead-lettered whole (a served page body that was invalid JSON, held
// byte for byte in dead_letters) are counted as dead-lettered, not lost.
func check(t *testing.T, s *sim, d *db, org string, tr truth) result {
	t.Helper()
	got := d.stored(org)
	dls := d.deadLetters(org)
	r := result{org: org, expected: len(tr.kept), duplicated: int(got.rows - got.unique), deadLetters: len(dls), late: tr.late}

	dlPages := deadLetteredPages(t, s, org, dls)
	for _, sp := range dlPages {
		r.deadLetteredPages++
		r.deadLetteredPageEvents += sp.to - sp.from
	}
	inDLPage := func(idx int64) []byte {
		for _, sp := range dlPages {
			if idx >= sp.from && idx < sp.to {
				return sp.body
			}
		}
		return nil
	}

	known := map[string]bool{}
	for id, te := range tr.kept {
		known[id] = true
		cat, ok := got.events[id]
		if te.altID != "" {
			known[te.altID] = true
			if altCat, altOK := got.events[te.altID]; altOK {
				if ok {
					r.duplicated++ // stored under its uuid and under the derived id
				}
				cat, ok = altCat, true
				r.derivedIDs++
			}
		}
		switch {
		case !ok:
			if body := inDLPage(te.idx); body != nil {
				r.inDeadLetteredPage++
				if !bytes.Contains(body, []byte(id)) {
					r.unrecoverableFromLetter++
				}
				continue
			}
			r.lost = append(r.lost, fmt.Sprintf("%s (index %d, %s, published %s)", id, te.idx, te.category, te.published.Format(time.RFC3339Nano)))
		case cat != te.category:
			r.wrongCat = append(r.wrongCat, fmt.Sprintf("%s: %s, want %s", id, cat, te.category))
		}
	}
	for id := range got.events {
		if !known[id] {
			r.extra = append(r.extra, id)
		}
	}
	sort.Strings(r.lost)
	sort.Strings(r.extra)
	sort.Strings(r.wrongCat)
	return r
}

// require fails t for anything but exactly once.
func (r result) require(t *testing.T) {
	t.Helper()
	if len(r.lost) > 0 {
		t.Errorf("%s: %d of %d kept events missing from risk_events: %s", r.org, len(r.lost), r.expected, first(r.lost, 10))
	}
	if r.duplicated > 0 {
		t.Errorf("%s: %d duplicates in risk_events FINAL", r.org, r.duplicated)
	}
	if len(r.extra) > 0 {
		t.Errorf("%s: %d events in risk_events that the truth does not keep: %s", r.org, len(r.extra), first(r.extra, 10))
	}
	if len(r.wrongCat) > 0 {
		t.Errorf("%s: %d events in the wrong category: %s", r.org, len(r.wrongCat), first(r.wrongCat, 10))
	}
	if r.expected == 0 {
		t.Errorf("%s: the truth keeps nothing: the check proves nothing", r.org)
	}
}

func first(s []string, n int) string {
	if len(s) > n {
		return strings.Join(s[:n], "; ") + fmt.Sprintf("; ... (%d more)", len(s)-n)
	}
	return strings.Join(s, "; ")
}

// waitFor polls cond until it holds or the (generous) deadline passes; the
// deadline guards against hangs and is not a speed assertion.
func waitFor(t *testing.T, deadline time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		ok, status := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("gave up waiting after %s for %s; last: %s", deadline, what, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
