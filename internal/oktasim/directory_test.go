package oktasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func directoryOrg(t *testing.T, clock *fakeClock) (*Org, *http.Client, string) {
	t.Helper()
	o, ts, base := oneOrg(t, clock, OrgOptions{
		Tokens: []string{"tok"},
		Clients: []Client{
			{ID: "reader", Secret: "s1", Scopes: []string{"okta.users.read", "okta.logs.read"}},
			{ID: "writer", Secret: "s2", Scopes: []string{"okta.users.manage", "okta.groups.manage", "okta.logs.read"}},
		},
		Users: []User{
			{ID: "00ujoren", Profile: Profile{Login: "joren.m@example.com", Email: "joren.m@example.com", SecondEmail: "jm@corp.example", FirstName: "Joren", LastName: "Maes"}, Sessions: 2, OAuthTokens: 3, RememberedFactors: 1},
			{ID: "00uada", Profile: Profile{Login: "ada@example.com", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"}, AdminRoles: []string{"SUPER_ADMIN"}},
			{ID: "00ugone", Status: StatusDeprovisioned, Profile: Profile{Login: "gone@example.com", Email: "gone@example.com", FirstName: "Joan", LastName: "Gone"}},
		},
		Groups: []Group{
			{ID: "00grestricted", Name: "Restricted"},
			{ID: "00gad", Type: GroupApp, Name: "AD Users"},
			{ID: "00geveryone", Type: GroupBuiltIn, Name: "Everyone", Members: []string{"00ujoren", "00uada"}},
		},
	})
	return o, ts.Client(), base
}

func bearer(t *testing.T, c *http.Client, base, id, secret, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "client_id": {id}, "client_secret": {secret}}
	r := do(t, c, "POST", base+"/oauth2/v1/token", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, 200, r.StatusCode, string(r.body))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal(r.body, &tok))
	return "Bearer " + tok.AccessToken
}

func TestDirectoryWritesAndEvents(t *testing.T) {
	clock := newClock()
	o, c, base := directoryOrg(t, clock)

	// Clear sessions: 204, OAuth tokens only with oauthTokens=true, remembered
	// factors kept with forgetDevices=false; one user.session.clear naming the token.
	r := do(t, c, "DELETE", base+"/api/v1/users/00ujoren/sessions?oauthTokens=true&forgetDevices=false", nil, "Authorization", ssws)
	require.Equal(t, http.StatusNoContent, r.StatusCode, string(r.body))
	require.NotEmpty(t, r.Header.Get("X-Okta-Request-Id"))
	require.NotEmpty(t, r.Header.Get("X-Rate-Limit-Remaining"))
	u, _ := o.User("00ujoren")
	require.Equal(t, 0, u.Sessions)
	require.Equal(t, 0, u.OAuthTokens)
	require.Equal(t, 1, u.RememberedFactors)

	// Suspend: 200 {}, then 400 E0000001 on a repeat; unsuspend back.
	r = do(t, c, "POST", base+"/api/v1/users/00ujoren/lifecycle/suspend", nil, "Authorization", ssws)
	require.Equal(t, 200, r.StatusCode, string(r.body))
	require.JSONEq(t, `{}`, string(r.body))
	r = do(t, c, "POST", base+"/api/v1/users/00ujoren/lifecycle/suspend", nil, "Authorization", ssws)
	require.Equal(t, 400, r.StatusCode)
	e := r.oktaError(t)
	require.Equal(t, "E0000001", e.ErrorCode)
	require.Contains(t, e.ErrorCauses[0].ErrorSummary, "not active")
	r = do(t, c, "POST", base+"/api/v1/users/00ujoren/lifecycle/unsuspend", nil, "Authorization", ssws)
	require.Equal(t, 200, r.StatusCode)
	r = do(t, c, "POST", base+"/api/v1/users/00unobody/lifecycle/suspend", nil, "Authorization", ssws)
	require.Equal(t, 404, r.StatusCode)
	require.Equal(t, "E0000007", r.oktaError(t).ErrorCode)

	// Groups: OKTA_GROUP add/remove; APP_GROUP and BUILT_IN refused with 403 E0000006.
	r = do(t, c, "PUT", base+"/api/v1/groups/00grestricted/users/00ujoren", nil, "Authorization", ssws)
	require.Equal(t, http.StatusNoContent, r.StatusCode, string(r.body))
	require.Equal(t, []string{"00ujoren"}, o.Members("00grestricted"))
	for _, g := range []string{"00gad", "00geveryone"} {
		r = do(t, c, "PUT", base+"/api/v1/groups/"+g+"/users/00ujoren", nil, "Authorization", ssws)
		require.Equal(t, 403, r.StatusCode)
		require.Equal(t, "E0000006", r.oktaError(t).ErrorCode)
	}
	r = do(t, c, "DELETE", base+"/api/v1/groups/00grestricted/users/00ujoren", nil, "Authorization", ssws)
	require.Equal(t, http.StatusNoContent, r.StatusCode)
	require.Empty(t, o.Members("00grestricted"))

	// The System Log shows each change once, with the acting token's id.
	r = get(t, c, base+"/api/v1/logs?since=2026-03-01T00:00:00Z", "Authorization", ssws)
	var evs []struct {
		EventType   string `json:"eventType"`
		Transaction struct {
			ID     string            `json:"id"`
			Detail map[string]string `json:"detail"`
		} `json:"transaction"`
		Target []struct{ ID, Type string } `json:"target"`
	}
	require.NoError(t, json.Unmarshal(r.body, &evs), string(r.body))
	var types []string
	for _, ev := range evs {
		types = append(types, ev.EventType)
		require.Equal(t, apiTokenID("tok"), ev.Transaction.Detail["requestApiTokenId"])
		require.Equal(t, "00ujoren", ev.Target[0].ID)
	}
	require.Equal(t, []string{"user.session.clear", "user.lifecycle.suspend", "user.lifecycle.unsuspend",
		"group.user_membership.add", "group.user_membership.remove"}, types)
	require.Equal(t, map[string]int64{
		"DELETE /api/v1/users/{id}/sessions":        1,
		"POST /api/v1/users/{id}/lifecycle/suspend": 3, "POST /api/v1/users/{id}/lifecycle/unsuspend": 1,
		"PUT /api/v1/groups/{gid}/users/{uid}": 3, "DELETE /api/v1/groups/{gid}/users/{uid}": 1,
	}, o.WriteCalls())
}

