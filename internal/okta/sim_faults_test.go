package okta

// Rate limits and faults: the real Client against the real simulator (see
// sim_test.go for the setup).

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	oktasdk "github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
)

func TestSimLimiterAdaptsToHeaders(t *testing.T) {
	tests := []struct {
		name      string
		limits    oktasim.RateLimitOptions
		auth      config.Auth
		share     float64
		wantLimit int // X-Rate-Limit-Limit: the bucket with fewer requests left
	}{
		{name: "default limits: the token's half of 120/min", auth: sswsAuth(), share: 0.5, wantLimit: 60},
		{name: "OAuth client, share 0.2 of 25/min", limits: oktasim.RateLimitOptions{PerMinute: 50},
			auth: secretAuth(simSecret, config.DPoPAuto), share: 0.2, wantLimit: 25},
		{name: "share 1 of a 600/min principal", limits: oktasim.RateLimitOptions{PerMinute: 1200, PerPrincipal: 600},
			auth: sswsAuth(), share: 1, wantLimit: 600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSimOrg(t, oktasim.OrgOptions{Backlog: 5, RateLimit: tt.limits, Tokens: []string{simToken},
				Clients: []oktasim.Client{{ID: simClientID, Secret: simSecret}}})
			c := s.client(t, tt.auth, func(st *Settings) { st.RateLimitShare = tt.share })
			require.Equal(t, initialRate, c.limiter.lim.Limit())

			u := c.PollURL(time.Time{}, 10)
			for range 2 {
				u = fetchOK(t, c, u).Next
			}
			require.Equal(t, tt.wantLimit, c.RateLimit().Limit)
			require.Equal(t, tt.wantLimit-2, c.RateLimit().Remaining)
			wantRate := rate.Limit(tt.share * float64(tt.wantLimit) / 60)
			require.Equal(t, wantRate, c.limiter.lim.Limit(), "share × X-Rate-Limit-Limit per minute")

			// The third request waits one interval of that rate (on the
			// shared fake clock).
			before := s.clock.Now()
			fetchOK(t, c, u)
			require.InDelta(t, float64(time.Second)/float64(wantRate), float64(s.clock.Now().Sub(before)), float64(time.Millisecond))
		})
	}
}

func TestSimPacedClientNeverGets429(t *testing.T) {
	const requests = 200
	tests := []struct {
		name  string
		share string // rate_limit_share in the tenant's config; "" = default
	}{
		{name: "rate_limit_share 0.5", share: "0.5"},
		{name: "default share"},
		{name: "rate_limit_share 1: the whole token share", share: "1"},
		{name: "rate_limit_share 0.05", share: "0.05"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startSimOrg(t, oktasim.OrgOptions{Backlog: 50}) // default limits: 120/min, 60 per token
			tn := parseTenant(t, s.base, "method: api_token\ntoken: ${TOKEN}", tt.share)
			c := s.tenantClient(t, tn, nil)
			share := c.limiter.share
			if tt.share == "" {
				require.Equal(t, config.Default().Poll.RateLimitShare, share)
			}

			start := s.clock.Now()
			u := c.PollURL(time.Time{}, 10)
			for range requests {
				u = fetchOK(t, c, u).Next
			}
			st := s.org.Stats()
			require.Zero(t, st.Requests[http.StatusTooManyRequests])
			require.Equal(t, int64(requests), st.Requests[http.StatusOK])
			require.Equal(t, int64(50), st.EventsServed)
			// Paced on the simulator's clock: at most share × 60 a minute.
			perMinute := share * 60
			require.GreaterOrEqual(t, s.clock.Now().Sub(start), time.Duration(float64(requests-1)/perMinute*float64(time.Minute)))
		})
	}

	t.Run("control: an unpaced client gets 429", func(t *testing.T) {
		s := startSimOrg(t, oktasim.OrgOptions{Backlog: 1})
		var codes []int
		for range 61 {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.base+"/api/v1/logs", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "SSWS "+simToken)
			resp, err := s.http.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
		}
		require.Equal(t, http.StatusTooManyRequests, codes[60])
		require.Equal(t, int64(1), s.org.Stats().Requests[http.StatusTooManyRequests])
	})
}

