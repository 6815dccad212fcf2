package okta

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

const (
	testClientID     = "0oa1serviceapp"
	testClientSecret = "client-secret-SHOULD-NOT-LEAK"
)

func ecKey(t *testing.T, c elliptic.Curve) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	require.NoError(t, err)
	return k
}

func rsaKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

// pkjwt configures the fake server and the client for private_key_jwt.
func pkjwt(t *testing.T, f *fakeOkta, key crypto.Signer, dpop string) func(*Settings) {
	f.clientID, f.pubKey = testClientID, key.Public()
	return func(s *Settings) {
		s.Auth = config.Auth{Method: config.AuthPrivateKeyJWT, ClientID: testClientID, Signer: key, DPoP: dpop}
	}
}

func clientSecret(f *fakeOkta, secret, dpop string) func(*Settings) {
	f.clientID, f.clientSecret = testClientID, testClientSecret
	return func(s *Settings) {
		s.Auth = config.Auth{Method: config.AuthClientSecret, ClientID: testClientID,
			ClientSecret: config.Secret(secret), DPoP: dpop}
	}
}

func TestPrivateKeyJWT(t *testing.T) {
	tests := []struct {
		name    string
		key     crypto.Signer
		kid     string
		wantAlg string
	}{
		{name: "RSA", key: rsaKey(t), kid: "key-2026", wantAlg: "RS256"},
		{name: "EC P-256", key: ecKey(t, elliptic.P256()), wantAlg: "ES256"},
		{name: "EC P-384", key: ecKey(t, elliptic.P384()), kid: "k384", wantAlg: "ES384"},
		{name: "EC P-521", key: ecKey(t, elliptic.P521()), wantAlg: "ES512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, "/o/acme")
			f.wantKID = tt.kid
			setAuth := pkjwt(t, f, tt.key, config.DPoPNever)
			c := newTestClient(t, f, func(s *Settings) { setAuth(s); s.Auth.KeyID = tt.kid })
			for range 2 {
				p, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
				require.NoError(t, err)
				require.NoError(t, p.Invalid)
			}
			require.Equal(t, 1, f.count("token"), "the token is cached")
			require.Equal(t, 2, f.count("logs"))
			seen := f.requests()
			require.Equal(t, "token", seen[0].path)
			require.Equal(t, tt.wantAlg, seen[0].alg)
			require.Equal(t, tt.kid, seen[0].kid)
			require.Empty(t, seen[0].dpopHeader)
			require.True(t, strings.HasPrefix(seen[0].userAgent, "riskpipe/"))
			require.Equal(t, "Bearer", seen[1].authScheme)
		})
	}
}

func TestPrivateKeyJWTWrongKey(t *testing.T) {
	f := newFakeOkta(t, "")
	setAuth := pkjwt(t, f, ecKey(t, elliptic.P256()), config.DPoPNever)
	f.pubKey = ecKey(t, elliptic.P256()).Public() // Okta has another key registered
	c := newTestClient(t, f, setAuth)
	_, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
	ae, ok := errors.AsType[*AuthError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, http.StatusUnauthorized, ae.Status)
	require.Equal(t, "invalid_client", ae.Code)
	require.Equal(t, 1, f.count("token"), "auth errors are not retried")
	require.Zero(t, f.count("logs"))
}

func TestClientSecret(t *testing.T) {
	t.Run("basic auth", func(t *testing.T) {
		f := newFakeOkta(t, "")
		c := newTestClient(t, f, clientSecret(f, testClientSecret, config.DPoPAuto))
		_, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
		require.NoError(t, err)
		require.Equal(t, 1, f.count("token"))
		seen := f.requests()
		require.Empty(t, seen[0].dpopHeader, "auto mode starts without dpop")
		require.Equal(t, "Bearer", seen[1].authScheme)
	})
	t.Run("wrong secret", func(t *testing.T) {
		f := newFakeOkta(t, "")
		c := newTestClient(t, f, clientSecret(f, "wrong", config.DPoPAuto))
		_, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
		ae, ok := errors.AsType[*AuthError](err)
		require.True(t, ok, "%T %v", err, err)
		require.Equal(t, AuthError{Status: 401, Code: "invalid_client",
			Summary: "The client secret supplied for a confidential client is invalid."}, *ae)
	})
}

