package chaos

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/simtest"
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
	return &db{t: t, st: simtest.OpenStore(t, chtest.Config(srv, name))}
}

func (d *db) table(name string) string { return "`" + d.st.Database() + "`." + name }

func (d *db) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Minute)
}

// pollStates returns every tenant's stored state; none before riskpipe
// created the table.
func (d *db) pollStates() map[string]store.PollState { return simtest.PollStates(d.t, d.st) }

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
func (d *db) polledCount(tenant string) uint64 { return simtest.Polled(d.t, d.st, tenant) }

// integrations is how many different integration times poll_state holds
// for a tenant (1: it never changed).
func (d *db) integrations(tenant string) uint64 {
	return d.uint("SELECT uniqExact(integrated_at_ms) FROM "+d.table("poll_state")+" WHERE tenant = ?", tenant)
}

// stored is what risk_events holds for one tenant, read with FINAL.
func (d *db) stored(tenant string) store.Stored { return simtest.Stored(d.t, d.st, tenant) }

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

type truthOptions struct {
	altIDs bool // compute the ids of events served without uuid
	late   bool // count late kept events (generates every event)
}

// truth is what a perfect poller of org integrated at since holds once it
// has read the log up to index to (exclusive): its generated events judged
// by the scenario, the injected ones by what the test injected them as.
func (s *sim) truth(org string, since time.Time, to int64, o truthOptions) simtest.Truth {
	s.t.Helper()
	opts := simtest.TruthOptions{Stream: s.streams[org], AltIDs: o.altIDs, Late: o.late}
	if s.hasInjected(org) {
		opts.Label = func(id string) (string, bool) { return s.injectedCategory(org, id) }
	}
	return simtest.OrgTruth(s.t, s.org(org), since, to, opts)
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
				out = append(out, span{s.position(org, p), simtest.AfterIndex(t, p.next), p.body})
				break
			}
		}
	}
	return out
}

// result is the checker's verdict on one org: simtest's, and what became
// of the pages dead-lettered whole.
type result struct {
	simtest.Result
	deadLetteredPages       int   // pages dead-lettered whole (invalid bodies held byte for byte in dead_letters)
	deadLetteredPageEvents  int64 // events in those pages
	inDeadLetteredPage      int   // kept events not in risk_events, inside a page dead-lettered whole
	unrecoverableFromLetter int   // of those, the ones whose uuid is not in the dead letter's payload
	deadLetters             int   // dead_letters rows (FINAL)
	late                    int
}

// check compares an org's risk_events (FINAL) with the truth
// (simtest.Check). Kept events of a page riskpipe dead-lettered whole (a
// served page body that was invalid JSON, held byte for byte in
// dead_letters) are counted as dead-lettered, not lost.
func check(t *testing.T, s *sim, d *db, org string, tr simtest.Truth) result {
	t.Helper()
	dls := d.deadLetters(org)
	r := result{deadLetters: len(dls), late: tr.Late}
	dlPages := deadLetteredPages(t, s, org, dls)
	for _, sp := range dlPages {
		r.deadLetteredPages++
		r.deadLetteredPageEvents += sp.to - sp.from
	}
	r.Result = simtest.Check(org, tr, d.stored(org), func(id string, k simtest.Kept) bool {
		for _, sp := range dlPages {
			if k.Index >= sp.from && k.Index < sp.to {
				r.inDeadLetteredPage++
				if !bytes.Contains(sp.body, []byte(id)) {
					r.unrecoverableFromLetter++
				}
				return true
			}
		}
		return false
	})
	return r
}