func TestSimRateLimitedErrors(t *testing.T) {
	tests := []struct {
		name            string
		fault           oktasim.Fault
		auth            config.Auth
		wantWait        time.Duration // Until - the time of the request
		wantConcurrency bool
		wantLimit       int
	}{
		{name: "429 with headers: until X-Rate-Limit-Reset", fault: oktasim.Fault{Kind: oktasim.FaultRateLimited, ResetIn: 30 * time.Second},
			wantWait: 30 * time.Second, wantLimit: 120},
		{name: "429 without headers: the default wait", fault: oktasim.Fault{Kind: oktasim.FaultRateLimitedNoHeaders},
			wantWait: defaultRateLimitWait},
		{name: "concurrency 429", fault: oktasim.Fault{Kind: oktasim.FaultConcurrency},
			wantWait: time.Second, wantConcurrency: true},
		{name: "429 at the token endpoint", auth: secretAuth(simSecret, config.DPoPAuto),
			fault:    oktasim.Fault{Kind: oktasim.FaultRateLimited, ResetIn: 45 * time.Second, Endpoint: oktasim.EndpointToken},
			wantWait: 45 * time.Second, wantLimit: 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSimOrg(t, oktasim.OrgOptions{Backlog: 5, Tokens: []string{simToken},
				Clients: []oktasim.Client{{ID: simClientID, Secret: simSecret}}})
			auth := tt.auth
			if auth.Method == "" {
				auth = sswsAuth()
			}
			c := s.client(t, auth, nil)
			require.NoError(t, s.org.SetFault(tt.fault))

			// A new client's first request does not wait, so the 429 is
			// answered at sent.
			sent := s.clock.Now()
			u := c.PollURL(time.Time{}, 10)
			_, err := c.Fetch(t.Context(), u)
			rl, ok := IsRateLimited(err)
			require.True(t, ok, "%T %v", err, err)
			require.Equal(t, sent.Add(tt.wantWait), rl.Until)
			require.Equal(t, tt.wantConcurrency, rl.Concurrency)
			require.Equal(t, tt.wantLimit, rl.Limit)
			require.Zero(t, rl.Remaining)
			require.False(t, IsRetryable(err))
			require.False(t, IsAuth(err))
			require.Equal(t, int64(1), s.requests()[http.StatusTooManyRequests], "429 is not retried")

			if tt.fault.Endpoint == oktasim.EndpointToken {
				// Until Until, the token endpoint is not asked again.
				_, err = c.Fetch(t.Context(), u)
				_, ok = IsRateLimited(err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, int64(1), s.requests()[http.StatusTooManyRequests])
				s.clock.Advance(tt.wantWait)
			}
			// The next request is not sent before Until, even though the
			// caller did not wait.
			p := fetchOK(t, c, u)
			require.Len(t, p.Events, 5)
			require.False(t, s.clock.Now().Before(rl.Until), "now %s, until %s", s.clock.Now(), rl.Until)
		})
	}
}

