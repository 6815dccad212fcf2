package api

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// feedKey identifies an update in the feed.
func feedKey(u FactorUpdate) string {
	return fmt.Sprintf("%d/%s/%s/%s", u.UpdatedAt.Unix(), u.Tenant, u.UserID, u.CauseEventID)
}

// readFeed follows the feed from after until it has no more, in pages of
// limit, and returns the keys read and the cursor to resume from.
func readFeed(t *testing.T, e *env, token, query, after string, limit int) ([]string, string) {
	t.Helper()
	var keys []string
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100, "the feed does not end")
		var f FactorFeed
		e.getJSONT(t, fmt.Sprintf("/api/v1/factor-updates?limit=%d&after=%s&%s", limit, url.QueryEscape(after), query), token, &f)
		require.NotEmpty(t, f.Next)
		require.LessOrEqual(t, len(f.Updates), limit)
		require.Equal(t, f.More, len(f.Updates) == limit && f.More, "more only on a full page")
		for _, u := range f.Updates {
			keys = append(keys, feedKey(u))
		}
		after = f.Next
		if !f.More {
			return keys, after
		}
	}
}

// sameSecond builds updates of tenant at second at, one per user.
func sameSecond(tenant string, at time.Time, users ...string) []FactorUpdate {
	var out []FactorUpdate
	for _, u := range users {
		out = append(out, FactorUpdate{Tenant: tenant, UserID: u, UserLogin: u + "@example", UpdatedAt: at,
			Score: 10, Percentile: 50, Level: "low", Signals: 1, CauseEventID: "evt-" + u, CauseCategory: "high_risk"})
	}
	return out
}

func keysOf(us ...[]FactorUpdate) []string {
	var out []string
	for _, list := range us {
		for _, u := range list {
			out = append(out, feedKey(u))
		}
	}
	return out
}

func TestFactorFeedResumesWithoutSkipOrRepeat(t *testing.T) {
	e := newEnv(t)
	// One flush with a burst: many rows in one second, split across pages.
	burst := now0.Add(-10 * time.Minute)
	first := append(fixtureUpdates(), sameSecond("acme", burst, "u3", "u1", "u5", "u2", "u4")...)
	first = append(first, sameSecond("globex", burst, "u1", "u2")...)
	e.writeFactors(first)

	got, cursor := readFeed(t, e, tokenAll, "", "", 3)
	require.ElementsMatch(t, keysOf(first), got)
	require.Len(t, got, len(first), "no row twice")

	// Later flushes: rows of the very same updated_at second, sorting before
	// and after the last row read, and a row scored earlier but written
	// late (a retried write). None is skipped, none repeated.
	late := sameSecond("acme", burst, "u0", "u6")
	earlier := sameSecond("globex", burst.Add(-time.Hour), "u9")
	e.writeFactors(late)
	e.writeFactors(earlier)
	more, cursor2 := readFeed(t, e, tokenAll, "", cursor, 2)
	require.Equal(t, keysOf(late, earlier), more, "in the order written")

	// Nothing new: no updates, the same cursor.
	var f FactorFeed
	e.getJSON("/api/v1/factor-updates?after="+cursor2, tokenAll, &f)
	require.Empty(t, f.Updates)
	require.Equal(t, cursor2, f.Next)
	require.False(t, f.More)

	// One more flush after an empty poll.
	last := sameSecond("globex", now0, "u1")
	e.writeFactors(last)
	more, _ = readFeed(t, e, tokenAll, "", cursor2, 10)
	require.Equal(t, keysOf(last), more)

	// since: the rows written from a time on (all of them here).
	got, _ = readFeed(t, e, tokenAll, "since=2000-01-01T00:00:00Z", "", 100)
	require.Len(t, got, len(first)+len(late)+len(earlier)+len(last))
	got, _ = readFeed(t, e, tokenAll, "since="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), "", 100)
	require.Empty(t, got)
}

func TestFactorFeedIsolation(t *testing.T) {
	e := fixtureEnv(t)
	var acme []string
	for _, u := range fixtureUpdates() {
		if u.Tenant == "acme" {
			acme = append(acme, feedKey(u))
		}
	}
	got, _ := readFeed(t, e, tokenAcme, "", "", 2)
	require.ElementsMatch(t, acme, got)

	// A cursor taken with an all-orgs token still reads only acme.
	var all FactorFeed
	e.getJSON("/api/v1/factor-updates?limit=1", tokenAll, &all)
	require.Len(t, all.Updates, 1)
	got, _ = readFeed(t, e, tokenAcme, "", all.Next, 100)
	require.NotEmpty(t, got)
	for _, k := range got {
		require.Contains(t, acme, k)
	}
	status, _ := e.get("/api/v1/factor-updates?org=globex", tokenAcme)
	require.Equal(t, http.StatusForbidden, status)
	status, _ = e.get("/api/v1/factor-updates?after=xyz", tokenAcme)
	require.Equal(t, http.StatusBadRequest, status)
}
