package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"
)

// A row ClickHouse rejects is a row error (IsRowError), and it fails only
// the Write of the caller whose rows it is, not the other callers' batches
// coalesced into the same insert.
func TestRowErrorFailsOnlyItsCaller(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	// A MATERIALIZED column that cannot parse a value for one event id:
	// ClickHouse 18.16 rejects that row's insert (CANNOT_PARSE_TEXT), as a
	// CHECK constraint does on a newer ClickHouse.
	poison := makeEvent(7)
	require.NoError(t, s.Conn().Exec(ctx, "ALTER TABLE "+s.table("risk_events")+
		" ADD COLUMN poison UInt8 MATERIALIZED toUInt8(if(event_id = '"+poison.ID+"', 'x', '0'))"))
	// A linger long enough for both Writes to land in one flush.
	w, _ := newWriter(t, s, WriterOptions{MaxWait: 500 * time.Millisecond})

	var (
		wg         sync.WaitGroup
		good, evil error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		good = w.Write(ctx, Batch{Tenant: "good", Events: makeEvents(100, 3), State: &PollState{Tenant: "good", Cursor: "c1"}})
	}()
	go func() {
		defer wg.Done()
		evil = w.Write(ctx, Batch{Tenant: "evil", Events: append(makeEvents(200, 2), poison), State: &PollState{Tenant: "evil", Cursor: "c2"}})
	}()
	wg.Wait()
	require.Equal(t, float64(1), metricValue(t, w.metrics.flushes.WithLabelValues("age")), "both Writes were coalesced")

	require.NoError(t, good, "another tenant's rejected row does not fail this batch")
	require.Error(t, evil)
	require.True(t, IsRowError(evil), "a rejected value is a row error: %v", evil)
	require.False(t, IsRetryable(evil))
	require.Contains(t, evil.Error(), "Cannot parse string 'x' as UInt8")

	require.EqualValues(t, 3, queryUint(t, s.Conn(), "SELECT count() FROM "+s.table("risk_events")+" FINAL WHERE tenant = 'good'"))
	_, ok, err := s.LoadPollState(ctx, "good")
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = s.LoadPollState(ctx, "evil")
	require.NoError(t, err)
	require.False(t, ok, "no state is written with rejected rows")
}

func TestRowErrorsAreSortedByType(t *testing.T) {
	for _, tc := range []struct {
		err  error
		rows bool
	}{
		{classify(&clickhouse.Exception{Code: 6}), true},    // CANNOT_PARSE_TEXT
		{classify(&clickhouse.Exception{Code: 469}), true},  // VIOLATED_CONSTRAINT
		{classify(&clickhouse.Exception{Code: 60}), false},  // UNKNOWN_TABLE
		{classify(&clickhouse.Exception{Code: 16}), false},  // NO_SUCH_COLUMN_IN_TABLE
		{classify(&clickhouse.Exception{Code: 516}), false}, // AUTHENTICATION_FAILED
		{classify(&clickhouse.Exception{Code: 241}), false}, // MEMORY_LIMIT_EXCEEDED: retryable
		{classify(context.DeadlineExceeded), false},
	} {
		require.Equal(t, tc.rows, IsRowError(tc.err), "%v", tc.err)
	}
}