func TestSimRetriedFaults(t *testing.T) {
	const maxRetries = 3 // attempts: 4
	type check func(t *testing.T, err error)
	retryable := func(status int, more func(t *testing.T, re *RetryableError)) check {
		return func(t *testing.T, err error) {
			re, ok := errors.AsType[*RetryableError](err)
			require.True(t, ok, "%T %v", err, err)
			require.Equal(t, status, re.Status)
			require.True(t, IsRetryable(err))
			if more != nil {
				more(t, re)
			}
		}
	}
	oktaCode := func(code, summary string) func(t *testing.T, re *RetryableError) {
		return func(t *testing.T, re *RetryableError) {
			oe, ok := errors.AsType[*oktasdk.Error](re)
			require.True(t, ok, "%T %v", re.Err, re.Err)
			require.Equal(t, code, oe.ErrorCode)
			require.Contains(t, oe.ErrorSummary, summary)
		}
	}
	timedOut := func(t *testing.T, re *RetryableError) {
		ne, ok := errors.AsType[net.Error](re)
		require.True(t, ok, "%T %v", re.Err, re.Err)
		require.True(t, ne.Timeout())
	}
	secret := secretAuth(simSecret, config.DPoPAuto)
	tests := []struct {
		name    string
		fault   oktasim.Fault
		auth    config.Auth
		timeout time.Duration
		wantErr check // nil: Fetch succeeds after retries
		// wantHits is how often the fault struck (at least, for kinds Go's
		// transport may itself retry or that run on in the background).
		wantHits  int64
		wantExact bool
	}{
		{name: "server_error, Count = MaxRetries: retried, succeeds", fault: oktasim.Fault{Kind: oktasim.FaultServerError, Count: maxRetries},
			wantHits: maxRetries, wantExact: true},
		{name: "server_error beyond MaxRetries: RetryableError", fault: oktasim.Fault{Kind: oktasim.FaultServerError, Count: maxRetries + 1},
			wantErr: retryable(500, oktaCode("E0000009", "Internal Server Error")), wantHits: maxRetries + 1, wantExact: true},
		{name: "timeout E0000009: retried, succeeds", fault: oktasim.Fault{Kind: oktasim.FaultTimeout, Count: maxRetries},
			wantHits: maxRetries, wantExact: true},
		{name: "timeout E0000009 beyond MaxRetries", fault: oktasim.Fault{Kind: oktasim.FaultTimeout, Count: maxRetries + 1},
			wantErr: retryable(500, oktaCode("E0000009", "took too long")), wantHits: maxRetries + 1, wantExact: true},
		{name: "unavailable 503: retried, succeeds", fault: oktasim.Fault{Kind: oktasim.FaultUnavailable, Count: maxRetries},
			wantHits: maxRetries, wantExact: true},
		{name: "unavailable 503 beyond MaxRetries", fault: oktasim.Fault{Kind: oktasim.FaultUnavailable, Count: maxRetries + 1},
			wantErr: retryable(503, nil), wantHits: maxRetries + 1, wantExact: true},
		{name: "truncated body: retried, succeeds", fault: oktasim.Fault{Kind: oktasim.FaultTruncated, Count: maxRetries},
			wantHits: maxRetries, wantExact: true},
		{name: "truncated body every time: RetryableError", fault: oktasim.Fault{Kind: oktasim.FaultTruncated, Count: maxRetries + 1},
			wantErr: retryable(200, nil), wantHits: maxRetries + 1, wantExact: true},
		{name: "connection reset: retried, succeeds", fault: oktasim.Fault{Kind: oktasim.FaultReset, Count: 2}, wantHits: 2, wantExact: true},
		{name: "connection reset every time: RetryableError", fault: oktasim.Fault{Kind: oktasim.FaultReset, Probability: 1},
			wantErr: retryable(0, nil), wantHits: maxRetries + 1},
		{name: "slow beyond the request timeout: retried, succeeds", timeout: 200 * time.Millisecond,
			fault: oktasim.Fault{Kind: oktasim.FaultSlow, Delay: time.Hour, Count: 2}, wantHits: 2, wantExact: true},
		{name: "slow every time: RetryableError (timeout)", timeout: 200 * time.Millisecond,
			fault:   oktasim.Fault{Kind: oktasim.FaultSlow, Delay: time.Hour, Probability: 1},
			wantErr: retryable(0, timedOut), wantHits: maxRetries + 1},
		{name: "token endpoint 500: retried, succeeds", auth: secret,
			fault: oktasim.Fault{Kind: oktasim.FaultServerError, Count: maxRetries, Endpoint: oktasim.EndpointToken}, wantHits: maxRetries, wantExact: true},
		{name: "token endpoint 500 beyond MaxRetries", auth: secret,
			fault:   oktasim.Fault{Kind: oktasim.FaultServerError, Count: maxRetries + 1, Endpoint: oktasim.EndpointToken},
			wantErr: retryable(500, oktaCode("E0000009", "Internal Server Error")), wantHits: maxRetries + 1, wantExact: true},
		{name: "token endpoint answer cut short: retried, succeeds", auth: secret,
			fault: oktasim.Fault{Kind: oktasim.FaultTruncated, Count: 2, Endpoint: oktasim.EndpointToken}, wantHits: 2, wantExact: true},
		{name: "token endpoint answer not JSON: retried, succeeds", auth: secret,
			fault: oktasim.Fault{Kind: oktasim.FaultInvalidJSON, Count: 2, Endpoint: oktasim.EndpointToken}, wantHits: 2, wantExact: true},
		{name: "unauthorized (revoked token): AuthError, not retried", fault: oktasim.Fault{Kind: oktasim.FaultUnauthorized},
			wantErr: func(t *testing.T, err error) {
				ae, ok := errors.AsType[*AuthError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, AuthError{Status: 401, Code: "E0000011", Summary: "Invalid token provided"}, *ae)
				require.False(t, IsRetryable(err))
			}, wantHits: 1, wantExact: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startSimOrg(t, oktasim.OrgOptions{Backlog: 25, Tokens: []string{simToken},
				Clients: []oktasim.Client{{ID: simClientID, Secret: simSecret}}})
			auth := tt.auth
			if auth.Method == "" {
				auth = sswsAuth()
			}
			c := s.client(t, auth, func(st *Settings) { st.MaxRetries, st.RequestTimeout = maxRetries, tt.timeout })
			want := s.truth(time.Time{})
			require.NoError(t, s.org.SetFault(tt.fault))

			u := c.PollURL(time.Time{}, 10)
			p, err := c.Fetch(t.Context(), u)
			hits := s.org.Stats().Faults[tt.fault.Kind]
			if tt.wantExact {
				require.Equal(t, tt.wantHits, hits)
			} else {
				require.GreaterOrEqual(t, hits, tt.wantHits)
			}
			if tt.wantErr != nil {
				require.Nil(t, p)
				tt.wantErr(t, err)
				s.org.ClearFaults()
				p = fetchOK(t, c, u) // the same URL works once the fault is gone
			} else {
				require.NoError(t, err)
				require.NoError(t, p.Invalid)
			}
			require.Equal(t, want[:10], simIDs(decodeSimEvents(t, p.Events)))
			require.Equal(t, want[10:20], simIDs(decodeSimEvents(t, fetchOK(t, c, p.Next).Events)))
		})
	}
}

