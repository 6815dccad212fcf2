package okta

// The real Client against the real simulator (internal/oktasim) over real
// sockets: no fakes of either side. Both share one fake clock (Settings.Now
// and Sleep, oktasim.Options.Now), so rate-limit waits, token lifetimes and
// DPoP nonce rotation take no wall time.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
)

const (
	simToken    = "00simApiToken0123456789abcdefghijklmnopQR"
	simClientID = "0oasimclient42"
	simSecret   = "simClientSecret-0123456789abcdefghijklmnopq"
)

// simStream is the org's event source: the scenario generator riskpipe
// demos run on. About 3% of its events are late (published 5-30 s before
// they were persisted). It is immutable and safe to share.
var simStream = sync.OnceValues(func() (*scenario.Stream, error) {
	return scenario.New(scenario.Options{Org: "acme", Seed: 42, Scenario: scenario.ScenarioDemo, Users: 200})
})

// simOrg is one simulated org ("acme") served on a real socket, on a fake
// clock that its clients share.
type simOrg struct {
	clock *fakeClock
	org   *oktasim.Org
	base  string // the org's base URL
	http  *http.Client
}

// startSimOrg serves oo as org "acme". Without a source it gets simStream;
// without tokens or clients it gets the API token simToken.
func startSimOrg(t *testing.T, oo oktasim.OrgOptions) *simOrg {
	t.Helper()
	clock := newFakeClock()
	oo.Name = "acme"
	if oo.Source == nil {
		s, err := simStream()
		require.NoError(t, err)
		oo.Source = s
	}
	if oo.Tokens == nil && oo.Clients == nil {
		oo.Tokens = []string{simToken}
	}
	sim, err := oktasim.New(oktasim.Options{Orgs: []oktasim.OrgOptions{oo}, Now: clock.Now, Seed: 1})
	require.NoError(t, err)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &simOrg{clock: clock, org: sim.Org("acme"), base: sim.BaseURL(srv.URL, "acme"), http: srv.Client()}
}

func sswsAuth() config.Auth {
	return config.Auth{Method: config.AuthAPIToken, Token: config.Secret(simToken)}
}

func secretAuth(secret, dpop string) config.Auth {
	return config.Auth{Method: config.AuthClientSecret, ClientID: simClientID, ClientSecret: config.Secret(secret), DPoP: dpop}
}

// client builds a Client for the org on its clock, with retry backoff in
// milliseconds: retryablehttp's backoff (and the slow fault's delay) are
// the only waits on the wall clock.
func (s *simOrg) client(t *testing.T, auth config.Auth, mutate func(*Settings)) *Client {
	t.Helper()
	st := Settings{Tenant: "acme", BaseURL: s.base, Auth: auth, MaxRetries: 3, Now: s.clock.Now, Sleep: s.clock.Sleep}
	if mutate != nil {
		mutate(&st)
	}
	c, err := New(st)
	require.NoError(t, err)
	c.retry.RetryWaitMin, c.retry.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// requests is the simulator's count of answers by HTTP status (0: reset).
func (s *simOrg) requests() map[int]int64 { return s.org.Stats().Requests }

// truth is the ids a perfect poller started at since has seen by now.
func (s *simOrg) truth(since time.Time) []string {
	var ids []string
	for ev := range s.org.Truth(since) {
		ids = append(ids, ev.ID)
	}
	return ids
}

type simEvent struct {
	UUID      string    `json:"uuid"`
	Published time.Time `json:"published"`
	EventType string    `json:"eventType"`
}

func decodeSimEvents(t *testing.T, raws []json.RawMessage) []simEvent {
	t.Helper()
	out := make([]simEvent, len(raws))
	for i, r := range raws {
		require.NoError(t, json.Unmarshal(r, &out[i]), string(r))
	}
	return out
}

func simIDs(evs []simEvent) []string {
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.UUID
	}
	return ids
}

// fetchOK fetches one valid page.
func fetchOK(t *testing.T, c *Client, u string) *Page {
	t.Helper()
	p, err := c.Fetch(t.Context(), u)
	require.NoError(t, err)
	require.NoError(t, p.Invalid)
	return p
}

