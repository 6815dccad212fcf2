package api

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/store"
)

// TestBoundedEventsMatchFinal checks boundedEvents against the plain FINAL
// query it replaces, over events rewritten by later flushes: replayed as
// they were, re-attributed to another user, moved to another published
// time (as an unparseable published is on replay) or category.
func TestBoundedEventsMatchFinal(t *testing.T) {
	e := newEnv(t)
	users := []fixtureUser{alice, bob, carol}
	cats := []event.Category{event.CategoryHighRisk, event.CategoryThreatInsight, event.CategoryUserRisk}
	var first []event.Event
	for i := range 60 {
		ev := fixtureEvent(100+i, signal{user: users[i%3], cat: cats[i%len(cats)], ago: time.Duration(i%20) * time.Hour})
		if i%7 == 0 {
			ev.Published = ev.Published.Add(time.Duration(i) * time.Millisecond) // ties within a second
		}
		first = append(first, ev)
	}
	e.write(store.Batch{Tenant: "acme", Events: first})

	var second []event.Event
	for i, ev := range first {
		switch i % 5 {
		case 0: // replayed as it was
		case 1: // attributed to another user
			u := users[(i+1)%3]
			ev.UserID, ev.UserLogin = u.id, u.login
		case 2: // another published time
			ev.Published = ev.Published.Add(-time.Duration(i%4+1) * 5 * time.Hour)
		case 3: // another category
			ev.Category = event.CategoryLeakedCredentials
		default:
			continue
		}
		second = append(second, ev)
	}
	e.write(store.Batch{Tenant: "acme", Events: second})

	ctx := context.Background()
	full := func(where string, args []any, desc bool, limit int) []string {
		dir := ""
		if desc {
			dir = " DESC"
		}
		q := fmt.Sprintf("SELECT %s FROM %s FINAL WHERE tenant = ? AND %s ORDER BY published_ms%s, event_id%s LIMIT %d",
			eventColumns, e.api.table("risk_events"), where, dir, dir, limit)
		evs, err := e.api.queryEvents(ctx, q, false, append([]any{"acme"}, args...)...)
		require.NoError(t, err)
		return eventIDs(evs)
	}
	from, to := now0.Add(-40*time.Hour).Unix(), now0.Unix()
	filters := []struct {
		where string
		args  []any
	}{
		{"user_id = ?", []any{alice.id}},
		{"user_id = ?", []any{bob.id}},
		{"published >= toDateTime(?) AND published < toDateTime(?)", []any{from, to}},
		{"published >= toDateTime(?) AND published < toDateTime(?) AND category IN ('high_risk', 'leaked_credentials')", []any{from, to}},
		{"published >= toDateTime(?) AND published < toDateTime(?) AND user_id = ?", []any{now0.Add(-12 * time.Hour).Unix(), to, carol.id}},
	}
	before := e.api.fullReads.Load()
	for _, f := range filters {
		for _, desc := range []bool{false, true} {
			for _, limit := range []int{1, 2, 3, 5, 8, 13, 21, 100} {
				name := fmt.Sprintf("%s desc=%v limit=%d", f.where, desc, limit)
				got, err := e.api.boundedEvents(ctx, "acme", f.where, f.args, desc, limit, false)
				require.NoError(t, err, name)
				require.Equal(t, full(f.where, f.args, desc, limit), eventIDs(got), name)
			}
		}
	}
	require.Greater(t, e.api.fullReads.Load(), before, "some rewrites must have needed the full read")
	t.Logf("%d of %d queries fell back to the full read", e.api.fullReads.Load()-before, len(filters)*2*8)

	evs, err := e.api.boundedEvents(ctx, "globex", "user_id = ?", []any{alice.id}, true, 10, false)
	require.NoError(t, err)
	require.Empty(t, evs, "another tenant")
}

func eventIDs(evs []Event) []string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.EventID + "@" + strings.TrimSuffix(ev.Published.Format(time.RFC3339Nano), "Z")
	}
	return ids
}

// TestTopUsersLastSignalEveryOrder: LastSignal and Signals are the same
// whether the page is sorted by last_signal (read for every user with the
// page) or not (read for the page's users only), also for a user whose
// kept events are all older than the 30 days of Signals.
func TestTopUsersLastSignalEveryOrder(t *testing.T) {
	e := fixtureEnv(t)
	grace := fixtureUser{"globex", "00ugrace", "grace@globex.example"}
	old := fixtureEvent(200, signal{user: grace, cat: event.CategoryHighRisk, ago: 40 * 24 * time.Hour})
	unattributed := fixtureEvent(201, signal{user: erin, cat: event.CategoryThreatInsight, ago: time.Hour})
	unattributed.UserID, unattributed.UserLogin = "", ""
	e.write(store.Batch{Tenant: "globex", Events: []event.Event{old, unattributed}})
	e.writeFactors([]FactorUpdate{
		{Tenant: "globex", UserID: grace.id, UserLogin: grace.login, UpdatedAt: now0.Add(-time.Hour), Score: 2, Level: "low"},
		{Tenant: "globex", UserID: "00ufrank", UserLogin: "frank@globex.example", UpdatedAt: now0.Add(-time.Hour), Score: 1, Level: "low"},
	})

	byUser := func(sort string) map[string]UserSummary {
		var page UserPage
		e.getJSON("/api/v1/users?limit=100&history=0&sort="+sort, tokenAll, &page)
		out := map[string]UserSummary{}
		for _, u := range page.Users {
			out[u.Tenant+"/"+u.UserID] = u
		}
		return out
	}
	want := byUser("last_signal")
	require.Len(t, want, 7)
	require.Nil(t, want["globex/00ufrank"].LastSignal, "no kept events")
	for _, sort := range []string{"score", "login", "updated_at", "signals", "percentile"} {
		got := byUser(sort)
		require.Len(t, got, len(want), sort)
		for k, w := range want {
			require.Equal(t, w.LastSignal, got[k].LastSignal, "%s: %s", sort, k)
			require.Equal(t, w.Signals, got[k].Signals, "%s: %s", sort, k)
		}
	}
	// grace's only kept event is older than the 30 days of Signals; the
	// unattributed event is nobody's.
	require.Equal(t, old.Published.Truncate(time.Second), *want["globex/"+grace.id].LastSignal)
	require.Empty(t, want["globex/"+grace.id].Signals)
	require.Equal(t, fixtureEvent(13, fixtureSignals[13]).Published.Truncate(time.Second), *want["globex/"+erin.id].LastSignal)
	require.Equal(t, map[string]uint64{"entity_risk": 1}, want["globex/"+erin.id].Signals)
}