func TestDPoP(t *testing.T) {
	tests := []struct {
		name           string
		mode           string
		requireDPoP    bool
		wantTokenHits  int
		wantLogsHits   int
		wantScheme     string
		wantOutcomes   map[string]float64
		secretInsteadO bool
	}{
		{
			name: "always: nonce handshake at token endpoint and resource", mode: config.DPoPAlways, requireDPoP: true,
			wantTokenHits: 2, wantLogsHits: 2, wantScheme: "DPoP",
			wantOutcomes: map[string]float64{tokenDPoPNonce: 1, tokenOK: 1},
		},
		{
			name: "auto: turned on by the token endpoint", mode: config.DPoPAuto, requireDPoP: true,
			wantTokenHits: 3, wantLogsHits: 2, wantScheme: "DPoP",
			wantOutcomes: map[string]float64{tokenDPoPRequired: 1, tokenDPoPNonce: 1, tokenOK: 1},
		},
		{
			name: "auto with client_secret", mode: config.DPoPAuto, requireDPoP: true, secretInsteadO: true,
			wantTokenHits: 3, wantLogsHits: 2, wantScheme: "DPoP",
			wantOutcomes: map[string]float64{tokenDPoPRequired: 1, tokenDPoPNonce: 1, tokenOK: 1},
		},
		{
			name: "auto: stays off when not required", mode: config.DPoPAuto,
			wantTokenHits: 1, wantLogsHits: 1, wantScheme: "Bearer",
			wantOutcomes: map[string]float64{tokenOK: 1},
		},
		{
			name: "always, not required: token is bound anyway", mode: config.DPoPAlways,
			wantTokenHits: 2, wantLogsHits: 2, wantScheme: "DPoP",
			wantOutcomes: map[string]float64{tokenDPoPNonce: 1, tokenOK: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, "/o/acme")
			f.requireDPoP = tt.requireDPoP
			f.tokenNonce, f.resourceNonce = "tn-1", "rn-1"
			setAuth := pkjwt(t, f, ecKey(t, elliptic.P256()), tt.mode)
			if tt.secretInsteadO {
				f.pubKey = nil
				setAuth = clientSecret(f, testClientSecret, tt.mode)
			}
			m, err := NewMetrics(prometheus.NewRegistry())
			require.NoError(t, err)
			c := newTestClient(t, f, func(s *Settings) { setAuth(s); s.Metrics = m })

			p, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
			require.NoError(t, err)
			require.NoError(t, p.Invalid)
			require.Equal(t, tt.wantTokenHits, f.count("token"))
			require.Equal(t, tt.wantLogsHits, f.count("logs"))
			seen := f.requests()
			last := seen[len(seen)-1]
			require.Equal(t, tt.wantScheme, last.authScheme)
			require.Equal(t, tt.wantScheme == "DPoP", last.dpopHeader != "")
			for outcome, want := range tt.wantOutcomes {
				require.Equal(t, want, counterValue(t, m.tokenRequests, "acme", outcome), outcome)
			}

			// The resource rotates its nonce: one more 401, then success;
			// the token is still good.
			f.set(func() { f.resourceNonce = "rn-2" })
			_, err = c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
			require.NoError(t, err)
			wantLogs := tt.wantLogsHits + 1
			if tt.wantScheme == "DPoP" {
				wantLogs++
			}
			require.Equal(t, wantLogs, f.count("logs"))
			require.Equal(t, tt.wantTokenHits, f.count("token"))
		})
	}
}

func TestDPoPNeverWhenRequired(t *testing.T) {
	f := newFakeOkta(t, "")
	f.requireDPoP = true
	c := newTestClient(t, f, pkjwt(t, f, rsaKey(t), config.DPoPNever))
	_, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
	ae, ok := errors.AsType[*AuthError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, AuthError{Status: 400, Code: "invalid_dpop_proof", Summary: "DPoP proof required"}, *ae)
	require.Equal(t, 1, f.count("token"))
}