func TestSimPollingReturnsEveryEventOnceInPersistenceOrder(t *testing.T) {
	tests := []struct {
		name     string
		backlog  int64
		rate     float64       // events per second, from start on
		startAgo time.Duration // the log starts this long before the clock
		since    func(start time.Time) time.Time
		limit    int
		noLate   bool // events too far apart to be reordered
	}{
		{
			name: "backlog then steady rate, full pages", backlog: 1500, rate: 20, startAgo: time.Minute,
			since: func(start time.Time) time.Time { return start.Add(-time.Hour) }, limit: 1000,
		},
		{
			name: "small pages", backlog: 300, rate: 1, startAgo: time.Minute,
			since: func(start time.Time) time.Time { return start.Add(-time.Hour) }, limit: 7,
		},
		{
			// The backlog is persisted at start: since after it skips it,
			// and events published before since but persisted after it
			// are returned (since is compared with persistence time).
			name: "since mid-stream is persistence time", backlog: 500, rate: 10, startAgo: 2 * time.Minute,
			since: func(start time.Time) time.Time { return start.Add(30 * time.Second) }, limit: 100,
		},
		{
			// Without since Okta starts 7 days back: the first day of an
			// 8-day log is not returned. Events 10 minutes apart are never
			// late relative to each other.
			name: "no since, default limit: Okta's 7 days back", rate: 1.0 / 600, startAgo: 8 * 24 * time.Hour,
			since: func(time.Time) time.Time { return time.Time{} }, noLate: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := newFakeClock().Now().Add(-tt.startAgo)
			s := startSimOrg(t, oktasim.OrgOptions{Backlog: tt.backlog, EventsPerSecond: tt.rate, Start: start})
			c := s.client(t, sswsAuth(), nil)
			since := tt.since(start)
			wantLimit := tt.limit
			if wantLimit == 0 {
				wantLimit = 100
			}

			var got []simEvent
			u := c.PollURL(since, tt.limit)
			pages := 0
			// follow reads pages until one is shorter than the limit (the
			// poller's "caught up"); the limiter's waits move the shared
			// clock, so with a steady rate pages are rarely empty.
			follow := func() *Page {
				for {
					pages++
					require.Less(t, pages, 2000, "never caught up")
					p := fetchOK(t, c, u)
					require.Equal(t, u, p.Self, "Page.Self is the URL fetched")
					require.NotEmpty(t, p.Next, "a polling response always has a next link")
					require.LessOrEqual(t, len(p.Events), wantLimit)
					got = append(got, decodeSimEvents(t, p.Events)...)
					if len(p.Events) == 0 {
						require.Equal(t, u, p.Next, "caught up: next repeats the same position")
					}
					u = p.Next
					if len(p.Events) < wantLimit {
						return p
					}
				}
			}
			for range 3 {
				follow()
				s.clock.Advance(17 * time.Second) // the steady rate adds events
			}
			// Stop the rate: the stream runs dry, the next link repeats.
			s.org.SetRate(0)
			for {
				if p := follow(); len(p.Events) == 0 {
					break
				}
			}
			p := fetchOK(t, c, u)
			pages++
			require.Empty(t, p.Events)
			require.Equal(t, u, p.Next, "next repeats for as long as nothing is new")

			truthSince := since
			if since.IsZero() {
				truthSince = newFakeClock().Now().Add(-7 * 24 * time.Hour) // from the first request
			}
			want := s.truth(truthSince)
			require.Greater(t, len(want), int(tt.backlog)/2)
			if truthSince.After(start) {
				require.Less(t, len(want), len(s.truth(start.Add(-time.Hour))), "since excluded events")
			}
			require.Equal(t, want, simIDs(got), "every event persisted after since, once, in persistence order")
			if tt.rate >= 1 {
				require.NotEmpty(t, s.truth(newFakeClock().Now().Add(time.Second)), "events persisted while polling were read too")
			}

			late := 0
			for i := 1; i < len(got); i++ {
				if got[i].Published.Before(got[i-1].Published) {
					late++
				}
			}
			if !tt.noLate {
				require.Positive(t, late, "the run includes late events (published before an earlier event)")
			}
			if since.After(start) {
				early := 0
				for _, e := range got {
					if e.Published.Before(since) {
						early++
					}
				}
				require.Positive(t, early, "events published before since but persisted after it are returned")
			}
			st := s.org.Stats()
			require.Zero(t, st.Requests[http.StatusTooManyRequests], "the client paced itself")
			require.Equal(t, int64(pages), st.Requests[http.StatusOK])
			require.Equal(t, int64(len(want)), st.EventsServed)
		})
	}
}

