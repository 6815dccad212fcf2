package oktasim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"
)

type tokenResponse struct {
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func (r response) token(t testing.TB) tokenResponse {
	t.Helper()
	var tr tokenResponse
	require.NoError(t, json.Unmarshal(r.body, &tr), string(r.body))
	return tr
}

func postForm(t testing.TB, c *http.Client, u string, form url.Values, header ...string) response {
	t.Helper()
	return do(t, c, http.MethodPost, u, strings.NewReader(form.Encode()),
		append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// assertion signs a client assertion JWT.
func assertion(t testing.TB, key any, alg jose.SignatureAlgorithm, c jwt.Claims) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, nil)
	require.NoError(t, err)
	s, err := jwt.Signed(signer).Claims(c).Serialize()
	require.NoError(t, err)
	return s
}

func goodClaims(clientID, aud string, now time.Time) jwt.Claims {
	return jwt.Claims{
		Issuer: clientID, Subject: clientID, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour)),
	}
}

func assertionForm(a string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {"okta.logs.read"},
		"client_assertion_type": {clientAssertionType},
		"client_assertion":      {a},
	}
}

// proof builds a DPoP proof JWT by hand.
func proof(t testing.TB, key *ecdsa.PrivateKey, htm, htu, nonce, ath string, iat time.Time) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	require.NoError(t, err)
	claims := map[string]any{"jti": rand.Text(), "htm": htm, "htu": htu, "iat": iat.Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if ath != "" {
		claims["ath"] = ath
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	require.NoError(t, err)
	return s
}

func TestSSWS(t *testing.T) {
	clock := newClock()
	_, c, base := sswsOrg(t, clock, 3)
	tests := []struct {
		give       []string
		wantStatus int
	}{
		{give: []string{"Authorization", "SSWS tok"}, wantStatus: http.StatusOK},
		{give: []string{"Authorization", "ssws tok"}, wantStatus: http.StatusOK},
		{give: []string{"Authorization", "SSWS nope"}, wantStatus: http.StatusUnauthorized},
		{give: []string{"Authorization", "SSWS"}, wantStatus: http.StatusUnauthorized},
		{give: []string{"Authorization", "Bearer tok"}, wantStatus: http.StatusUnauthorized},
		{give: nil, wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.give, " "), func(t *testing.T) {
			r := get(t, c, base+"/api/v1/logs", tt.give...)
			require.Equal(t, tt.wantStatus, r.StatusCode)
			if tt.wantStatus == http.StatusOK {
				require.Len(t, r.events(t), 3)
				return
			}
			e := r.oktaError(t)
			require.Equal(t, "E0000011", e.ErrorCode)
			require.Equal(t, "Invalid token provided", e.ErrorSummary)
		})
	}
}

func TestClientSecret(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 2, Clients: []Client{{ID: "c1", Secret: "s3cret"}}})
	c := ts.Client()
	tokenURL := base + "/oauth2/v1/token"
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"okta.logs.read"}}

	r := postForm(t, c, tokenURL, form, "Authorization", "Basic "+basic("c1", "s3cret"))
	require.Equal(t, http.StatusOK, r.StatusCode, string(r.body))
	require.Equal(t, "no-cache, no-store", r.Header.Get("Cache-Control"))
	tok := r.token(t)
	require.Equal(t, "Bearer", tok.TokenType)
	require.Equal(t, 3600, tok.ExpiresIn)
	require.Equal(t, "okta.logs.read", tok.Scope)
	require.NotEmpty(t, tok.AccessToken)
	require.Len(t, get(t, c, base+"/api/v1/logs", "Authorization", "Bearer "+tok.AccessToken).events(t), 2)

	withForm := url.Values{"client_id": {"c1"}, "client_secret": {"s3cret"}}
	for k, v := range form {
		withForm[k] = v
	}
	r = postForm(t, c, tokenURL, withForm)
	require.Equal(t, http.StatusOK, r.StatusCode, string(r.body))

	tests := []struct {
		name       string
		form       url.Values
		header     []string
		wantStatus int
		wantError  string
	}{
		{"wrong secret", form, []string{"Authorization", "Basic " + basic("c1", "nope")}, http.StatusUnauthorized, "invalid_client"},
		{"unknown client", form, []string{"Authorization", "Basic " + basic("c2", "s3cret")}, http.StatusUnauthorized, "invalid_client"},
		{"no credentials", form, nil, http.StatusUnauthorized, "invalid_client"},
		{"password grant", url.Values{"grant_type": {"password"}, "scope": {"okta.logs.read"}}, []string{"Authorization", "Basic " + basic("c1", "s3cret")}, http.StatusBadRequest, "unsupported_grant_type"},
		{"no scope", url.Values{"grant_type": {"client_credentials"}}, []string{"Authorization", "Basic " + basic("c1", "s3cret")}, http.StatusBadRequest, "invalid_scope"},
		{"other scope", url.Values{"grant_type": {"client_credentials"}, "scope": {"okta.users.manage"}}, []string{"Authorization", "Basic " + basic("c1", "s3cret")}, http.StatusBadRequest, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postForm(t, c, tokenURL, tt.form, tt.header...)
			require.Equal(t, tt.wantStatus, r.StatusCode, string(r.body))
			require.Equal(t, tt.wantError, r.token(t).Error)
		})
	}
	require.Equal(t, int64(2), o.Stats().TokensIssued)
}

