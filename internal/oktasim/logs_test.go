package oktasim

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// follow polls from url along next links until an empty page and returns
// every uuid and the last next link.
func follow(t *testing.T, c *http.Client, u string) ([]string, string) {
	t.Helper()
	var got []string
	for range 10000 {
		r := get(t, c, u, "Authorization", ssws)
		evs := r.events(t)
		l := r.links()
		require.NotEmpty(t, l["self"])
		require.NotEmpty(t, l["next"], "a polling response always has a next link")
		u = l["next"]
		if len(evs) == 0 {
			return got, u
		}
		got = append(got, uuids(evs)...)
	}
	t.Fatal("did not catch up")
	return nil, ""
}

func TestPollingPagesAndLinks(t *testing.T) {
	clock := newClock()
	_, c, base := sswsOrg(t, clock, 250)

	r := get(t, c, base+"/api/v1/logs?since="+url.QueryEscape(t0.Add(-time.Hour).Format(time.RFC3339)), "Authorization", ssws)
	evs := r.events(t)
	require.Len(t, evs, 100, "default limit")
	require.Equal(t, ids(0, 100), uuids(evs))
	l := r.links()
	require.Equal(t, base+"/api/v1/logs?since="+url.QueryEscape(t0.Add(-time.Hour).Format(time.RFC3339)), l["self"])
	next, err := url.Parse(l["next"])
	require.NoError(t, err)
	require.Equal(t, t0.Add(-time.Hour).Format(time.RFC3339), next.Query().Get("since"), "next keeps since")
	require.NotEmpty(t, next.Query().Get("after"))

	got, _ := follow(t, c, l["next"])
	require.Equal(t, ids(100, 250), got)
}

func TestPollingNextRepeatsWhenCaughtUp(t *testing.T) {
	clock := newClock()
	o, c, base := sswsOrg(t, clock, 5)

	got, next := follow(t, c, base+"/api/v1/logs?limit=2")
	require.Equal(t, ids(0, 5), got)

	r := get(t, c, next, "Authorization", ssws)
	require.Empty(t, r.events(t))
	require.Equal(t, next, r.links()["self"])
	require.Equal(t, next, r.links()["next"], "with nothing new, next equals self")

	o.AddBacklog(3)
	clock.Add(time.Second)
	o.Inject([]byte(`{"uuid":"injected-1","published":"2026-03-01T11:00:00.000Z","eventType":"user.session.start"}`))
	got, _ = follow(t, c, next)
	require.Equal(t, append(ids(5, 8), "injected-1"), got)
}

func TestPollingAfterWinsOverSince(t *testing.T) {
	clock := newClock()
	_, c, base := sswsOrg(t, clock, 30)

	r := get(t, c, base+"/api/v1/logs?limit=10", "Authorization", ssws)
	require.Equal(t, ids(0, 10), uuids(r.events(t)))
	after, err := url.Parse(r.links()["next"])
	require.NoError(t, err)

	future := url.QueryEscape(t0.Add(time.Hour).Format(time.RFC3339))
	r = get(t, c, base+"/api/v1/logs?limit=10&since="+future+"&after="+after.Query().Get("after"), "Authorization", ssws)
	require.Equal(t, ids(10, 20), uuids(r.events(t)), "after wins over since")

	r = get(t, c, base+"/api/v1/logs?limit=10&since="+future, "Authorization", ssws)
	require.Empty(t, r.events(t), "since alone compares persisted time")
}

func TestPollingSinceComparesPersistedTime(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, EventsPerSecond: 1, Start: t0.Add(-time.Hour)})
	// Event 3 is late: published 2 minutes before its persisted time.
	ev, persisted, ok := o.EventAt(3)
	require.True(t, ok)
	require.True(t, ev.Published.Before(persisted))

	r := get(t, ts.Client(), base+"/api/v1/logs?limit=2&since="+url.QueryEscape(persisted.Format(time.RFC3339Nano)))
	require.Equal(t, ids(3, 5), uuids(r.events(t)))
}

