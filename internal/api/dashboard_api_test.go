package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/store"
)

func TestSearchUsers(t *testing.T) {
	e := fixtureEnv(t)
	type hit struct{ id, field, match string }
	tests := []struct {
		name, query, token string
		status             int
		want               []hit
	}{
		{name: "login prefix", query: "q=ali", token: tokenAll, want: []hit{{alice.id, "login", "prefix"}}},
		{name: "exact id, case-insensitive", query: "q=00UDAVE", token: tokenAll, want: []hit{{dave.id, "id", "exact"}}},
		{name: "id prefix", query: "q=00ub", token: tokenAll, want: []hit{{bob.id, "id", "prefix"}}},
		{name: "login substring", query: "q=" + url.QueryEscape("ol@acme"), token: tokenAll, want: []hit{{carol.id, "login", "substring"}}},
		{name: "name substring", query: "q=" + url.QueryEscape("lice ex"), token: tokenAll, want: []hit{{alice.id, "name", "substring"}}},
		{name: "name prefix", query: "q=" + url.QueryEscape("Erin E"), token: tokenAll, want: []hit{{erin.id, "name", "prefix"}}},
		{name: "every name, only the token's orgs", query: "q=example", token: tokenAcme,
			want: []hit{{alice.id, "login", "substring"}, {bob.id, "login", "substring"}, {carol.id, "login", "substring"}}},
		{name: "another org's user is not found", query: "q=dave", token: tokenAcme, want: nil},
		{name: "naming another org", query: "q=dave&org=globex", token: tokenAcme, status: http.StatusForbidden},
		{name: "limit", query: "q=example&limit=2", token: tokenAll, want: []hit{{alice.id, "login", "substring"}, {bob.id, "login", "substring"}}},
		{name: "empty query", query: "q=+", token: tokenAll, status: http.StatusBadRequest},
		{name: "role read needed", query: "q=alice", token: tokenAdmin, status: http.StatusForbidden},
		{name: "no token", query: "q=alice", status: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.status != 0 {
				status, body := e.getT(t, "/api/v1/users/search?"+tt.query, tt.token)
				require.Equal(t, tt.status, status, "%s", body)
				return
			}
			var got UserSearch
			e.getJSONT(t, "/api/v1/users/search?"+tt.query, tt.token, &got)
			var hits []hit
			for _, u := range got.Users {
				hits = append(hits, hit{u.UserID, u.Field, u.Match})
			}
			require.Equal(t, tt.want, hits)
		})
	}
	_, body := e.get("/api/v1/users/search?q=nobody-at-all", tokenAll)
	require.Contains(t, string(body), `"users":[]`, "no match is an empty list, not null")
	var got UserSearch
	e.getJSON("/api/v1/users/search?q=alice", tokenAll, &got)
	require.Len(t, got.Users, 1)
	require.Equal(t, "Alice Example", got.Users[0].Name)
	require.NotNil(t, got.Users[0].Score, "the user's factor")
	require.Equal(t, "critical", got.Users[0].Level)
	e.getJSON("/api/v1/users/search?q=example&limit=2", tokenAll, &got)
	require.True(t, got.More)
	// "00u" starts every id: a page of prefix matches is full, and names
	// (slow to read) are not searched.
	e.getJSON("/api/v1/users/search?q=00u&limit=3", tokenAll, &got)
	require.Len(t, got.Users, 3)
	require.True(t, got.More)
	for _, u := range got.Users {
		require.Equal(t, "id", u.Field)
		require.Equal(t, "prefix", u.Match)
		require.Empty(t, u.Name, "%s's name was not read", u.UserID)
	}
}

func TestUserFilters(t *testing.T) {
	e := fixtureEnv(t)
	ids := func(p UserPage) []string {
		var out []string
		for _, u := range p.Users {
			out = append(out, u.UserID)
		}
		return out
	}
	rfc := func(d time.Duration) string { return url.QueryEscape(now0.Add(d).Format(time.RFC3339)) }
	tests := []struct {
		name, query string
		want        []string
		total       uint64
	}{
		{name: "level", query: "level=critical", want: []string{alice.id, dave.id}},
		{name: "two levels", query: "level=high&level=medium&sort=login&order=asc", want: []string{bob.id, carol.id, erin.id}},
		{name: "category", query: "category=leaked_credentials&sort=login&order=asc", want: []string{alice.id, carol.id}},
		{name: "category in a range", query: "category=leaked_credentials&from=" + rfc(-45*time.Hour), want: []string{alice.id}},
		{name: "changed in the range", query: "changed=true&from=" + rfc(-5*time.Hour) + "&sort=login&order=asc",
			want: []string{alice.id, bob.id, dave.id}},
		{name: "changed in a past range", query: "changed=true&from=" + rfc(-55*time.Hour) + "&to=" + rfc(-45*time.Hour), want: []string{carol.id}},
		{name: "everything", query: "level=critical&category=entity_risk&changed=true&from=" + rfc(-3*time.Hour), want: []string{alice.id}},
		{name: "last signal order keeps filters", query: "level=critical&sort=last_signal", want: []string{dave.id, alice.id}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p UserPage
			e.getJSONT(t, "/api/v1/users?"+tt.query, tokenAll, &p)
			require.Equal(t, tt.want, ids(p))
			require.Equal(t, uint64(len(tt.want)), p.Total)
			require.NotNil(t, p.ScoresUpdatedAt)
		})
	}
	// Signals count the range's events.
	var p UserPage
	e.getJSON("/api/v1/users?org=acme&from="+rfc(-25*time.Hour)+"&sort=login&order=asc", tokenAll, &p)
	require.Equal(t, map[string]uint64{"high_risk": 1, "user_risk": 1, "entity_risk": 1}, p.Users[0].Signals, "alice's last 25 h")
	for _, q := range []string{"level=severe", "category=nope", "changed=maybe", "from=" + rfc(0) + "&to=" + rfc(-time.Hour)} {
		status, body := e.get("/api/v1/users?"+q, tokenAll)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", q, body)
	}
}

