package api

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/score"
	"github.com/riskpipe/riskpipe/internal/store"
)

// Over many users whose stored rows are of different times (and whose
// stored percentiles are stale, as between two refreshes), every answer
// shows scores as of the request and percentiles consistent with them:
// ties share a percentile, a lower score never has a higher one, and each
// percentile is the share of the org's population with a lower score now.
func TestFactorsAtReadTime(t *testing.T) {
	e := newEnv(t)
	cfg := score.DefaultConfig()
	rng := rand.New(rand.NewPCG(11, 12))
	const perOrg = 300
	levels := []float64{3.92, 18.13, 25.92, 32.97, 39.35, 45.12, 55.07, 63.21, 69.88}
	var updates []FactorUpdate
	seen := map[string][]string{} // org → users seen in the population window
	stored := map[store.UserKey]FactorUpdate{}
	for _, org := range []string{"acme", "globex"} {
		for i := range perOrg {
			id := fmt.Sprintf("00u%s%04d", org, i)
			u := FactorUpdate{Tenant: org, UserID: id, UserLogin: id + "@example.com", Signals: 1,
				CauseCategory: "refresh", Explanation: "x"}
			switch {
			case i%10 == 0: // score 0, seen lately: in the population
				seen[org] = append(seen[org], id)
				u.UpdatedAt = now0.Add(-time.Hour)
			default:
				u.Score = levels[rng.IntN(len(levels))]
				// Groups of users written at the same time share a score
				// now; others are days, weeks apart.
				u.UpdatedAt = now0.Add(-time.Duration(rng.IntN(8)) * 7 * 24 * time.Hour).Add(-time.Duration(i%3) * time.Hour)
				if i%4 == 0 {
					seen[org] = append(seen[org], id)
				}
			}
			u.Percentile = rng.Float64() * 100 // stale, contradicting
			u.Level = "low"
			updates = append(updates, u)
			stored[store.UserKey{Tenant: org, UserID: id}] = u
		}
		// Seen lately without any factor: in the population at 0.
		for i := range 50 {
			seen[org] = append(seen[org], fmt.Sprintf("00u%sseen%02d", org, i))
		}
		// Seen long ago, no factor: not in it.
		old := fmt.Sprintf("00u%sold", org)
		e.insert("org_users", store.Columns("org_users"), 1,
			func(int) []any {
				return []any{org, old, old, now0.AddDate(0, -3, 0), now0.AddDate(0, -2, 0), uint64(1)}
			})
	}
	e.writeFactors(updates)
	for org, ids := range seen {
		e.insert("org_users", store.Columns("org_users"), len(ids),
			func(i int) []any {
				return []any{org, ids[i], ids[i], now0.AddDate(0, -1, 0), now0.Add(-time.Hour), uint64(1)}
			})
	}

	list := func(t *testing.T, query string) []UserSummary {
		var all []UserSummary
		for offset := 0; ; offset += 250 {
			var page UserPage
			e.getJSONT(t, "/api/v1/users?limit=250&history=0&offset="+strconv.Itoa(offset)+"&"+query, tokenAll, &page)
			all = append(all, page.Users...)
			if len(page.Users) < 250 {
				return all
			}
		}
	}
	for _, org := range []string{"acme", "globex"} {
		users := list(t, "org="+org)
		require.Len(t, users, perOrg)
		// The population now: seen within 30 days, or a score above 0.
		pop := map[string]bool{}
		for _, id := range seen[org] {
			pop[id] = true
		}
		for _, u := range users {
			st := stored[store.UserKey{Tenant: org, UserID: u.UserID}]
			require.InDelta(t, cfg.ScoreAt(st.Score, st.UpdatedAt, now0), u.Score, 0.011, "%s: the score as of now", u.UserID)
			require.Equal(t, cfg.Bands.Level(u.Score), u.Level, u.UserID)
			if u.Score > 0 {
				pop[u.UserID] = true
			}
		}
		byScore := map[float64]float64{}
		for i, u := range users {
			lower := 0
			for _, v := range users {
				if v.Score < u.Score && pop[v.UserID] {
					lower++
				}
			}
			lower += len(pop) - countIn(users, pop) // population without a factor: at 0
			want := math.Round(100*float64(lower)/float64(len(pop))*100) / 100
			if u.Score == 0 {
				want = 0
			}
			require.Equal(t, want, u.Percentile, "%s (score %.2f)", u.UserID, u.Score)
			if p, ok := byScore[u.Score]; ok {
				require.Equal(t, p, u.Percentile, "ties share a percentile")
			}
			byScore[u.Score] = u.Percentile
			if i > 0 {
				require.LessOrEqual(t, u.Score, users[i-1].Score, "sorted by the score now")
				require.LessOrEqual(t, u.Percentile, users[i-1].Percentile, "a lower score never has a higher percentile")
			}
		}
		// A user's own page agrees with the list.
		for _, u := range users[:20] {
			var d UserDetail
			e.getJSONT(t, "/api/v1/orgs/"+org+"/users/"+u.UserID+"?events=0", tokenAll, &d)
			require.NotNil(t, d.Current)
			require.Equal(t, u.Score, d.Current.Score, u.UserID)
			require.Equal(t, u.Percentile, d.Current.Percentile, u.UserID)
			require.Equal(t, u.Level, d.Current.Level, u.UserID)
		}
		// A search finds it with the same factor as the list: users across
		// the ranking, found by id.
		for i := 0; i < len(users); i += 15 {
			u := users[i]
			var found UserSearch
			e.getJSONT(t, "/api/v1/users/search?org="+org+"&q="+u.UserID, tokenAll, &found)
			require.NotEmpty(t, found.Users, u.UserID)
			m := found.Users[0]
			require.Equal(t, u.UserID, m.UserID)
			require.NotNil(t, m.Score, u.UserID)
			require.NotNil(t, m.Percentile, u.UserID)
			require.Equal(t, u.Score, *m.Score, "%s: search and list agree on the score", u.UserID)
			require.Equal(t, u.Percentile, *m.Percentile, "%s: search and list agree on the percentile", u.UserID)
			require.Equal(t, u.Level, m.Level, "%s: search and list agree on the level", u.UserID)
		}
		// TopUsers (the demo's summary) shows the list's first users.
		top, err := e.store.Reader().TopUsers(t.Context(), []string{org}, 7, e.api.s.Now(), e.api.s.Score)
		require.NoError(t, err)
		require.Len(t, top[org], 7)
		for i, f := range top[org] {
			u := users[i]
			require.Equal(t, []any{u.UserID, u.Score, u.Percentile, u.Level}, []any{f.UserID, f.Score, f.Percentile, f.Level}, "top user %d", i)
		}
	}

	// Both orgs by percentile: merged in percentile order, ties by org and
	// user; the same users as by score.
	both := list(t, "sort=percentile")
	require.Len(t, both, 2*perOrg)
	for i := 1; i < len(both); i++ {
		require.LessOrEqual(t, both[i].Percentile, both[i-1].Percentile, "row %d", i)
	}
	asc := list(t, "sort=percentile&order=asc")
	require.Len(t, asc, 2*perOrg)
	for i := 1; i < len(asc); i++ {
		require.GreaterOrEqual(t, asc[i].Percentile, asc[i-1].Percentile, "row %d", i)
	}
	status, _ := e.get("/api/v1/users?sort=percentile&offset=1000", tokenAll)
	require.Equal(t, http.StatusOK, status)
}

// countIn is how many of users are in pop.
func countIn(users []UserSummary, pop map[string]bool) int {
	n := 0
	for _, u := range users {
		if pop[u.UserID] {
			n++
		}
	}
	return n
}
