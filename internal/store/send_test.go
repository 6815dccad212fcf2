package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A caller that cancels its context right after an insert returned (a
// deferred cancel, heartbeat.final) must not break the pooled connection
// the insert used: with the caller's context reaching batch.Send,
// clickhouse-go's watchdog closed it about every other time, and the next
// query on it failed with "use of closed network connection"
// (https://github.com/ClickHouse/clickhouse-go/pull/2032). Every insert of
// the store goes through sendBatch; this exercises the three that are not
// the Writer's (TestGroupCommit covers that one).
func TestInsertThenCancelKeepsPooledConnections(t *testing.T) {
	s := newStore(t)
	row := []PollerStatus{{Tenant: "acme", State: "polling"}}
	for i := range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		require.NoError(t, s.WriteStatuses(ctx, row), "write %d", i)
		cancel()
		m := Migration{Version: 900 + i, Name: "probe"}
		ctx, cancel = context.WithCancel(context.Background())
		require.NoError(t, s.recordMigration(ctx, m), "record %d", i)
		cancel()
		require.NoError(t, s.Ping(context.Background()), "ping after insert %d", i)
	}
}

// A context that has ended is not sent with.
func TestSendContextOfEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sendContext(ctx, time.Second)
	require.ErrorIs(t, err, context.Canceled)

	ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	sc, err := sendContext(ctx, time.Minute)
	require.NoError(t, err)
	cancel()
	require.NoError(t, sc.ctx.Err(), "the caller's cancellation does not reach a Send")
	d, ok := sc.ctx.Deadline()
	require.True(t, ok)
	require.False(t, d.After(time.Now().Add(time.Minute)), "capped at the timeout, not the caller's hour")
}