func basic(id, secret string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(id, secret)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func TestPrivateKeyJWT(t *testing.T) {
	clock := newClock()
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecPriv := ecKey(t)
	other := ecKey(t)
	_, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 2, Clients: []Client{
		{ID: "rsa-app", PublicKey: &rsaPriv.PublicKey},
		{ID: "ec-app", PublicKey: jose.JSONWebKey{Key: &ecPriv.PublicKey, KeyID: "k1", Algorithm: "ES256"}},
	}})
	c := ts.Client()
	tokenURL := base + "/oauth2/v1/token"
	now := clock.Now()

	t.Run("rsa, params in the query string like okta-sdk-golang v2", func(t *testing.T) {
		a := assertion(t, rsaPriv, jose.RS256, goodClaims("rsa-app", tokenURL, now))
		r := do(t, c, http.MethodPost, tokenURL+"?"+assertionForm(a).Encode(), nil)
		require.Equal(t, http.StatusOK, r.StatusCode, string(r.body))
		tok := r.token(t)
		require.Equal(t, "Bearer", tok.TokenType)
		require.Len(t, get(t, c, base+"/api/v1/logs", "Authorization", "Bearer "+tok.AccessToken).events(t), 2)
	})

	expired := goodClaims("ec-app", tokenURL, now)
	expired.Expiry = jwt.NewNumericDate(now.Add(-time.Second))
	tooFar := goodClaims("ec-app", tokenURL, now)
	tooFar.Expiry = jwt.NewNumericDate(now.Add(2 * time.Hour))
	wrongAud := goodClaims("ec-app", base+"/oauth2/default/v1/token", now)
	wrongSub := goodClaims("ec-app", tokenURL, now)
	wrongSub.Subject = "someone"
	unknown := goodClaims("nope", tokenURL, now)
	tests := []struct {
		name       string
		key        any
		claims     jwt.Claims
		wantStatus int
	}{
		{"good ec jwk", ecPriv, goodClaims("ec-app", tokenURL, now), http.StatusOK},
		{"wrong key", other, goodClaims("ec-app", tokenURL, now), http.StatusUnauthorized},
		{"wrong aud", ecPriv, wrongAud, http.StatusUnauthorized},
		{"expired", ecPriv, expired, http.StatusUnauthorized},
		{"exp more than 1h ahead", ecPriv, tooFar, http.StatusUnauthorized},
		{"sub is not the client", ecPriv, wrongSub, http.StatusUnauthorized},
		{"unknown client", ecPriv, unknown, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postForm(t, c, tokenURL, assertionForm(assertion(t, tt.key, jose.ES256, tt.claims)))
			require.Equal(t, tt.wantStatus, r.StatusCode, string(r.body))
			if tt.wantStatus != http.StatusOK {
				require.Equal(t, "invalid_client", r.token(t).Error)
			}
		})
	}

	t.Run("jti is single use", func(t *testing.T) {
		cl := goodClaims("ec-app", tokenURL, now)
		cl.ID = "jti-1"
		a := assertion(t, ecPriv, jose.ES256, cl)
		require.Equal(t, http.StatusOK, postForm(t, c, tokenURL, assertionForm(a)).StatusCode)
		r := postForm(t, c, tokenURL, assertionForm(a))
		require.Equal(t, http.StatusUnauthorized, r.StatusCode)
		require.Equal(t, "invalid_client", r.token(t).Error)
	})
}