func TestSimPageFaults(t *testing.T) {
	t.Run("invalid_json: Page.Invalid with Body, Next and Self kept", func(t *testing.T) {
		s := startSimOrg(t, oktasim.OrgOptions{Backlog: 30})
		c := s.client(t, sswsAuth(), nil)
		want := s.truth(time.Time{})
		p := fetchOK(t, c, c.PollURL(time.Time{}, 10))
		require.Equal(t, want[:10], simIDs(decodeSimEvents(t, p.Events)))

		require.NoError(t, s.org.SetFault(oktasim.Fault{Kind: oktasim.FaultInvalidJSON}))
		u := p.Next
		p, err := c.Fetch(t.Context(), u)
		require.NoError(t, err, "a complete 2xx body that is not a JSON array is a page, not an error")
		require.Error(t, p.Invalid)
		require.Nil(t, p.Events)
		require.True(t, bytes.HasPrefix(p.Body, []byte(`[{`)), "%.40s", p.Body)
		require.Contains(t, string(p.Body), want[10], "the body is kept for the dead letter")
		require.False(t, json.Valid(p.Body))
		require.Equal(t, u, p.Self)
		require.NotEmpty(t, p.Next)
		require.Equal(t, int64(2), s.org.Stats().Requests[http.StatusOK])

		// Following Next moves past the bad page.
		p = fetchOK(t, c, p.Next)
		require.Equal(t, want[20:30], simIDs(decodeSimEvents(t, p.Events)))
		require.Equal(t, int64(3), s.org.Stats().Requests[http.StatusOK], "the invalid page was not retried")
	})

	t.Run("duplicate: repeated events are visible", func(t *testing.T) {
		s := startSimOrg(t, oktasim.OrgOptions{Backlog: 30})
		c := s.client(t, sswsAuth(), nil)
		want := s.truth(time.Time{})
		require.NoError(t, s.org.SetFault(oktasim.Fault{Kind: oktasim.FaultDuplicate, Events: 3}))
		var got []string
		u := c.PollURL(time.Time{}, 10)
		for {
			p := fetchOK(t, c, u)
			if len(p.Events) == 0 {
				break
			}
			got = append(got, simIDs(decodeSimEvents(t, p.Events))...)
			u = p.Next
		}
		require.Len(t, got, len(want)+3)
		require.Equal(t, want[7:10], got[10:13], "the next page starts with the last 3 of the first")
		var dedup []string
		for _, id := range got {
			if !slices.Contains(dedup, id) {
				dedup = append(dedup, id)
			}
		}
		require.Equal(t, want, dedup, "dedup by uuid restores the log")
	})

	t.Run("missing_uuid: events without uuid", func(t *testing.T) {
		s := startSimOrg(t, oktasim.OrgOptions{Backlog: 20})
		c := s.client(t, sswsAuth(), nil)
		want := s.truth(time.Time{})
		require.NoError(t, s.org.SetFault(oktasim.Fault{Kind: oktasim.FaultMissingUUID}))
		p := fetchOK(t, c, c.PollURL(time.Time{}, 10))
		require.Len(t, p.Events, 10)
		for _, raw := range p.Events {
			var m map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(raw, &m))
			require.NotContains(t, m, "uuid")
			require.Contains(t, m, "eventType")
			require.Contains(t, m, "published")
		}
		p = fetchOK(t, c, p.Next)
		require.Equal(t, want[10:20], simIDs(decodeSimEvents(t, p.Events)), "the fault hit one page")
	})
}

