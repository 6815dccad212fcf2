package api

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/score"
)

// fixtureEnv is an env holding the whole fixture: events and factors.
func fixtureEnv(t *testing.T) *env {
	e := newEnv(t)
	e.write(fixtureBatches()...)
	e.writeFactors(fixtureUpdates())
	return e
}

func TestTopUsers(t *testing.T) {
	e := fixtureEnv(t)
	latest := latestOf(fixtureUpdates())
	// Scores as of the request (the clock's now0): decayed from updated_at.
	cfg := score.DefaultConfig()
	for i, u := range latest {
		latest[i].Score = cfg.ScoreAt(u.Score, u.UpdatedAt, now0)
		latest[i].Level = cfg.Bands.Level(latest[i].Score)
	}
	byScore := func(orgs ...string) []string {
		var us []FactorUpdate
		for _, u := range latest {
			if slices.Contains(orgs, u.Tenant) {
				us = append(us, u)
			}
		}
		slices.SortStableFunc(us, func(x, y FactorUpdate) int {
			if c := cmp.Compare(y.Score, x.Score); c != 0 {
				return c
			}
			return cmp.Compare(x.Tenant+"/"+x.UserID, y.Tenant+"/"+y.UserID)
		})
		var ids []string
		for _, u := range us {
			ids = append(ids, u.UserID)
		}
		return ids
	}
	tests := []struct {
		name, query, token string
		want               []string
	}{
		{name: "acme by score", query: "org=acme", token: tokenAcme, want: byScore("acme")},
		{name: "all orgs of a two-org token", query: "", token: tokenBoth, want: byScore("acme", "globex")},
		{name: "all orgs of a globex token", query: "", token: tokenGlobex, want: byScore("globex")},
		{name: "by login", query: "org=acme&sort=login&order=asc", token: tokenAll, want: []string{alice.id, bob.id, carol.id}},
		{name: "by last signal", query: "sort=last_signal", token: tokenAll, want: []string{dave.id, alice.id, bob.id, erin.id, carol.id}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Page by 2: the pages add up to the whole ordering.
			var got []string
			for offset := 0; ; offset += 2 {
				var page UserPage
				e.getJSONT(t, "/api/v1/users?limit=2&offset="+strconv.Itoa(offset)+"&"+tt.query, tt.token, &page)
				require.Equal(t, uint64(len(tt.want)), page.Total)
				for _, u := range page.Users {
					got = append(got, u.UserID)
				}
				if len(page.Users) < 2 {
					break
				}
			}
			require.Equal(t, tt.want, got)
		})
	}

	var page UserPage
	e.getJSON("/api/v1/users?org=acme&limit=1&history=3", tokenAcme, &page)
	require.Len(t, page.Users, 1)
	a := page.Users[0]
	require.Equal(t, alice.id, a.UserID)
	require.Equal(t, alice.login, a.UserLogin)
	want := latest[0]
	require.InDelta(t, want.Score, a.Score, 0.011, "the score as of now")
	require.Equal(t, want.Level, a.Level)
	require.Equal(t, uint32(6), a.SignalCount)
	require.Equal(t, map[string]uint64{"leaked_credentials": 1, "threat_insight": 2, "high_risk": 1, "user_risk": 1, "entity_risk": 1}, a.Signals)
	require.Equal(t, fixtureEvent(5, fixtureSignals[5]).Published.Truncate(1e9), *a.LastSignal)
	require.Len(t, a.History, 3, "the newest 3")
	require.True(t, a.History[0].UpdatedAt.Before(a.History[2].UpdatedAt), "oldest first")
	require.Equal(t, latestOf(fixtureUpdates())[0].Score, a.History[2].Score, "history holds the scores as written")

	for _, q := range []string{"sort=bogus", "order=up", "limit=0", "limit=501", "offset=-1", "history=501"} {
		status, _ := e.get("/api/v1/users?"+q, tokenAll)
		require.Equal(t, http.StatusBadRequest, status, q)
	}
}

func TestUserDetail(t *testing.T) {
	e := fixtureEnv(t)
	var d UserDetail
	e.getJSON("/api/v1/orgs/acme/users/"+alice.id, tokenAcme, &d)
	require.Equal(t, alice.login, d.UserLogin)
	require.NotNil(t, d.Current)
	require.Equal(t, "entity_risk x6", d.Current.Explanation)
	require.Equal(t, fixtureEvent(5, fixtureSignals[5]).ID, d.Current.CauseEventID)
	require.Len(t, d.History, 6)
	require.Equal(t, "leaked_credentials", d.History[0].CauseCategory, "oldest first")
	require.Len(t, d.Events, 6)
	require.Equal(t, fixtureEvent(5, fixtureSignals[5]).ID, d.Events[0].EventID, "newest first")
	require.Equal(t, uint64(2), d.Signals["threat_insight"])

	status, _ := e.get("/api/v1/orgs/acme/users/00unobody", tokenAcme)
	require.Equal(t, http.StatusNotFound, status)
	status, _ = e.get("/api/v1/orgs/globex/users/"+alice.id, tokenGlobex)
	require.Equal(t, http.StatusNotFound, status, "alice is acme's")
}
