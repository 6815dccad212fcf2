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

// TestBoundedEventsMatchFinal checks store.Reader.Events against the plain FINAL
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
	full := func(f store.EventFilter) []string {
		evs, err := e.api.r.EventsFinal(ctx, "acme", f)
		require.NoError(t, err)
		return ids(evs)
	}
	from, to := now0.Add(-40*time.Hour), now0
	filters := []store.EventFilter{
		{UserID: alice.id},
		{UserID: bob.id},
		{From: from, To: to},
		{From: from, To: to, Categories: []string{"high_risk", "leaked_credentials"}},
		{From: now0.Add(-12 * time.Hour), To: to, UserID: carol.id},
	}
	before := e.api.r.FullReads()
	for _, f := range filters {
		for _, desc := range []bool{false, true} {
			for _, limit := range []int{1, 2, 3, 5, 8, 13, 21, 100} {
				f.Desc, f.Limit = desc, limit
				name := fmt.Sprintf("%+v", f)
				got, err := e.api.r.Events(ctx, "acme", f)
				require.NoError(t, err, name)
				require.Equal(t, full(f), ids(got), name)
			}
		}
	}
	require.Greater(t, e.api.r.FullReads(), before, "some rewrites must have needed the full read")
	t.Logf("%d of %d queries fell back to the full read", e.api.r.FullReads()-before, len(filters)*2*8)

	evs, err := e.api.r.Events(ctx, "globex", store.EventFilter{UserID: alice.id, Desc: true, Limit: 10})
	require.NoError(t, err)
	require.Empty(t, evs, "another tenant")
}

// ids names events by id and published time.
func ids(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.EventID + "@" + strings.TrimSuffix(ev.Published.Format(time.RFC3339Nano), "Z")
	}
	return out
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