func TestOrgHealthAndAttacks(t *testing.T) {
	hl := poll.NewHealthLog(0, 0)
	hl.Record(now0.Add(-30*time.Minute), []poll.Status{{Tenant: "acme", State: "backing_off", ConsecutiveFailures: 2, LastError: "okta: 429"}})
	hl.Record(now0.Add(-29*time.Minute), []poll.Status{{Tenant: "acme", State: "caught_up"}})
	e := newEnvWith(t, testTenants(), func(s *Settings) { s.HealthLog = hl.Windows })
	e.write(fixtureBatches()...)
	e.writeFactors(fixtureUpdates())
	e.write(store.Batch{Tenant: "acme",
		Events: []event.Event{
			attackMark("atk-1", "security.attack.start", 20*time.Hour), attackMark("atk-2", "security.attack.end", 18*time.Hour),
			attackMark("atk-3", "security.attack.start", 2*time.Hour),
		},
		DeadLetters: []store.DeadLetter{{Reason: "invalid_json", Payload: []byte("{"), ReceivedAt: now0.Add(-90 * time.Minute)}},
	})
	var att Attacks
	e.getJSON("/api/v1/orgs/acme/attacks?from="+url.QueryEscape(now0.Add(-48*time.Hour).Format(time.RFC3339)), tokenAcme, &att)
	require.Len(t, att.Attacks, 2)
	require.Equal(t, now0.Add(-20*time.Hour), *att.Attacks[0].Start)
	require.Equal(t, now0.Add(-18*time.Hour), *att.Attacks[0].End)
	require.Equal(t, now0.Add(-2*time.Hour), *att.Attacks[1].Start)
	require.Nil(t, att.Attacks[1].End, "ongoing")
	e.getJSON("/api/v1/orgs/globex/attacks", tokenGlobex, &att)
	require.Empty(t, att.Attacks)

	var h HealthHistory
	e.getJSON("/api/v1/orgs/acme/health?step=hour&from="+url.QueryEscape(now0.Add(-48*time.Hour).Format(time.RFC3339)), tokenAcme, &h)
	require.Len(t, h.Buckets, 49)
	var kept, dead uint64
	for _, b := range h.Buckets {
		kept += b.Kept
		dead += b.DeadLetters
		require.Equal(t, b.Kept > 0, b.LagMaxSeconds != nil, "lag where there are events: %+v", b)
		if b.LagMaxSeconds != nil {
			require.Greater(t, *b.LagMaxSeconds, 0.0, "stored after now0 (the real clock)")
		}
	}
	require.Equal(t, uint64(8+3), kept, "acme's fixture events of 48 h (carol's is older) and the three attack marks")
	require.Equal(t, uint64(1), dead)
	require.Equal(t, []poll.HealthWindow{{Start: now0.Add(-30 * time.Minute), Samples: 2, Failing: 1, MaxFailures: 2,
		WorstState: "backing_off", LastError: "okta: 429"}}, h.Polls)
	e.getJSON("/api/v1/orgs/globex/health", tokenGlobex, &h)
	require.NotNil(t, h.Polls)
	require.Empty(t, h.Polls)

	for _, path := range []string{"/api/v1/orgs/globex/health", "/api/v1/orgs/globex/attacks", "/api/v1/orgs/nope/health"} {
		status, _ := e.get(path, tokenAcme)
		require.Equal(t, http.StatusForbidden, status, path)
	}
	status, _ := e.get("/api/v1/orgs/acme/health?step=week", tokenAcme)
	require.Equal(t, http.StatusBadRequest, status)
}

func TestSignInCode(t *testing.T) {
	c := &clock{t: now0}
	codes := NewSignInCodes(c.Now)
	e := newEnvWith(t, testTenants(), func(s *Settings) { s.SignInCodes = codes })
	e.clock = c
	post := func(body string) (int, SignInAnswer) {
		t.Helper()
		resp, err := http.Post(e.srv.URL+"/api/v1/sign-in", "application/json", bytes.NewBufferString(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		var a SignInAnswer
		_ = json.NewDecoder(resp.Body).Decode(&a)
		return resp.StatusCode, a
	}
	code, err := codes.Issue(tokenAcme, 10*time.Minute)
	require.NoError(t, err)
	status, a := post(`{"code":"` + code + `"}`)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, tokenAcme, a.Token)
	status, a = post(`{"code":"` + code + `"}`)
	require.Equal(t, http.StatusUnauthorized, status, "single use")
	require.Empty(t, a.Token)

	code, err = codes.Issue(tokenAcme, 10*time.Minute)
	require.NoError(t, err)
	c.Set(now0.Add(10 * time.Minute))
	status, _ = post(`{"code":"` + code + `"}`)
	require.Equal(t, http.StatusUnauthorized, status, "expired")

	status, _ = post(`{"code":"made-up"}`)
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = post(`not json`)
	require.Equal(t, http.StatusBadRequest, status)
	resp, err := http.Get(e.srv.URL + "/api/v1/sign-in?code=" + code)
	require.NoError(t, err)
	resp.Body.Close()
	require.NotEqual(t, http.StatusOK, resp.StatusCode, "only POST")
	_, err = codes.Issue("", time.Minute)
	require.Error(t, err)
}