// TestSimRetriesWithDPoP: a retried attempt carries a fresh DPoP proof (the
// simulator refuses a proof's jti twice, like Okta), and a fault meant for
// the page body hits the page, not the nonce handshake before it.
func TestSimRetriesWithDPoP(t *testing.T) {
	for _, kind := range []oktasim.FaultKind{oktasim.FaultTruncated, oktasim.FaultReset} {
		t.Run(string(kind), func(t *testing.T) {
			s := startSimOrg(t, oktasim.OrgOptions{Backlog: 5, Clients: []oktasim.Client{{ID: simClientID, Secret: simSecret, RequireDPoP: true}}})
			c := s.client(t, secretAuth(simSecret, config.DPoPAuto), nil)
			// Get the token and the resource nonce first.
			u := c.PollURL(time.Time{}, 10)
			fetchOK(t, c, u)
			before := s.requests()

			require.NoError(t, s.org.SetFault(oktasim.Fault{Kind: kind, Count: 2}))
			p := fetchOK(t, c, u)
			require.Len(t, p.Events, 5)
			require.Equal(t, int64(2), s.org.Stats().Faults[kind])
			after := s.requests()
			require.Equal(t, before[http.StatusUnauthorized], after[http.StatusUnauthorized], "no proof was refused")
			require.Equal(t, int64(1), s.org.Stats().TokensIssued)
		})
	}

	t.Run("body fault armed before the nonce handshake", func(t *testing.T) {
		s := startSimOrg(t, oktasim.OrgOptions{Backlog: 5, Clients: []oktasim.Client{{ID: simClientID, Secret: simSecret, RequireDPoP: true}}})
		c := s.client(t, secretAuth(simSecret, config.DPoPAuto), nil)
		require.NoError(t, s.org.SetFault(oktasim.Fault{Kind: oktasim.FaultTruncated}))
		p := fetchOK(t, c, c.PollURL(time.Time{}, 10))
		require.Len(t, p.Events, 5)
		// Token: 400 invalid_dpop_proof, 400 use_dpop_nonce, 200. Logs:
		// 401 use_dpop_nonce, 200 cut short, 200.
		require.Equal(t, map[int]int64{400: 2, 401: 1, 200: 3}, s.requests())
		require.Equal(t, int64(1), s.org.Stats().Faults[oktasim.FaultTruncated])
	})
}