// simKeys are the private_key_jwt keys of the auth tests, generated once.
type simKeys struct {
	rsa          *rsa.PrivateKey
	ec256, ec384 *ecdsa.PrivateKey
	other        *ecdsa.PrivateKey // registered nowhere
	env          map[string]string // PEM encodings by variable name
}

var simKeySet = sync.OnceValues(func() (*simKeys, error) {
	var k simKeys
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if k.ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		return nil, err
	}
	if k.other, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	encode := func(typ string, der []byte, err error) string {
		if err != nil {
			return "" // parseTenant reports it
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	rsa8, rsa8Err := x509.MarshalPKCS8PrivateKey(k.rsa)
	ec256, ec256Err := x509.MarshalECPrivateKey(k.ec256)
	ec384, ec384Err := x509.MarshalPKCS8PrivateKey(k.ec384)
	other, otherErr := x509.MarshalECPrivateKey(k.other)
	k.env = map[string]string{
		"RSA_PKCS1":   encode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsa), nil),
		"RSA_PKCS8":   encode("PRIVATE KEY", rsa8, rsa8Err),
		"EC256_SEC1":  encode("EC PRIVATE KEY", ec256, ec256Err),
		"EC384_PKCS8": encode("PRIVATE KEY", ec384, ec384Err),
		"OTHER_EC":    encode("EC PRIVATE KEY", other, otherErr),
		"TOKEN":       simToken,
		"SECRET":      simSecret,
	}
	return &k, nil
})

func mustKeys(t *testing.T) *simKeys {
	t.Helper()
	k, err := simKeySet()
	require.NoError(t, err)
	return k
}

// parseTenant loads a one-tenant riskpipe configuration for base with the
// given auth block (YAML, ${VAR}s from the key set), the way riskpipe reads
// its config file: PEM parsing (PKCS#1, PKCS#8, SEC1) included.
func parseTenant(t *testing.T, base, auth string, share string) config.Tenant {
	t.Helper()
	var b strings.Builder
	b.WriteString("tenants:\n  - name: acme\n    base_url: " + base + "\n    auth:\n")
	for line := range strings.Lines(strings.TrimSpace(auth)) {
		b.WriteString("      " + strings.TrimSpace(line) + "\n")
	}
	if share != "" {
		b.WriteString("    poll:\n      rate_limit_share: " + share + "\n")
	}
	cfg, err := config.Parse([]byte(b.String()), config.MapEnv(mustKeys(t).env))
	require.NoError(t, err, b.String())
	require.Len(t, cfg.Tenants, 1)
	return cfg.Tenants[0]
}

// tenantClient builds the client from a parsed tenant as internal/app does.
func (s *simOrg) tenantClient(t *testing.T, tn config.Tenant, mutate func(*Settings)) *Client {
	t.Helper()
	return s.client(t, tn.Auth, func(st *Settings) {
		st.BaseURL, st.RateLimitShare, st.RequestTimeout = tn.BaseURL, tn.Poll.RateLimitShare, tn.Poll.RequestTimeout
		if mutate != nil {
			mutate(st)
		}
	})
}

