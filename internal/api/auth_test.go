package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

// dataPaths is a request to every data endpoint, for the org given.
func dataPaths(org string) []string {
	return []string{
		"/api/v1/users?org=" + org,
		"/api/v1/activity?org=" + org,
		"/api/v1/factor-updates?org=" + org,
		"/api/v1/orgs/" + org + "/events",
		"/api/v1/orgs/" + org + "/events/evt-" + org + "-000",
		"/api/v1/orgs/" + org + "/users/00udave",
	}
}

func TestEveryEndpointNeedsAToken(t *testing.T) {
	e := fixtureEnv(t)
	paths := append(dataPaths("acme"), "/api/v1/orgs")
	for _, p := range paths {
		for _, give := range []string{"", "wrong-token-0123456789", tokenAcme + "x"} {
			status, body := e.get(p, give)
			require.Equal(t, http.StatusUnauthorized, status, "%s with %q: %s", p, give, body)
		}
	}
	// Not a bearer token.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/orgs", nil)
	req.SetBasicAuth("acme", tokenAcme)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, `Bearer realm="riskpipe"`, resp.Header.Get("WWW-Authenticate"))

	// The document and the dashboard need none.
	for _, p := range []string{"/api/v1/openapi.json", "/", "/static/js/main.js", "/static/vendor/chart.umd.min.js"} {
		status, _ := e.get(p, "")
		require.Equal(t, http.StatusOK, status, p)
	}
	status, body := e.get("/api/v1/nope", tokenAll)
	require.Equal(t, http.StatusNotFound, status)
	require.Contains(t, string(body), "no such endpoint")
}

// TestTokenNeverReadsAnotherOrg: a token for acme asks for globex
// everywhere, by name (403), and through the all-orgs views (no globex
// data in the answer); and the other way round.
func TestTokenNeverReadsAnotherOrg(t *testing.T) {
	e := fixtureEnv(t)
	tests := []struct {
		token, own, other string
	}{
		{tokenAcme, "acme", "globex"},
		{tokenGlobex, "globex", "acme"},
	}
	for _, tt := range tests {
		t.Run(tt.own, func(t *testing.T) {
			for _, p := range dataPaths(tt.other) {
				status, body := e.getT(t, p, tt.token)
				require.Equal(t, http.StatusForbidden, status, "%s: %s", p, body)
				require.NotContains(t, string(body), "00u", p)
			}
			for _, p := range []string{"/api/v1/users?org=" + tt.own + "," + tt.other, "/api/v1/activity?org=" + tt.own + "&org=" + tt.other,
				"/api/v1/users?org=unknown-org", "/api/v1/orgs/unknown-org/events"} {
				status, _ := e.getT(t, p, tt.token)
				require.Equal(t, http.StatusForbidden, status, p)
			}
			// The all-orgs views hold nothing of the other org.
			since := "&since=2000-01-01T00:00:00Z&history=100&limit=500&from=2026-01-01T00:00:00Z&step=day"
			for _, p := range []string{"/api/v1/orgs", "/api/v1/users?" + since, "/api/v1/activity?" + since, "/api/v1/factor-updates?" + since} {
				status, body := e.getT(t, p, tt.token)
				require.Equal(t, http.StatusOK, status, p)
				require.NotContains(t, string(body), `"`+tt.other+`"`, p)
				require.NotContains(t, string(body), "@"+tt.other, p)
				require.Contains(t, string(body), `"`+tt.own+`"`, p)
			}
			// Its own org's data is there, for contrast.
			for _, p := range dataPaths(tt.own)[:4] {
				status, body := e.getT(t, p, tt.token)
				require.Equal(t, http.StatusOK, status, "%s: %s", p, body)
			}
		})
	}
}

func TestErrorAnswersAreJSON(t *testing.T) {
	e := newEnv(t)
	status, body := e.get("/api/v1/orgs/globex/events", tokenAcme)
	require.Equal(t, http.StatusForbidden, status)
	var eb errorBody
	require.NoError(t, json.Unmarshal(body, &eb))
	require.Equal(t, `this token may not read org "globex"`, eb.Error)
	require.False(t, strings.Contains(eb.Error, tokenAcme))
}

func TestClickHouseFailureIs503WithoutDetails(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.store.Conn().Exec(context.Background(), "DROP TABLE `"+e.store.Database()+"`.risk_events"))
	status, body := e.get("/api/v1/orgs/acme/events", tokenAcme)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.JSONEq(t, `{"error":"clickhouse query failed; see the riskpipe log"}`, string(body))
	// The status of the orgs needs no ClickHouse.
	status, _ = e.get("/api/v1/orgs", tokenAcme)
	require.Equal(t, http.StatusOK, status)
}

func TestNewRejectsBadSettings(t *testing.T) {
	e := newEnv(t)
	conn := e.store.Conn()
	tests := []struct {
		name string
		give Settings
	}{
		{"no connection", Settings{Database: "db"}},
		{"bad database", Settings{Conn: conn, Database: "a-b"}},
		{"unknown tenant", Settings{Conn: conn, Database: "db", Tenants: testTenants(),
			Tokens: []config.APIToken{{Name: "x", Token: "0123456789abcdef", Tenants: []string{"nope"}}}}},
		{"empty token", Settings{Conn: conn, Database: "db", Tokens: []config.APIToken{{Name: "x", Tenants: []string{"*"}}}}},
	}
	for _, tt := range tests {
		_, err := New(tt.give)
		require.Error(t, err, tt.name)
	}
}

// TestRoles: a token without the role an endpoint needs gets 403 naming
// the role, whatever else it holds; a token configured without roles
// reads as before (roles default to [read]); every authenticated
// operation documents its role.
func TestRoles(t *testing.T) {
	e := fixtureEnv(t)
	for _, p := range append(dataPaths("acme"), "/api/v1/orgs") {
		status, body := e.get(p, tokenAdmin)
		require.Equal(t, http.StatusForbidden, status, "%s: %s", p, body)
		require.Contains(t, string(body), `lacks the role \"read\"`, p)
		status, body = e.get(p, tokenAcme)
		require.NotEqual(t, http.StatusForbidden, status, "%s: %s", p, body)
	}

	_, body := e.get("/api/v1/openapi.json", "")
	var doc struct {
		Paths map[string]map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if _, secured := op["security"]; !secured {
				continue
			}
			role, _ := op["x-riskpipe-role"].(string)
			require.True(t, slices.Contains(config.Roles, config.Role(role)), "%s %s documents role %q", method, path, role)
		}
	}
}
