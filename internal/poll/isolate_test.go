package poll

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/store"
)

// A row ClickHouse rejects (here: a MATERIALIZED column that cannot parse
// a value for two event ids, as a CHECK constraint on a newer ClickHouse
// would) no longer blocks its tenant: the poller isolates the two rows,
// dead-letters them with ClickHouse's reason, writes every other row and
// advances its cursor past the page.
func TestPollerIsolatesRowsClickHouseRejects(t *testing.T) {
	st, writer := newStoreSink(t)
	ids, raws := makeEvents("p", 25, 0) // pages of 10, 10, 5
	bad := []string{ids[13], ids[17]}
	require.NoError(t, st.Conn().Exec(t.Context(), "ALTER TABLE `"+st.Database()+"`.risk_events "+
		"ADD COLUMN poison UInt8 MATERIALIZED toUInt8(if(event_id IN ('"+bad[0]+"', '"+bad[1]+"'), 'x', '0'))"))

	f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) {
		s.Interval = time.Hour // caught up, the poller waits out the test
		s.State = st
	})
	f.sink.Next = writer
	f.sink.Before = onIntegration(func() { f.sim.org.Inject(raws...) })

	f.start(t)
	eventually(t, func() bool {
		s := f.poller.Status()
		return s.EventsPolled == 25 && s.State == "caught_up"
	}, "the poller gets past the rejected rows")

	want := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return slices.Contains(bad, id) })
	require.Equal(t, want, storedIDs(t, st), "every other row is written")

	rows, err := st.Conn().Query(t.Context(),
		"SELECT reason, payload FROM `"+st.Database()+"`.dead_letters FINAL WHERE tenant = ? ORDER BY payload", tenant)
	require.NoError(t, err)
	defer rows.Close()
	var got []string
	for rows.Next() {
		var reason, payload string
		require.NoError(t, rows.Scan(&reason, &payload))
		require.Contains(t, reason, "rejected by ClickHouse")
		require.Contains(t, reason, "Cannot parse string 'x' as UInt8", "the reason is ClickHouse's")
		k := slices.IndexFunc(raws, func(r []byte) bool { return string(r) == payload })
		require.GreaterOrEqual(t, k, 0, "the payload is an event verbatim")
		got = append(got, ids[k])
	}
	require.NoError(t, rows.Err())
	require.Equal(t, bad, got, "the rejected events are dead-lettered verbatim")

	ps, ok, err := st.LoadPollState(t.Context(), tenant)
	require.NoError(t, err)
	require.True(t, ok)
	require.EqualValues(t, 25, cursorIndex(t, ps.Cursor), "the cursor advanced past the page")
	require.InDelta(t, 2, value(t, f.metrics.deadLettered.WithLabelValues(tenant)), 0)
}

// A schema error is not a row error: nothing is dead-lettered and the
// cursor does not move while it lasts.
func TestPollerDoesNotIsolateSchemaErrors(t *testing.T) {
	st, writer := newStoreSink(t)
	_, raws := makeEvents("s", 5, 0)
	f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) {
		s.Interval = time.Hour
		s.State = st
	})
	f.sink.Next = writer
	f.sink.Before = onIntegration(func() {
		f.sim.org.Inject(raws...)
		// After the integration's write: every later insert fails with
		// NO_SUCH_COLUMN_IN_TABLE, a permanent error that is not a row's.
		require.NoError(t, st.Conn().Exec(t.Context(), "RENAME TABLE `"+st.Database()+"`.risk_events TO `"+st.Database()+"`.risk_events_gone"))
	})
	// The table is back before the database is dropped (and dumped for
	// the current-ClickHouse check, which replays the rename on it).
	t.Cleanup(func() {
		_ = st.Conn().Exec(context.Background(), "RENAME TABLE `"+st.Database()+"`.risk_events_gone TO `"+st.Database()+"`.risk_events")
	})
	f.start(t)
	eventually(t, func() bool {
		s := f.poller.Status()
		return s.State == "write_error" && s.ConsecutiveFailures >= 3
	})
	require.False(t, store.IsRowError(f.sink.all()[len(f.sink.all())-1].Err))
	require.Zero(t, queryCount(t, st, "dead_letters"))
	ps, ok, err := st.LoadPollState(t.Context(), tenant)
	require.NoError(t, err)
	require.True(t, ok)
	require.EqualValues(t, -1, cursorIndex(t, ps.Cursor), "the cursor stays at the integration")
}

func queryCount(t *testing.T, st *store.Store, table string) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, st.Conn().QueryRow(t.Context(), "SELECT count() FROM `"+st.Database()+"`."+table).Scan(&n))
	return n
}