func TestScopeAndExpiry(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 1, TokenLifetime: 10 * time.Minute, Clients: []Client{
		{ID: "logs", Secret: "s", Scopes: []string{"okta.logs.read", "okta.users.read"}},
	}})
	c := ts.Client()
	tokenFor := func(scope string) string {
		r := postForm(t, c, base+"/oauth2/v1/token", url.Values{"grant_type": {"client_credentials"}, "scope": {scope}},
			"Authorization", "Basic "+basic("logs", "s"))
		require.Equal(t, http.StatusOK, r.StatusCode, string(r.body))
		tok := r.token(t)
		require.Equal(t, 600, tok.ExpiresIn)
		return tok.AccessToken
	}

	r := get(t, c, base+"/api/v1/logs", "Authorization", "Bearer "+tokenFor("okta.users.read"))
	require.Equal(t, http.StatusForbidden, r.StatusCode)
	require.Equal(t, "E0000006", r.oktaError(t).ErrorCode)
	require.Contains(t, r.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`)

	tok := tokenFor("okta.logs.read")
	require.Equal(t, http.StatusOK, get(t, c, base+"/api/v1/logs", "Authorization", "Bearer "+tok).StatusCode)
	clock.Add(10 * time.Minute)
	r = get(t, c, base+"/api/v1/logs", "Authorization", "Bearer "+tok)
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.Equal(t, "E0000011", r.oktaError(t).ErrorCode)
	require.Contains(t, r.Header.Get("WWW-Authenticate"), `Bearer `)
	require.Contains(t, r.Header.Get("WWW-Authenticate"), `error="invalid_token"`)

	tok = tokenFor("okta.logs.read")
	require.Equal(t, http.StatusOK, get(t, c, base+"/api/v1/logs", "Authorization", "Bearer "+tok).StatusCode)
	o.ExpireTokens()
	r = get(t, c, base+"/api/v1/logs", "Authorization", "Bearer "+tok)
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.Contains(t, r.Header.Get("WWW-Authenticate"), `error="invalid_token"`)

	r = get(t, c, base+"/api/v1/logs", "Authorization", "Bearer not-a-token")
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
}

// dpopOrg starts an org whose service app uses private_key_jwt and
// requires DPoP, the way Okta enables it by default for API services.
func dpopOrg(t *testing.T, clock *fakeClock) (client *http.Client, base string, appKey *ecdsa.PrivateKey) {
	t.Helper()
	appKey = ecKey(t)
	_, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 3, Clients: []Client{
		{ID: "svc", PublicKey: &appKey.PublicKey, RequireDPoP: true},
	}})
	return ts.Client(), base, appKey
}

func TestDPoPHandshake(t *testing.T) {
	clock := newClock()
	c, base, appKey := dpopOrg(t, clock)
	dpopKey := ecKey(t)
	tokenURL := base + "/oauth2/v1/token"
	logsURL := base + "/api/v1/logs"
	form := assertionForm(assertion(t, appKey, jose.ES256, goodClaims("svc", tokenURL, clock.Now())))

	// Token endpoint: no proof, then the nonce handshake.
	r := postForm(t, c, tokenURL, form)
	require.Equal(t, http.StatusBadRequest, r.StatusCode)
	require.Equal(t, tokenResponse{Error: "invalid_dpop_proof", Description: "The DPoP proof JWT header is missing."}, r.token(t))

	r = postForm(t, c, tokenURL, form, "DPoP", proof(t, dpopKey, "POST", tokenURL, "", "", clock.Now()))
	require.Equal(t, http.StatusBadRequest, r.StatusCode)
	require.Equal(t, "use_dpop_nonce", r.token(t).Error)
	nonce := r.Header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)

	// The same client assertion is still good: it is only spent on a token.
	r = postForm(t, c, tokenURL, form, "DPoP", proof(t, dpopKey, "POST", tokenURL, nonce, "", clock.Now()))
	require.Equal(t, http.StatusOK, r.StatusCode, string(r.body))
	tok := r.token(t)
	require.Equal(t, "DPoP", tok.TokenType)
	ath := accessTokenHash(tok.AccessToken)

	// Resource: the DPoP scheme, a proof with ath, and the nonce handshake.
	r = get(t, c, logsURL, "Authorization", "Bearer "+tok.AccessToken)
	require.Equal(t, http.StatusUnauthorized, r.StatusCode, "a DPoP-bound token is not a bearer token")

	r = get(t, c, logsURL, "Authorization", "DPoP "+tok.AccessToken, "DPoP", proof(t, dpopKey, "GET", logsURL, "", ath, clock.Now()))
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.Contains(t, r.Header.Get("WWW-Authenticate"), `DPoP error="use_dpop_nonce"`)
	nonce = r.Header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)

	good := proof(t, dpopKey, "GET", logsURL+"?limit=5", nonce, ath, clock.Now())
	r = get(t, c, logsURL+"?limit=5", "Authorization", "DPoP "+tok.AccessToken, "DPoP", good)
	require.Len(t, r.events(t), 3, "htu is compared without the query")

	tests := []struct {
		name  string
		proof string
	}{
		{"replayed jti", good},
		{"wrong ath", proof(t, dpopKey, "GET", logsURL, nonce, accessTokenHash("other"), clock.Now())},
		{"no ath", proof(t, dpopKey, "GET", logsURL, nonce, "", clock.Now())},
		{"key not bound to the token", proof(t, ecKey(t), "GET", logsURL, nonce, ath, clock.Now())},
		{"wrong htm", proof(t, dpopKey, "POST", logsURL, nonce, ath, clock.Now())},
		{"wrong htu", proof(t, dpopKey, "GET", tokenURL, nonce, ath, clock.Now())},
		{"stale iat", proof(t, dpopKey, "GET", logsURL, nonce, ath, clock.Now().Add(-6*time.Minute))},
		{"not a jwt", "garbage"},
		{"missing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, c, logsURL, "Authorization", "DPoP "+tok.AccessToken, "DPoP", tt.proof)
			require.Equal(t, http.StatusUnauthorized, r.StatusCode)
			require.Contains(t, r.Header.Get("WWW-Authenticate"), `DPoP error="invalid_dpop_proof"`)
		})
	}

	// Nonces rotate: after two rotations the old one is stale.
	clock.Add(11 * time.Minute)
	r = get(t, c, logsURL, "Authorization", "DPoP "+tok.AccessToken, "DPoP", proof(t, dpopKey, "GET", logsURL, nonce, ath, clock.Now()))
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.Contains(t, r.Header.Get("WWW-Authenticate"), `use_dpop_nonce`)
	fresh := r.Header.Get("DPoP-Nonce")
	require.NotEqual(t, nonce, fresh)
	r = get(t, c, logsURL, "Authorization", "DPoP "+tok.AccessToken, "DPoP", proof(t, dpopKey, "GET", logsURL, fresh, ath, clock.Now()))
	require.Equal(t, http.StatusOK, r.StatusCode, string(r.body))
}

func TestDPoPBadProofAtTokenEndpoint(t *testing.T) {
	clock := newClock()
	c, base, appKey := dpopOrg(t, clock)
	tokenURL := base + "/oauth2/v1/token"
	dpopKey := ecKey(t)
	r := postForm(t, c, tokenURL, assertionForm(assertion(t, appKey, jose.ES256, goodClaims("svc", tokenURL, clock.Now()))),
		"DPoP", proof(t, dpopKey, "POST", tokenURL, "", "", clock.Now()))
	nonce := r.Header.Get("DPoP-Nonce")

	hs, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: dpopKey}, (&jose.SignerOptions{EmbedJWK: true}).WithType("JWT"))
	require.NoError(t, err)
	wrongTyp, err := jwt.Signed(hs).Claims(map[string]any{"jti": "x", "htm": "POST", "htu": tokenURL, "iat": clock.Now().Unix(), "nonce": nonce}).Serialize()
	require.NoError(t, err)

	tests := []struct {
		name  string
		proof string
	}{
		{"wrong htm", proof(t, dpopKey, "GET", tokenURL, nonce, "", clock.Now())},
		{"wrong htu", proof(t, dpopKey, "POST", base+"/oauth2/default/v1/token", nonce, "", clock.Now())},
		{"future iat", proof(t, dpopKey, "POST", tokenURL, nonce, "", clock.Now().Add(6*time.Minute))},
		{"typ JWT", wrongTyp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := assertionForm(assertion(t, appKey, jose.ES256, goodClaims("svc", tokenURL, clock.Now())))
			r := postForm(t, c, tokenURL, form, "DPoP", tt.proof)
			require.Equal(t, http.StatusBadRequest, r.StatusCode, string(r.body))
			require.Equal(t, "invalid_dpop_proof", r.token(t).Error)
		})
	}
}
