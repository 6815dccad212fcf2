package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
)

// fixtureIDs returns the ids of the fixture events of tenant matching
// keep, oldest first.
func fixtureIDs(tenant string, keep func(signal) bool) []string {
	type ev struct {
		id  string
		pub time.Time
	}
	var evs []ev
	for i, s := range fixtureSignals {
		if s.user.tenant == tenant && keep(s) {
			e := fixtureEvent(i, s)
			evs = append(evs, ev{e.ID, e.Published})
		}
	}
	for i := range evs { // insertion sort by published
		for j := i; j > 0 && evs[j].pub.Before(evs[j-1].pub); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.id
	}
	return ids
}

func TestListEventsPages(t *testing.T) {
	e := newEnv(t)
	e.write(fixtureBatches()...)
	all := func(signal) bool { return true }
	from := url.QueryEscape(now0.Add(-72 * time.Hour).Format(time.RFC3339))

	tests := []struct {
		name  string
		query string
		limit int
		want  []string
	}{
		{name: "everything in pages of 2", query: "from=" + from, limit: 2, want: fixtureIDs("acme", all)},
		{name: "one page", query: "from=" + from, limit: 100, want: fixtureIDs("acme", all)},
		{name: "default range is the last 24h", query: "", limit: 3,
			want: fixtureIDs("acme", func(s signal) bool { return s.ago <= 24*time.Hour })},
		{name: "category", query: "from=" + from + "&category=threat_insight,leaked_credentials", limit: 2,
			want: fixtureIDs("acme", func(s signal) bool {
				return s.cat == event.CategoryThreatInsight || s.cat == event.CategoryLeakedCredentials
			})},
		{name: "user", query: "from=" + from + "&user_id=" + bob.id, limit: 1,
			want: fixtureIDs("acme", func(s signal) bool { return s.user == bob })},
		{name: "unix seconds range", query: "from=" + itoa64(now0.Add(-30*time.Hour).Unix()) + "&to=" + itoa64(now0.Add(-10*time.Hour).Unix()), limit: 10,
			want: fixtureIDs("acme", func(s signal) bool { return s.ago <= 30*time.Hour && s.ago > 10*time.Hour })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				require.Less(t, pages, 20, "paging does not end")
				var page EventPage
				e.getJSONT(t, "/api/v1/orgs/acme/events?"+tt.query+"&limit="+itoa64(int64(tt.limit))+"&after="+after, tokenAcme, &page)
				require.LessOrEqual(t, len(page.Events), tt.limit)
				for _, ev := range page.Events {
					require.Equal(t, "acme", ev.Tenant)
					require.Empty(t, ev.Raw, "raw only when asked for")
					got = append(got, ev.EventID)
				}
				if page.Next == "" {
					break
				}
				after = page.Next
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestListEventsFields(t *testing.T) {
	e := newEnv(t)
	e.write(fixtureBatches()...)
	var page EventPage
	e.getJSON("/api/v1/orgs/globex/events?raw=true&category=threat_insight&from="+url.QueryEscape(now0.Add(-72*time.Hour).Format(time.RFC3339)), tokenGlobex, &page)
	require.Len(t, page.Events, 2)
	got := page.Events[0]
	want := fixtureEvent(9, fixtureSignals[9])
	require.Equal(t, want.ID, got.EventID)
	require.Equal(t, want.Published.UnixMilli(), got.Published.UnixMilli(), "millisecond precision")
	require.Equal(t, "security.threat.detected", got.EventType)
	require.Equal(t, "threat_insight", got.Category)
	require.Equal(t, dave.id, got.UserID)
	require.Equal(t, dave.login, got.UserLogin)
	require.Equal(t, "HIGH", got.RiskLevel)
	require.True(t, got.ThreatSuspected)
	require.Equal(t, map[string]string{"Password Spray": "HIGH"}, got.ThreatDetections)
	require.JSONEq(t, string(want.Raw), string(got.Raw))
}

func TestListEventsBadParams(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"from=yesterday", "to=2026-13-01", "limit=0", "limit=1001", "after=!!", "after=bm9wZQ",
		"from=2026-03-14T10:00:00Z&to=2026-03-14T09:00:00Z"} {
		status, body := e.get("/api/v1/orgs/acme/events?"+q, tokenAcme)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", q, body)
		var eb errorBody
		require.NoError(t, json.Unmarshal(body, &eb))
		require.NotEmpty(t, eb.Error)
	}
}

func TestGetEvent(t *testing.T) {
	e := newEnv(t)
	e.write(fixtureBatches()...)
	want := fixtureEvent(0, fixtureSignals[0])

	var got Event
	e.getJSON("/api/v1/orgs/acme/events/"+want.ID, tokenAcme, &got)
	require.Equal(t, want.ID, got.EventID)
	require.Equal(t, "leaked_credentials", got.Category)
	require.JSONEq(t, string(want.Raw), string(got.Raw))

	status, _ := e.get("/api/v1/orgs/acme/events/evt-nope", tokenAcme)
	require.Equal(t, http.StatusNotFound, status)
	// The event exists, but in acme: globex's path does not find it, and
	// a globex token may not ask acme.
	status, _ = e.get("/api/v1/orgs/globex/events/"+want.ID, tokenGlobex)
	require.Equal(t, http.StatusNotFound, status)
	status, _ = e.get("/api/v1/orgs/acme/events/"+want.ID, tokenGlobex)
	require.Equal(t, http.StatusForbidden, status)
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
