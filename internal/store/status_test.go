package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// poller_status rows round-trip (times to the second, zero times as
// "never"), and per tenant the row written last wins, merged or not.
func TestPollerStatusLatestWins(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	base := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

	none, err := s.LoadPollerStatuses(ctx)
	require.NoError(t, err)
	require.Empty(t, none)

	acme1 := PollerStatus{
		Tenant: "acme", State: "polling", IntegratedAt: base.Add(-time.Hour), LastPoll: base, LastSuccess: base,
		LastCursorAdvance: base, NewestPublished: base.Add(-3 * time.Second), EventsPolled: 1000, EventsKept: 12,
		StartedAt: base.Add(-10 * time.Minute), UpdatedAt: base,
	}
	globex := PollerStatus{
		Tenant: "globex", State: "auth_error", IntegratedAt: base.Add(-2 * time.Hour), LastPoll: base.Add(500 * time.Millisecond),
		LastError: "okta: 401 E0000011 Invalid token provided", ConsecutiveFailures: 7,
		StartedAt: base.Add(-10 * time.Minute), // never succeeded: LastSuccess etc. stay zero
	}
	require.NoError(t, s.WriteStatuses(ctx, []PollerStatus{acme1, globex}))

	acme2 := acme1
	acme2.State, acme2.LastPoll, acme2.EventsPolled, acme2.EventsKept = "caught_up", base.Add(15*time.Second), 1500, 20
	acme2.UpdatedAt = base.Add(15 * time.Second)
	require.NoError(t, s.WriteStatuses(ctx, []PollerStatus{acme2}))
	// An older-looking updated_at written later still wins: order of
	// writing decides, not the clock of the row.
	acme3 := acme2
	acme3.State, acme3.UpdatedAt = "stopped", base.Add(10*time.Second)
	require.NoError(t, s.WriteStatuses(ctx, []PollerStatus{acme3}))
	require.EqualValues(t, 4, queryUint(t, s.Conn(), "SELECT count() FROM "+s.table("poller_status")), "one row per write until merged")

	got, err := s.LoadPollerStatuses(ctx)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, acme3, got[0])
	require.NotZero(t, got[1].UpdatedAt, "UpdatedAt is set when zero")
	globex.LastPoll = globex.LastPoll.Truncate(time.Second)
	globex.UpdatedAt = got[1].UpdatedAt
	require.Equal(t, globex, got[1])

	// The same after a merge, and through FINAL.
	require.NoError(t, s.Conn().Exec(ctx, "OPTIMIZE TABLE "+s.table("poller_status")+" FINAL"))
	require.EqualValues(t, 2, countFinal(t, s, "poller_status"))
	again, err := s.LoadPollerStatuses(ctx)
	require.NoError(t, err)
	require.Equal(t, got, again)

	require.NoError(t, s.WriteStatuses(ctx, nil), "nothing to write is no error")
}

// KeptSince counts each kept event once per tenant, from a time on.
func TestKeptSince(t *testing.T) {
	s := newStore(t)
	w, _ := newWriter(t, s, WriterOptions{})
	ctx := context.Background()
	day := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	events := makeEvents(0, 6)
	for i := range events {
		events[i].Published = day.Add(time.Duration(i-2) * time.Hour) // 2 of them the day before
	}
	require.NoError(t, w.Write(ctx, Batch{Tenant: "acme", Events: events}))
	require.NoError(t, w.Write(ctx, Batch{Tenant: "acme", Events: events[3:]})) // a replay
	require.NoError(t, w.Write(ctx, Batch{Tenant: "globex", Events: events[5:]}))

	got, err := s.KeptSince(ctx, day)
	require.NoError(t, err)
	require.Equal(t, map[string]uint64{"acme": 4, "globex": 1}, got)

	got, err = s.KeptSince(ctx, day.Add(24*time.Hour))
	require.NoError(t, err)
	require.Empty(t, got)
}
