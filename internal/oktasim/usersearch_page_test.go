package oktasim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	oktasdk "github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/okta/okta-sdk-golang/v2/okta/query"
	"github.com/stretchr/testify/require"
)

func pagedUsers(n int) []User {
	var us []User
	for i := range n {
		login := fmt.Sprintf("joren%02d@example.com", i)
		us = append(us, User{ID: fmt.Sprintf("00upage%02d", i), Profile: Profile{Login: login, Email: login, FirstName: "Joren", LastName: fmt.Sprint(i)}})
	}
	// One that does not match.
	return append(us, User{ID: "00uother", Profile: Profile{Login: "ada@example.com", Email: "ada@example.com", FirstName: "Ada", LastName: "L"}})
}

// The users search is paged with Okta's cursor: limit users a page and a
// Link rel="next" with after=<cursor> while more match; the last page has
// none. q is not paged. okta-sdk-golang v2 follows the links.
func TestUserSearchPages(t *testing.T) {
	_, ts, base := oneOrg(t, newClock(), OrgOptions{Tokens: []string{"tok"}, Users: pagedUsers(5)})
	c := ts.Client()
	search := url.QueryEscape(`profile.firstName eq "joren"`)
	next := base + "/api/v1/users?search=" + search + "&limit=2"
	var ids []string
	for pages := 1; ; pages++ {
		require.LessOrEqual(t, pages, 3)
		r := get(t, c, next, "Authorization", ssws)
		require.Equal(t, 200, r.StatusCode, string(r.body))
		var us []struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal(r.body, &us))
		for _, u := range us {
			ids = append(ids, u.ID)
		}
		links := strings.Join(r.Header.Values("Link"), ", ")
		require.Contains(t, links, `rel="self"`)
		if pages < 3 {
			require.Len(t, us, 2)
			i := strings.Index(links, `>; rel="next"`)
			require.Positive(t, i, links)
			next = links[strings.LastIndex(links[:i], "<")+1 : i]
			require.Contains(t, next, "after="+us[1].ID)
			continue
		}
		require.Len(t, us, 1)
		require.NotContains(t, links, `rel="next"`, "the last page")
		break
	}
	require.Equal(t, []string{"00upage00", "00upage01", "00upage02", "00upage03", "00upage04"}, ids)

	// A cursor naming no user: nothing after it. q is not paged.
	r := get(t, c, base+"/api/v1/users?search="+search+"&after=00unobody", "Authorization", ssws)
	require.Equal(t, "[]", strings.TrimSpace(string(r.body)))
	r = get(t, c, base+"/api/v1/users?q=joren&limit=2", "Authorization", ssws)
	require.NotContains(t, strings.Join(r.Header.Values("Link"), ", "), `rel="next"`)

	// The official SDK follows the pages.
	_, sdk, err := oktasdk.NewClient(t.Context(), oktasdk.WithOrgUrl(base), oktasdk.WithTestingDisableHttpsCheck(true),
		oktasdk.WithCache(false), oktasdk.WithHttpClientPtr(c), oktasdk.WithAuthorizationMode("SSWS"), oktasdk.WithToken("tok"),
		oktasdk.WithRateLimitMaxRetries(0))
	require.NoError(t, err)
	users, resp, err := sdk.User.ListUsers(t.Context(), query.NewQueryParams(query.WithSearch(`profile.firstName eq "joren"`), query.WithLimit(2)))
	var got []string
	for pages := 0; ; pages++ {
		require.NoError(t, err)
		require.Less(t, pages, 5)
		for _, u := range users {
			got = append(got, u.Id)
		}
		if !resp.HasNextPage() {
			break
		}
		users = nil
		resp, err = resp.Next(t.Context(), &users)
	}
	require.Equal(t, ids, got)
}