func TestSimAuth(t *testing.T) {
	keys := mustKeys(t)
	pkjwtClient := func(key any) []oktasim.Client {
		return []oktasim.Client{{ID: simClientID, PublicKey: key}}
	}
	pkjwtYAML := func(keyVar string) string {
		return "method: private_key_jwt\nclient_id: " + simClientID + "\nprivate_key: ${" + keyVar + "}\nkey_id: kid-1"
	}
	const oddSecret = "p+ss/w:rd%20&=~ü"
	tests := []struct {
		name       string
		tokens     []string
		clients    []oktasim.Client
		auth       string
		wantTokens int64  // access tokens issued
		wantErr    string // "": success; else the AuthError's Code
		wantStatus int
	}{
		{name: "ssws", tokens: []string{simToken}, auth: "method: api_token\ntoken: ${TOKEN}"},
		{name: "client_secret", clients: []oktasim.Client{{ID: simClientID, Secret: simSecret}},
			auth: "method: client_secret\nclient_id: " + simClientID + "\nclient_secret: ${SECRET}", wantTokens: 1},
		{name: "client_secret with reserved characters (RFC 6749 form-encoding)",
			clients: []oktasim.Client{{ID: simClientID, Secret: oddSecret}},
			auth:    "method: client_secret\nclient_id: " + simClientID + "\nclient_secret: '" + oddSecret + "'", wantTokens: 1},
		{name: "private_key_jwt RSA PKCS#1", clients: pkjwtClient(&keys.rsa.PublicKey), auth: pkjwtYAML("RSA_PKCS1"), wantTokens: 1},
		{name: "private_key_jwt RSA PKCS#8", clients: pkjwtClient(&keys.rsa.PublicKey), auth: pkjwtYAML("RSA_PKCS8"), wantTokens: 1},
		{name: "private_key_jwt EC P-256 SEC1", clients: pkjwtClient(&keys.ec256.PublicKey), auth: pkjwtYAML("EC256_SEC1"), wantTokens: 1},
		{name: "private_key_jwt EC P-384 PKCS#8", clients: pkjwtClient(&keys.ec384.PublicKey), auth: pkjwtYAML("EC384_PKCS8"), wantTokens: 1},

		{name: "wrong api token", tokens: []string{"00another-token"}, auth: "method: api_token\ntoken: ${TOKEN}",
			wantErr: "E0000011", wantStatus: 401},
		{name: "wrong client secret", clients: []oktasim.Client{{ID: simClientID, Secret: "the-right-one"}},
			auth:    "method: client_secret\nclient_id: " + simClientID + "\nclient_secret: ${SECRET}",
			wantErr: "invalid_client", wantStatus: 401},
		{name: "wrong private key", clients: pkjwtClient(&keys.ec256.PublicKey), auth: pkjwtYAML("OTHER_EC"),
			wantErr: "invalid_client", wantStatus: 401},
		{name: "unknown client", clients: []oktasim.Client{{ID: "0oaother", PublicKey: &keys.ec256.PublicKey}},
			auth: pkjwtYAML("EC256_SEC1"), wantErr: "invalid_client", wantStatus: 401},
		{name: "scope not granted to the app", clients: pkjwtClient(&keys.ec256.PublicKey),
			auth:    pkjwtYAML("EC256_SEC1") + "\nscopes: [okta.users.read]",
			wantErr: "invalid_scope", wantStatus: 400},
		{name: "token without okta.logs.read",
			clients:    []oktasim.Client{{ID: simClientID, PublicKey: &keys.ec256.PublicKey, Scopes: []string{"okta.users.read"}}},
			auth:       pkjwtYAML("EC256_SEC1") + "\nscopes: [okta.users.read]",
			wantTokens: 1, wantErr: "E0000006", wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSimOrg(t, oktasim.OrgOptions{Backlog: 5, Tokens: tt.tokens, Clients: tt.clients})
			c := s.tenantClient(t, parseTenant(t, s.base, tt.auth, ""), nil)
			p, err := c.Fetch(t.Context(), c.PollURL(time.Time{}, 10))
			require.Equal(t, tt.wantTokens, s.org.Stats().TokensIssued)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NoError(t, p.Invalid)
				require.Equal(t, s.truth(time.Time{}), simIDs(decodeSimEvents(t, p.Events)))
				if tt.wantTokens > 0 {
					tok, ok := c.tokens.cached()
					require.True(t, ok)
					require.False(t, tok.dpop, "the app does not require DPoP: Bearer")
				}
				return
			}
			ae, ok := errors.AsType[*AuthError](err)
			require.True(t, ok, "%T %v", err, err)
			require.Equal(t, tt.wantErr, ae.Code)
			require.Equal(t, tt.wantStatus, ae.Status)
			require.True(t, IsAuth(err))
			require.False(t, IsRetryable(err))
			secrets := []string{simToken, simSecret, "the-right-one", keys.env["OTHER_EC"], keys.env["EC256_SEC1"]}
			if c.tokens != nil {
				secrets = append(secrets, c.tokens.secrets()...) // the client assertion, an access token
			}
			for _, secret := range secrets {
				if secret != "" {
					require.NotContains(t, err.Error(), secret)
				}
			}
			require.Zero(t, s.org.Stats().EventsServed)
		})
	}
}