func TestPollingLateEventsNoneSkipped(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, EventsPerSecond: 10, Start: t0.Add(-time.Minute), RateLimit: RateLimitOptions{Disabled: true}})
	c := ts.Client()

	var got []logEvent
	u := base + "/api/v1/logs?limit=7&since=" + url.QueryEscape(t0.Add(-time.Hour).Format(time.RFC3339))
	for round := range 5 {
		if round > 0 {
			clock.Add(time.Duration(round) * 3 * time.Second) // more events arrive
		}
		for {
			r := get(t, c, u)
			evs := r.events(t)
			u = r.links()["next"]
			if len(evs) == 0 {
				break
			}
			got = append(got, evs...)
		}
	}
	want := slices.Collect(o.Truth(t0.Add(-time.Hour)))
	require.Equal(t, len(want), len(got))
	outOfOrder := false
	for i := range want {
		require.Equal(t, want[i].ID, got[i].UUID, "persistence order")
		if i > 0 && got[i].Published.Before(got[i-1].Published) {
			outOfOrder = true
		}
	}
	require.True(t, outOfOrder, "late events are served out of published order")
}

func TestLimit(t *testing.T) {
	clock := newClock()
	_, c, base := sswsOrg(t, clock, 1500)
	tests := []struct {
		give     string
		wantN    int
		wantCode string
	}{
		{give: "", wantN: 100},
		{give: "1", wantN: 1},
		{give: "1000", wantN: 1000},
		{give: "0", wantN: 0},
		{give: "1001", wantCode: "E0000001"},
		{give: "-1", wantCode: "E0000001"},
		{give: "ten", wantCode: "E0000001"},
	}
	for _, tt := range tests {
		t.Run("limit="+tt.give, func(t *testing.T) {
			r := get(t, c, base+"/api/v1/logs?limit="+tt.give, "Authorization", ssws)
			if tt.wantCode != "" {
				require.Equal(t, http.StatusBadRequest, r.StatusCode)
				require.Equal(t, tt.wantCode, r.oktaError(t).ErrorCode)
				return
			}
			require.Len(t, r.events(t), tt.wantN)
			require.NotEmpty(t, r.links()["next"])
		})
	}
}

func TestBadParameters(t *testing.T) {
	clock := newClock()
	_, c, base := sswsOrg(t, clock, 10)
	tests := []struct {
		give     string
		wantCode string
	}{
		{give: "sortOrder=SIDEWAYS", wantCode: "E0000001"},
		{give: "since=yesterday", wantCode: "E0000001"},
		{give: "until=2026-13-01T00:00:00Z", wantCode: "E0000001"},
		{give: "after=garbage", wantCode: "E0000001"},
		{give: "since=" + url.QueryEscape(t0.Add(-181*24*time.Hour).Format(time.RFC3339)), wantCode: "E0000053"},
		{give: "since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", wantCode: "E0000001"},
		{give: "q=" + url.QueryEscape("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), wantCode: "E0000001"},
		{give: "q=" + url.QueryEscape("a b c d e f g h i j k"), wantCode: "E0000001"},
		{give: "filter=" + url.QueryEscape(`published gt "2026-01-01"`), wantCode: "E0000031"},
		{give: "filter=" + url.QueryEscape(`eventType eqq "x"`), wantCode: "E0000053"},
		{give: "filter=" + url.QueryEscape(`)(`), wantCode: "E0000053"},
		{give: "filter=" + url.QueryEscape(`nosuchfield eq "x"`), wantCode: "E0000053"},
		{give: "filter=" + url.QueryEscape(`debugContext.debugData.url co "/api"`), wantCode: "E0000031"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			r := get(t, c, base+"/api/v1/logs?"+tt.give, "Authorization", ssws)
			require.Equal(t, http.StatusBadRequest, r.StatusCode, string(r.body))
			require.Equal(t, "application/json", r.Header.Get("Content-Type"))
			require.Equal(t, tt.wantCode, r.oktaError(t).ErrorCode)
		})
	}
}

func TestSinceFormats(t *testing.T) {
	clock := newClock()
	_, c, base := sswsOrg(t, clock, 3)
	for _, give := range []string{"2026-03-01T11:00:00.000Z", "2026-03-01T11:00:00+00:00", "2026-03-01T11:00:00", "2026-03-01", "2026-03-01T11:00:00+00:00"} {
		// The last one sends the '+' unencoded: it arrives as a space.
		q := "since=" + url.QueryEscape(give)
		if give == "2026-03-01T11:00:00+00:00" {
			q = "since=" + give
		}
		r := get(t, c, base+"/api/v1/logs?"+q, "Authorization", ssws)
		require.Len(t, r.events(t), 3, give)
	}
}

func TestDefaultSinceIsSevenDays(t *testing.T) {
	clock := newClock()
	_, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, EventsPerSecond: 1.0 / 3600, Start: t0.Add(-10 * 24 * time.Hour)})
	r := get(t, ts.Client(), base+"/api/v1/logs?limit=1000")
	evs := r.events(t)
	require.Len(t, evs, 7*24+1, "hourly events of the last 7 days, both ends included")
	require.Equal(t, "ev-72", evs[0].UUID)
}