func TestDirectoryScopes(t *testing.T) {
	clock := newClock()
	_, c, base := directoryOrg(t, clock)
	reader := bearer(t, c, base, "reader", "s1", "okta.users.read")
	r := do(t, c, "POST", base+"/api/v1/users/00ujoren/lifecycle/suspend", nil, "Authorization", reader)
	require.Equal(t, 403, r.StatusCode)
	require.Equal(t, "E0000006", r.oktaError(t).ErrorCode)
	require.Contains(t, r.Header.Get("WWW-Authenticate"), `scope="okta.users.manage"`)
	r = get(t, c, base+"/api/v1/users/00ujoren", "Authorization", reader)
	require.Equal(t, 200, r.StatusCode)

	// okta.users.manage includes reading users; groups need okta.groups.*.
	writer := bearer(t, c, base, "writer", "s2", "okta.users.manage okta.groups.manage")
	r = get(t, c, base+"/api/v1/users/joren.m@example.com", "Authorization", writer)
	require.Equal(t, 200, r.StatusCode)
	r = get(t, c, base+"/api/v1/groups/00gad", "Authorization", writer)
	require.Equal(t, 200, r.StatusCode)
	require.Contains(t, string(r.body), `"APP_GROUP"`)
	r = get(t, c, base+"/api/v1/users/00uada/roles", "Authorization", writer)
	require.Equal(t, 403, r.StatusCode, "roles need okta.roles.read")
	r = get(t, c, base+"/api/v1/users/00uada/roles", "Authorization", ssws)
	require.Equal(t, 200, r.StatusCode)
	require.Contains(t, string(r.body), `"type":"SUPER_ADMIN"`)
	r = do(t, c, "DELETE", base+"/api/v1/users/00ujoren/sessions", nil, "Authorization", "SSWS wrong")
	require.Equal(t, 401, r.StatusCode)
	require.Equal(t, "E0000011", r.oktaError(t).ErrorCode)
}

func TestUsersSearch(t *testing.T) {
	clock := newClock()
	_, c, base := directoryOrg(t, clock)
	ids := func(query string) []string {
		t.Helper()
		r := get(t, c, base+"/api/v1/users?"+query, "Authorization", ssws)
		require.Equal(t, 200, r.StatusCode, string(r.body))
		var us []struct{ ID string }
		require.NoError(t, json.Unmarshal(r.body, &us))
		out := []string{}
		for _, u := range us {
			out = append(out, u.ID)
		}
		return out
	}
	enc := func(k, v string) string { return url.Values{k: {v}}.Encode() }
	require.Equal(t, []string{"00ujoren"}, ids(enc("search", `profile.login eq "JOREN.M@example.com"`)), "search values are case-insensitive")
	require.Equal(t, []string{}, ids(enc("filter", `profile.login eq "JOREN.M@example.com"`)), "filter values are case-sensitive")
	require.Equal(t, []string{"00ujoren"}, ids(enc("filter", `profile.login eq "joren.m@example.com"`)))
	require.Equal(t, []string{"00ujoren"}, ids(enc("search", `profile.secondEmail eq "jm@corp.example"`)))
	require.Equal(t, []string{"00ujoren", "00ugone"}, ids(enc("search", `profile.firstName sw "jo"`)), "search includes DEPROVISIONED")
	require.Equal(t, []string{"00ujoren"}, ids(enc("q", "jo")), "q omits DEPROVISIONED")
	require.Equal(t, []string{"00ujoren", "00uada"}, ids(enc("search", `profile.email co "example.com" and status eq "ACTIVE"`)))
	for _, bad := range []string{enc("search", `profile.login ne "x"`), enc("search", `profile.city co "x"`), enc("filter", `profile.login sw "j"`), enc("search", `profile.login eq`)} {
		r := get(t, c, base+"/api/v1/users?"+bad, "Authorization", ssws)
		require.Equal(t, 400, r.StatusCode, bad)
		require.Contains(t, []string{"E0000031", "E0000053"}, r.oktaError(t).ErrorCode)
	}
}

func TestManagementFaults(t *testing.T) {
	clock := newClock()
	o, c, base := directoryOrg(t, clock)
	require.NoError(t, o.SetFault(Fault{Kind: FaultRateLimited, Endpoint: EndpointManagement}))
	r := do(t, c, "POST", base+"/api/v1/users/00ujoren/lifecycle/suspend", nil, "Authorization", ssws)
	require.Equal(t, 429, r.StatusCode)
	require.Equal(t, "E0000047", r.oktaError(t).ErrorCode)
	require.Equal(t, "0", r.Header.Get("X-Rate-Limit-Remaining"))
	require.NoError(t, o.SetFault(Fault{Kind: FaultServerError, Endpoint: EndpointManagement}))
	r = do(t, c, "POST", base+"/api/v1/users/00ujoren/lifecycle/suspend", nil, "Authorization", ssws)
	require.Equal(t, 500, r.StatusCode)
	require.Empty(t, o.WriteCalls(), "refused before reaching the directory")
	u, _ := o.User("00ujoren")
	require.Equal(t, StatusActive, u.Status)
}