func TestSimDPoP(t *testing.T) {
	keys := mustKeys(t)
	ecAuth := func(dpop string) config.Auth {
		return config.Auth{Method: config.AuthPrivateKeyJWT, ClientID: simClientID, Signer: keys.ec256, DPoP: dpop}
	}
	tests := []struct {
		name        string
		requireDPoP bool
		auth        config.Auth
		// wantRequests counts the answers of the token endpoint and the
		// resource together, by status, for the first Fetch.
		wantRequests map[int]int64
		wantOutcomes map[string]float64 // token_requests_total
		wantDPoP     bool
		wantErr      string // AuthError code
	}{
		{
			// 400 invalid_dpop_proof turns DPoP on, 400 use_dpop_nonce
			// hands out the nonce, 200 DPoP token; at the resource 401
			// use_dpop_nonce, then 200.
			name: "required, auto: turned on by the token endpoint", requireDPoP: true, auth: ecAuth(config.DPoPAuto),
			wantRequests: map[int]int64{400: 2, 401: 1, 200: 2}, wantDPoP: true,
			wantOutcomes: map[string]float64{tokenDPoPRequired: 1, tokenDPoPNonce: 1, tokenOK: 1},
		},
		{
			name: "required, auto, client_secret", requireDPoP: true, auth: secretAuth(simSecret, config.DPoPAuto),
			wantRequests: map[int]int64{400: 2, 401: 1, 200: 2}, wantDPoP: true,
			wantOutcomes: map[string]float64{tokenDPoPRequired: 1, tokenDPoPNonce: 1, tokenOK: 1},
		},
		{
			name: "required, always", requireDPoP: true, auth: ecAuth(config.DPoPAlways),
			wantRequests: map[int]int64{400: 1, 401: 1, 200: 2}, wantDPoP: true,
			wantOutcomes: map[string]float64{tokenDPoPNonce: 1, tokenOK: 1},
		},
		{
			name: "not required, always: the token is bound anyway", auth: ecAuth(config.DPoPAlways),
			wantRequests: map[int]int64{400: 1, 401: 1, 200: 2}, wantDPoP: true,
			wantOutcomes: map[string]float64{tokenDPoPNonce: 1, tokenOK: 1},
		},
		{
			name: "not required, auto: Bearer", auth: ecAuth(config.DPoPAuto),
			wantRequests: map[int]int64{200: 2},
			wantOutcomes: map[string]float64{tokenOK: 1},
		},
		{
			name: "required, never: AuthError naming DPoP", requireDPoP: true, auth: ecAuth(config.DPoPNever),
			wantRequests: map[int]int64{400: 1}, wantErr: "invalid_dpop_proof",
			wantOutcomes: map[string]float64{tokenAuthError: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSimOrg(t, oktasim.OrgOptions{Backlog: 5, NonceLifetime: 10 * time.Minute, Clients: []oktasim.Client{{
				ID: simClientID, Secret: simSecret, PublicKey: &keys.ec256.PublicKey, RequireDPoP: tt.requireDPoP}}})
			m, err := NewMetrics(prometheus.NewRegistry())
			require.NoError(t, err)
			c := s.client(t, tt.auth, func(st *Settings) { st.Metrics = m })

			p, err := c.Fetch(t.Context(), c.PollURL(time.Time{}, 10))
			require.Equal(t, tt.wantRequests, s.requests())
			for outcome, want := range tt.wantOutcomes {
				require.Equal(t, want, counterValue(t, m.tokenRequests, "acme", outcome), outcome)
			}
			if tt.wantErr != "" {
				ae, ok := errors.AsType[*AuthError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, tt.wantErr, ae.Code)
				require.Contains(t, err.Error(), "DPoP")
				return
			}
			require.NoError(t, err)
			require.NoError(t, p.Invalid)
			require.Len(t, p.Events, 5)
			tok, ok := c.tokens.cached()
			require.True(t, ok)
			require.Equal(t, tt.wantDPoP, tok.dpop, "token_type")
			require.Equal(t, tt.wantDPoP, c.dpop.on())
			if !tt.wantDPoP {
				return
			}

			// The resource's nonce rotates every 10 minutes and the
			// previous one stays valid: 9 minutes on, no handshake.
			want := maps.Clone(tt.wantRequests)
			s.clock.Advance(9 * time.Minute)
			fetchOK(t, c, p.Next)
			want[200]++
			require.Equal(t, want, s.requests())

			// 12 more minutes: two rotations; one use_dpop_nonce 401, the
			// same token.
			s.clock.Advance(12 * time.Minute)
			fetchOK(t, c, p.Next)
			want[401]++
			want[200]++
			require.Equal(t, want, s.requests())
			require.Equal(t, int64(1), s.org.Stats().TokensIssued)

			// Expired tokens: 401 invalid_token, then a new token, whose
			// request meets the token endpoint's rotated nonce (400
			// use_dpop_nonce) first.
			require.NoError(t, s.org.SetFault(oktasim.Fault{Kind: oktasim.FaultExpireTokens}))
			fetchOK(t, c, p.Next)
			want[401]++
			want[400]++
			want[200] += 2
			require.Equal(t, want, s.requests())
			require.Equal(t, int64(2), s.org.Stats().TokensIssued)
			require.Equal(t, tt.wantOutcomes[tokenDPoPNonce]+1, counterValue(t, m.tokenRequests, "acme", tokenDPoPNonce))
		})
	}
}