func TestRetention(t *testing.T) {
	clock := newClock()
	// One event a day for 120 days.
	_, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, EventsPerSecond: 1.0 / 86400, Start: t0.Add(-120 * 24 * time.Hour)})
	c := ts.Client()
	since := url.QueryEscape(t0.Add(-100 * 24 * time.Hour).Format(time.RFC3339))

	r := get(t, c, base+"/api/v1/logs?limit=1000&since="+since)
	evs := r.events(t)
	require.Len(t, evs, 91, "events persisted more than 90 days ago are not returned")
	require.Equal(t, "ev-30", evs[0].UUID)

	until := url.QueryEscape(t0.Format(time.RFC3339))
	r = get(t, c, base+"/api/v1/logs?limit=1000&since="+since+"&until="+until)
	require.Len(t, r.events(t), 90, "bounded: until is exclusive")
}

func TestBoundedAscendingAndDescending(t *testing.T) {
	for _, src := range []Source{fakeSource{}, publishedSource{}} {
		clock := newClock()
		o, ts, base := oneOrg(t, clock, OrgOptions{Source: src, EventsPerSecond: 1, Start: t0.Add(-10 * time.Minute)})
		c := ts.Client()
		since, until := t0.Add(-8*time.Minute), t0.Add(-3*time.Minute)

		// Expected: every visible event with since <= published < until.
		var want []Event
		for ev := range o.Truth(t0.Add(-time.Hour)) {
			if !ev.Published.Before(since) && ev.Published.Before(until) {
				want = append(want, ev)
			}
		}
		sort.SliceStable(want, func(i, j int) bool { return want[i].Published.Before(want[j].Published) })
		require.Greater(t, len(want), 250)

		for _, order := range []string{"ASCENDING", "DESCENDING"} {
			t.Run(order, func(t *testing.T) {
				u := base + "/api/v1/logs?limit=40&sortOrder=" + order +
					"&since=" + url.QueryEscape(since.Format(time.RFC3339)) + "&until=" + url.QueryEscape(until.Format(time.RFC3339))
				var got []logEvent
				pages := 0
				for u != "" {
					r := get(t, c, u)
					got = append(got, r.events(t)...)
					u = r.links()["next"]
					pages++
					require.Less(t, pages, 100)
				}
				require.Equal(t, (len(want)+39)/40, pages, "finite pages, the last without next")
				require.Len(t, got, len(want))
				for i := 1; i < len(got); i++ {
					if order == "ASCENDING" {
						require.False(t, got[i].Published.Before(got[i-1].Published))
					} else {
						require.False(t, got[i].Published.After(got[i-1].Published))
					}
				}
				wantIDs := make([]string, len(want))
				for i, e := range want {
					wantIDs[i] = e.ID
				}
				gotIDs := uuids(got)
				slices.Sort(wantIDs)
				slices.Sort(gotIDs)
				require.Equal(t, wantIDs, gotIDs)
			})
		}
	}
}