func TestTokenRefresh(t *testing.T) {
	t.Run("on expiry", func(t *testing.T) {
		f := newFakeOkta(t, "")
		f.requireDPoP = true
		c := newTestClient(t, f, pkjwt(t, f, ecKey(t, elliptic.P256()), config.DPoPAlways))
		fetch := func() {
			_, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
			require.NoError(t, err)
		}
		fetch()
		require.Equal(t, 1, f.count("token"))
		f.clock.Advance(50 * time.Minute)
		fetch()
		require.Equal(t, 1, f.count("token"), "still valid")
		f.clock.Advance(9 * time.Minute) // past expires_in - 1 minute, before Okta rejects it
		fetch()
		require.Equal(t, 2, f.count("token"))
		require.Equal(t, 3, f.count("logs"), "no 401 was needed")
	})
	t.Run("on 401", func(t *testing.T) {
		f := newFakeOkta(t, "")
		c := newTestClient(t, f, pkjwt(t, f, ecKey(t, elliptic.P256()), config.DPoPNever))
		_, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
		require.NoError(t, err)
		f.revokeAll()
		_, err = c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
		require.NoError(t, err)
		require.Equal(t, 2, f.count("token"))
		require.Equal(t, 3, f.count("logs"))
	})
	t.Run("second 401 is an auth error", func(t *testing.T) {
		f := newFakeOkta(t, "")
		f.rejectTokens = true
		c := newTestClient(t, f, pkjwt(t, f, ecKey(t, elliptic.P256()), config.DPoPNever))
		_, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
		ae, ok := errors.AsType[*AuthError](err)
		require.True(t, ok, "%T %v", err, err)
		require.Equal(t, AuthError{Status: 401, Code: "E0000011", Summary: "Invalid token provided"}, *ae)
		require.Equal(t, 2, f.count("token"))
		require.Equal(t, 2, f.count("logs"))
	})
	t.Run("api token 401 is not retried", func(t *testing.T) {
		f := newFakeOkta(t, "")
		c := newTestClient(t, f, func(s *Settings) { s.Auth.Token = "00wrong" })
		_, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
		ae, ok := errors.AsType[*AuthError](err)
		require.True(t, ok, "%T %v", err, err)
		require.Equal(t, "E0000011", ae.Code)
		require.Equal(t, 1, f.count("logs"))
	})
}

func TestTokenEndpointFailures(t *testing.T) {
	tests := []struct {
		name          string
		answer        func(w http.ResponseWriter)
		wantTokenHits int
		check         func(t *testing.T, err error)
	}{
		{
			name: "500 is retried, then retryable",
			answer: func(w http.ResponseWriter) {
				oauthError(w, http.StatusInternalServerError, "server_error", "oops")
			},
			wantTokenHits: 3,
			check: func(t *testing.T, err error) {
				re, ok := errors.AsType[*RetryableError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, 500, re.Status)
			},
		},
		{
			name: "429 is rate limited and remembered",
			answer: func(w http.ResponseWriter) {
				rateHeaders(w, "100", "0", 20*time.Second)
				oauthError(w, http.StatusTooManyRequests, "too_many_requests", "slow down")
			},
			wantTokenHits: 1,
			check: func(t *testing.T, err error) {
				rl, ok := IsRateLimited(err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, 100, rl.Limit)
			},
		},
		{
			name: "invalid_scope is an auth error",
			answer: func(w http.ResponseWriter) {
				oauthError(w, http.StatusBadRequest, "invalid_scope", "The following scopes are not allowed: okta.logs.read")
			},
			wantTokenHits: 1,
			check: func(t *testing.T, err error) {
				ae, ok := errors.AsType[*AuthError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, "invalid_scope", ae.Code)
			},
		},
		{
			name: "200 without a token",
			answer: func(w http.ResponseWriter) {
				_, _ = w.Write([]byte(`{"token_type":"Bearer"}`))
			},
			wantTokenHits: 3,
			check: func(t *testing.T, err error) {
				require.True(t, IsRetryable(err), "%T %v", err, err)
			},
		},
		{
			name: "unknown token type",
			answer: func(w http.ResponseWriter) {
				_, _ = w.Write([]byte(`{"access_token":"x","token_type":"MAC","expires_in":3600}`))
			},
			wantTokenHits: 1,
			check: func(t *testing.T, err error) {
				require.True(t, IsAuth(err), "%T %v", err, err)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, "")
			f.tokenResponse = func(w http.ResponseWriter, _ int) bool { tt.answer(w); return true }
			c := newTestClient(t, f, func(s *Settings) {
				pkjwt(t, f, ecKey(t, elliptic.P256()), config.DPoPNever)(s)
				s.MaxRetries = 2
			})
			_, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
			tt.check(t, err)
			require.Equal(t, tt.wantTokenHits, f.count("token"))
			require.Zero(t, f.count("logs"))
			if rl, ok := IsRateLimited(err); ok {
				// Asking again at once does not hit the token endpoint.
				_, err2 := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
				rl2, ok := IsRateLimited(err2)
				require.True(t, ok, "%T %v", err2, err2)
				require.Equal(t, rl.Until, rl2.Until)
				require.Equal(t, tt.wantTokenHits, f.count("token"))
			}
		})
	}
}

