package oktasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBodyFaultsWaitForAnAnswer: body and page faults are spent on the
// next normal answer, not on requests refused before it (auth, 400, 429,
// a failing fault), which have no page to mangle.
func TestBodyFaultsWaitForAnAnswer(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 5, Tokens: []string{"tok"},
		Clients:   []Client{{ID: "c", Secret: "s"}},
		RateLimit: RateLimitOptions{PerMinute: 2, PerPrincipal: 2}})
	c := ts.Client()
	logs := base + "/api/v1/logs?limit=3"
	require.NoError(t, o.SetFault(Fault{Kind: FaultInvalidJSON}))
	require.NoError(t, o.SetFault(Fault{Kind: FaultMissingUUID}))
	require.NoError(t, o.SetFault(Fault{Kind: FaultServerError}))

	require.Equal(t, http.StatusInternalServerError, get(t, c, logs, "Authorization", ssws).StatusCode)
	require.Equal(t, http.StatusUnauthorized, get(t, c, logs, "Authorization", "SSWS wrong").StatusCode)
	require.Equal(t, http.StatusBadRequest, get(t, c, logs+"&sortOrder=UP", "Authorization", ssws).StatusCode)
	require.Equal(t, map[FaultKind]int64{FaultServerError: 1}, o.Stats().Faults)

	r := get(t, c, logs, "Authorization", ssws)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.False(t, json.Valid(r.body), "invalid_json hit the first answer")
	require.NotContains(t, string(r.body), `"uuid"`, "so did missing_uuid")

	// The bucket (2/min: the 400 and the 200) is spent: a 429 does not spend duplicate either.
	require.NoError(t, o.SetFault(Fault{Kind: FaultDuplicate, Events: 2}))
	require.Equal(t, http.StatusTooManyRequests, get(t, c, logs, "Authorization", ssws).StatusCode)
	clock.Add(time.Minute)
	r = get(t, c, logs, "Authorization", ssws)
	require.Equal(t, ids(0, 3), uuids(r.events(t)))
	r = get(t, c, r.links()["next"], "Authorization", ssws)
	require.Equal(t, ids(1, 4), uuids(r.events(t)), "duplicate hit the answer after the 429")

	// At the token endpoint, a refused client does not spend a body fault.
	require.NoError(t, o.SetFault(Fault{Kind: FaultInvalidJSON, Endpoint: EndpointToken}))
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"okta.logs.read"}}
	tokenURL := base + "/oauth2/v1/token"
	require.Equal(t, http.StatusUnauthorized, postForm(t, c, tokenURL, form, "Authorization", "Basic "+basic("c", "wrong")).StatusCode)
	r = postForm(t, c, tokenURL, form, "Authorization", "Basic "+basic("c", "s"))
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.False(t, json.Valid(r.body))
	require.Equal(t, map[FaultKind]int64{FaultServerError: 1, FaultInvalidJSON: 2, FaultMissingUUID: 1, FaultDuplicate: 1}, o.Stats().Faults)
}