func TestDescendingWithoutUntilIsBounded(t *testing.T) {
	clock := newClock()
	_, c, base := sswsOrg(t, clock, 5)
	r := get(t, c, base+"/api/v1/logs?sortOrder=DESCENDING", "Authorization", ssws)
	evs := r.events(t)
	require.Len(t, evs, 5)
	require.Empty(t, r.links()["next"], "the last page of a bounded request has no next")
	// All five share one persisted time; late event 3 comes last.
	require.Equal(t, "ev-3", evs[4].UUID)
}

func TestInjectAmidRateMatchesTruth(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, EventsPerSecond: 2})
	c := ts.Client()
	for i := range 5 {
		clock.Add(1500 * time.Millisecond)
		o.Inject([]byte(`{"uuid":"inj-` + strconv.Itoa(i) + `","eventType":"user.session.start"}`))
		if i == 2 {
			o.AddBacklog(4)
			o.SetRate(5)
		}
	}
	clock.Add(time.Second)
	var got []string
	u := base + "/api/v1/logs?limit=3"
	for {
		r := get(t, c, u)
		evs := r.events(t)
		u = r.links()["next"]
		if len(evs) == 0 {
			break
		}
		got = append(got, uuids(evs)...)
	}
	var want []string
	for ev := range o.Truth(time.Time{}) {
		want = append(want, ev.ID)
	}
	require.Equal(t, want, got)
	require.Contains(t, got, "inj-4")
	require.Equal(t, int64(len(want)), o.Len())
}

func TestQKeywords(t *testing.T) {
	clock := newClock()
	_, c, base := sswsOrg(t, clock, 40)
	r := get(t, c, base+"/api/v1/logs?q="+url.QueryEscape("THREAT.detected failure"), "Authorization", ssws)
	evs := r.events(t)
	require.NotEmpty(t, evs)
	for _, e := range evs {
		require.Equal(t, "security.threat.detected", e.EventType)
	}
	require.Len(t, evs, 10)
}

func TestNotFoundAndMethod(t *testing.T) {
	clock := newClock()
	_, c, base := sswsOrg(t, clock, 1)
	r := get(t, c, base[:len(base)-len("acme")]+"other/api/v1/logs")
	require.Equal(t, http.StatusNotFound, r.StatusCode)
	require.Equal(t, "E0000007", r.oktaError(t).ErrorCode)
	r = do(t, c, http.MethodPost, base+"/api/v1/logs", nil, "Authorization", ssws)
	require.Equal(t, http.StatusMethodNotAllowed, r.StatusCode)
	require.Equal(t, "E0000022", r.oktaError(t).ErrorCode)
}

// TestDoubledOrgPrefix: okta-sdk-golang v2 follows a next link by appending
// its path to the org URL (http://h/o/acme + /o/acme/api/v1/logs?...); the
// simulator serves that as the single-prefix URL, with canonical links.
func TestDoubledOrgPrefix(t *testing.T) {
	clock := newClock()
	_, c, base := sswsOrg(t, clock, 5)
	r := get(t, c, base+"/api/v1/logs?limit=2", "Authorization", ssws)
	next, err := url.Parse(r.links()["next"])
	require.NoError(t, err)

	r = get(t, c, base+next.RequestURI(), "Authorization", ssws)
	require.Equal(t, ids(2, 4), uuids(r.events(t)))
	require.Equal(t, next.String(), r.links()["self"])
	require.True(t, strings.HasPrefix(r.links()["next"], base+"/api/v1/logs?"))

	r = get(t, c, base+"/o/other/api/v1/logs", "Authorization", ssws)
	require.Equal(t, http.StatusNotFound, r.StatusCode)
}
