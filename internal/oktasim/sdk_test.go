package oktasim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"slices"
	"testing"
	"time"

	oktasdk "github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/okta/okta-sdk-golang/v2/okta/query"
	"github.com/stretchr/testify/require"
)

// TestOktaSDKv2ReadsTheSimulator: the official okta-sdk-golang v2.20.0,
// without riskpipe, polls the simulator: SSWS and PrivateKey auth, its Link
// parsing (it strips scheme and host, merges the original query and
// prefixes its org URL, doubling /o/acme) and its executor with a
// json.RawMessage target (facts doc §5). The cache is off, or a repeated
// next link would be answered from it.
//
// The simulator runs on the wall clock: the SDK signs client assertions
// with time.Now.
func TestOktaSDKv2ReadsTheSimulator(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	sim, ts := startSim(t, Options{Seed: 1, Orgs: []OrgOptions{{
		Name: "acme", Source: fakeSource{}, Backlog: 7, Tokens: []string{"tok"},
		Clients: []Client{{ID: "0oasdk", PublicKey: &key.PublicKey}},
	}}})
	o, base := sim.Org("acme"), sim.BaseURL(ts.URL, "acme")
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	newClient := func(t *testing.T, auth ...oktasdk.ConfigSetter) *oktasdk.Client {
		t.Helper()
		_, c, err := oktasdk.NewClient(t.Context(), append([]oktasdk.ConfigSetter{
			oktasdk.WithOrgUrl(base),
			oktasdk.WithTestingDisableHttpsCheck(true),
			oktasdk.WithCache(false),
			oktasdk.WithHttpClientPtr(ts.Client()),
			oktasdk.WithRequestTimeout(30),
			oktasdk.WithRateLimitMaxRetries(0),
		}, auth...)...)
		require.NoError(t, err)
		return c
	}

	t.Run("SSWS, GetLogs and Response.Next", func(t *testing.T) {
		c := newClient(t, oktasdk.WithAuthorizationMode("SSWS"), oktasdk.WithToken("tok"))
		logs, resp, err := c.LogEvent.GetLogs(t.Context(), query.NewQueryParams(
			query.WithSince(since), query.WithLimit(3), query.WithSortOrder("ASCENDING")))
		var got []*oktasdk.LogEvent
		for pages := 0; ; pages++ {
			require.NoError(t, err)
			require.Less(t, pages, 10)
			require.True(t, resp.HasNextPage(), "a polling response always has a next link")
			if len(logs) == 0 {
				break
			}
			got = append(got, logs...)
			logs = nil // json would decode into the *LogEvents of got
			resp, err = resp.Next(t.Context(), &logs)
		}
		want := slices.Collect(o.Truth(time.Time{}))
		require.Len(t, got, len(want))
		for i, e := range got {
			require.Equal(t, want[i].ID, e.Uuid)
			require.NotNil(t, e.Published)
			require.True(t, want[i].Published.Equal(*e.Published), "published %s, want %s", e.Published, want[i].Published)
			require.NotEmpty(t, e.EventType)
		}

		// Caught up: the repeated next link brings what is persisted later.
		o.AddBacklog(2)
		resp, err = resp.Next(t.Context(), &logs)
		require.NoError(t, err)
		require.Len(t, logs, 2)
		require.Equal(t, "ev-7", logs[0].Uuid)
		require.True(t, resp.HasNextPage())
	})

	t.Run("PrivateKey, RequestExecutor into json.RawMessage", func(t *testing.T) {
		pk := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		c := newClient(t, oktasdk.WithAuthorizationMode("PrivateKey"), oktasdk.WithClientId("0oasdk"),
			oktasdk.WithScopes([]string{"okta.logs.read"}), oktasdk.WithPrivateKey(string(pk)))
		re := c.CloneRequestExecutor()
		req, err := re.WithAccept("application/json").NewRequest("GET",
			"/api/v1/logs?limit=4&sortOrder=ASCENDING&since="+url.QueryEscape(since), nil)
		require.NoError(t, err)
		var raw []json.RawMessage
		resp, err := re.Do(t.Context(), req, &raw)
		var got []string
		for pages := 0; len(raw) > 0; pages++ {
			require.NoError(t, err)
			require.Less(t, pages, 10)
			for _, r := range raw {
				var e struct {
					UUID string `json:"uuid"`
				}
				require.NoError(t, json.Unmarshal(r, &e))
				got = append(got, e.UUID)
			}
			require.True(t, resp.HasNextPage())
			resp, err = resp.Next(t.Context(), &raw)
		}
		require.NoError(t, err)
		var want []string
		for ev := range o.Truth(time.Time{}) {
			want = append(want, ev.ID)
		}
		require.Equal(t, want, got)
		require.Equal(t, int64(1), o.Stats().TokensIssued, "the SDK's token request (parameters in the query) is accepted")
	})
}