func TestSimTokenRefresh(t *testing.T) {
	keys := mustKeys(t)
	tests := []struct {
		name     string
		auth     config.Auth
		expire   func(t *testing.T, s *simOrg)
		want401s int64 // 0: refreshed before use
	}{
		{
			name: "expired by the server: refreshed on 401, client_secret", auth: secretAuth(simSecret, config.DPoPAuto),
			expire: func(t *testing.T, s *simOrg) {
				require.NoError(t, s.org.SetFault(oktasim.Fault{Kind: oktasim.FaultExpireTokens}))
			},
			want401s: 1,
		},
		{
			name: "expired by the server: refreshed on 401, private_key_jwt",
			auth: config.Auth{Method: config.AuthPrivateKeyJWT, ClientID: simClientID, Signer: keys.rsa},
			expire: func(t *testing.T, s *simOrg) {
				require.NoError(t, s.org.SetFault(oktasim.Fault{Kind: oktasim.FaultExpireTokens}))
			},
			want401s: 1,
		},
		{
			name: "lifetime over: refreshed before use", auth: config.Auth{Method: config.AuthPrivateKeyJWT, ClientID: simClientID, Signer: keys.rsa},
			expire: func(t *testing.T, s *simOrg) { s.clock.Advance(20 * time.Minute) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSimOrg(t, oktasim.OrgOptions{Backlog: 5, TokenLifetime: 20 * time.Minute, Clients: []oktasim.Client{{
				ID: simClientID, Secret: simSecret, PublicKey: &keys.rsa.PublicKey}}})
			c := s.client(t, tt.auth, nil)
			p := fetchOK(t, c, c.PollURL(time.Time{}, 3))
			require.Len(t, p.Events, 3)
			tt.expire(t, s)
			p = fetchOK(t, c, p.Next)
			require.Len(t, p.Events, 2, "the transparent refresh served the next page")
			st := s.org.Stats()
			require.Equal(t, int64(2), st.TokensIssued)
			require.Equal(t, tt.want401s, st.Requests[http.StatusUnauthorized])
			require.Equal(t, int64(4), st.Requests[http.StatusOK], "two tokens, two pages")
		})
	}
}