// TestSecretsNeverInErrors makes the server echo every credential it gets
// into its error text; none may reach an error string.
func TestSecretsNeverInErrors(t *testing.T) {
	const apiToken = "00SSWS-secret-token-SHOULD-NOT-LEAK"
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fakeOkta) func(*Settings)
	}{
		{
			name: "api token echoed by a 401",
			setup: func(t *testing.T, f *fakeOkta) func(*Settings) {
				f.apiToken = "00another"
				return func(s *Settings) { s.Auth.Token = apiToken }
			},
		},
		{
			name: "client secret echoed by the token endpoint",
			setup: func(t *testing.T, f *fakeOkta) func(*Settings) {
				set := clientSecret(f, testClientSecret, config.DPoPNever)
				f.clientSecret = "the-real-one"
				return set
			},
		},
		{
			name: "client assertion echoed by the token endpoint",
			setup: func(t *testing.T, f *fakeOkta) func(*Settings) {
				set := pkjwt(t, f, ecKey(t, elliptic.P256()), config.DPoPNever)
				f.clientID = "someone-else"
				return set
			},
		},
		{
			name: "access token echoed by the API",
			setup: func(t *testing.T, f *fakeOkta) func(*Settings) {
				f.rejectTokens = true
				return pkjwt(t, f, ecKey(t, elliptic.P256()), config.DPoPNever)
			},
		},
		{
			name: "access token echoed in a 400 and a 500",
			setup: func(t *testing.T, f *fakeOkta) func(*Settings) {
				f.logs = func(w http.ResponseWriter, r *http.Request, hit int) {
					status := http.StatusBadRequest
					if hit == 1 {
						status = http.StatusInternalServerError
					}
					oktaError(w, status, "E0000001", "bad: "+r.Header.Get("Authorization"))
				}
				return clientSecret(f, testClientSecret, config.DPoPNever)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, "")
			f.echoSecrets = true
			set := tt.setup(t, f)
			c := newTestClient(t, f, func(s *Settings) { set(s); s.MaxRetries = -1 })
			var errs []error
			for range 2 {
				_, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
				require.Error(t, err)
				errs = append(errs, err)
			}
			secrets := []string{apiToken, testClientSecret}
			if c.tokens != nil {
				secrets = append(secrets, c.tokens.secrets()...)
			}
			f.mu.Lock()
			for tok := range f.tokens {
				secrets = append(secrets, tok)
			}
			f.mu.Unlock()
			for _, err := range errs {
				for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
					for _, s := range secrets {
						if s != "" {
							require.NotContains(t, text, s)
						}
					}
				}
			}
			require.Contains(t, errs[0].Error(), "[redacted]", "the echo was there and was scrubbed")
		})
	}
}
