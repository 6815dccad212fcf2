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

// Filters end to end: filter.go's parser and matcher are tested on one
// document; here filter= goes through /api/v1/logs, in polling (pages of
// matches, next links carrying the filter) and bounded requests.

// fakeFilters are filters over fakeSource's layout, with an oracle on the
// event index (see fakeSource.Event).
var fakeFilters = []struct {
	name   string
	filter string
	match  func(i int64) bool
}{
	{"eventType and outcome", `eventType eq "security.threat.detected" and outcome.result eq "FAILURE"`,
		func(i int64) bool { return i%4 == 1 }},
	{"sw, not, grouping", `(eventType sw "user.") and not (actor.id eq "u3")`,
		func(i int64) bool { return (i%4 == 0 || i%4 == 2) && i%7 != 3 }},
	{"array path or number", `target.id eq "t2" or securityContext.asNumber ge 1008`,
		func(i int64) bool { return i%3 == 2 || i%10 >= 8 }},
	{"debugData string boolean, ew", `debugContext.debugData.threatSuspected eq "true" and client.ipAddress ew "5"`,
		func(i int64) bool { return i%4 == 1 && strings.HasSuffix(strconv.FormatInt(i%250, 10), "5") }},
	{"nothing matches", `eventType eq "nope"`, func(int64) bool { return false }},
}

func fakeIndex(t *testing.T, id string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "ev-"), 10, 64)
	require.NoError(t, err, id)
	return n
}

func TestFilterOverHTTPPolling(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, EventsPerSecond: 1, Start: t0.Add(-10 * time.Minute),
		RateLimit: RateLimitOptions{Disabled: true}})
	c := ts.Client()
	for _, tt := range fakeFilters {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for ev := range o.Truth(time.Time{}) {
				if tt.match(fakeIndex(t, ev.ID)) {
					want = append(want, ev.ID)
				}
			}
			var got []string
			u := base + "/api/v1/logs?limit=25&filter=" + url.QueryEscape(tt.filter)
			for pages := 0; ; pages++ {
				require.Less(t, pages, 100)
				r := get(t, c, u)
				evs := r.events(t)
				next, err := url.Parse(r.links()["next"])
				require.NoError(t, err)
				require.Equal(t, tt.filter, next.Query().Get("filter"), "next keeps the filter")
				require.LessOrEqual(t, len(evs), 25)
				got = append(got, uuids(evs)...)
				u = next.String()
				if len(evs) == 0 {
					break
				}
			}
			require.Equal(t, want, got)

			// New matching events come through the repeated next link.
			clock.Add(20 * time.Second)
			more := []string{}
			for ev := range o.Truth(t0) {
				if tt.match(fakeIndex(t, ev.ID)) && !slices.Contains(want, ev.ID) {
					more = append(more, ev.ID)
				}
			}
			r := get(t, c, u)
			require.Equal(t, more, uuids(r.events(t)))
		})
	}
}

func TestFilterOverHTTPBounded(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, EventsPerSecond: 1, Start: t0.Add(-10 * time.Minute),
		RateLimit: RateLimitOptions{Disabled: true}})
	c := ts.Client()
	since, until := t0.Add(-8*time.Minute), t0.Add(-3*time.Minute)
	for _, tt := range fakeFilters {
		for _, order := range []string{"ASCENDING", "DESCENDING"} {
			t.Run(tt.name+"/"+order, func(t *testing.T) {
				// Expected: matches with since <= published < until, by
				// (published, index), reversed for DESCENDING.
				var want []Event
				for ev := range o.Truth(time.Time{}) {
					if tt.match(fakeIndex(t, ev.ID)) && !ev.Published.Before(since) && ev.Published.Before(until) {
						want = append(want, ev)
					}
				}
				sort.SliceStable(want, func(i, j int) bool { return want[i].Published.Before(want[j].Published) })
				wantIDs := make([]string, len(want))
				for i, ev := range want {
					wantIDs[i] = ev.ID
				}
				if order == "DESCENDING" {
					for i, j := 0, len(wantIDs)-1; i < j; i, j = i+1, j-1 {
						wantIDs[i], wantIDs[j] = wantIDs[j], wantIDs[i]
					}
				}

				got := []string{}
				u := base + "/api/v1/logs?limit=10&sortOrder=" + order + "&filter=" + url.QueryEscape(tt.filter) +
					"&since=" + url.QueryEscape(since.Format(time.RFC3339)) + "&until=" + url.QueryEscape(until.Format(time.RFC3339))
				pages := 0
				for u != "" {
					pages++
					require.Less(t, pages, 100)
					r := get(t, c, u)
					require.Equal(t, http.StatusOK, r.StatusCode)
					got = append(got, uuids(r.events(t))...)
					u = r.links()["next"]
				}
				require.Equal(t, wantIDs, got)
				require.Equal(t, max(1, (len(wantIDs)+9)/10), pages, "finite pages; the last has no next")
			})
		}
	}
}
