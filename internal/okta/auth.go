package okta

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/riskpipe/riskpipe/internal/config"
)

const (
	clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// assertionLifetime is the client assertion's exp - iat. Okta allows up
	// to an hour; the assertion is used once, so minutes are plenty.
	assertionLifetime = 5 * time.Minute
	// defaultTokenLifetime is assumed when the token response has no
	// expires_in (Okta sends 3600).
	defaultTokenLifetime = 5 * time.Minute
	maxTokenBody         = 1 << 20
)

// accessToken is a cached OAuth access token.
type accessToken struct {
	value  string
	dpop   bool // token_type DPoP: sent as "DPoP <token>" with a proof
	expiry time.Time
	scopes []string // the token response's scope: what Okta granted
}

// tokenSource gets and caches access tokens with the client credentials
// grant at the org authorization server ({BaseURL}/oauth2/v1/token).
// Requests are hand-rolled (net/http + go-jose), see doc.go.
type tokenSource struct {
	tenant    string
	method    string
	clientID  string
	secret    string
	scope     string
	tokenURL  *url.URL
	assertion jose.Signer // private_key_jwt
	http      *http.Client
	userAgent string
	now       func() time.Time
	dpop      *dpopState // nil when DPoP is never used
	metrics   *Metrics
	log       *slog.Logger

	sem chan struct{} // one token request at a time

	mu            sync.Mutex
	cur           accessToken
	notBefore     time.Time // after a 429 from the token endpoint
	lastAssertion string
}

// assertionSigner signs client assertions with the configured key: RS256
// for RSA, ES256/384/512 for EC P-256/384/521 (cryptosigner picks by key).
func assertionSigner(key crypto.Signer, kid string) (jose.Signer, error) {
	switch k := key.Public().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("private_key_jwt: unsupported key type %T (want RSA or EC)", k)
	}
	opaque := cryptosigner.Opaque(key)
	algs := opaque.Algs()
	if len(algs) == 0 {
		return nil, errors.New("private_key_jwt: unsupported EC curve (want P-256, P-384 or P-521)")
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: algs[0], Key: opaque}, opts)
	if err != nil {
		return nil, fmt.Errorf("private_key_jwt signer: %w", err)
	}
	return s, nil
}

func (ts *tokenSource) newAssertion(now time.Time) (string, error) {
	claims := jwt.Claims{
		Issuer:   ts.clientID,
		Subject:  ts.clientID,
		Audience: jwt.Audience{ts.tokenURL.String()},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(assertionLifetime)),
		ID:       rand.Text(),
	}
	a, err := jwt.Signed(ts.assertion).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign client assertion: %w", err)
	}
	ts.mu.Lock()
	ts.lastAssertion = a
	ts.mu.Unlock()
	return a, nil
}

// token returns a valid access token, requesting one when none is cached or
// the cached one is about to expire.
func (ts *tokenSource) token(ctx context.Context) (accessToken, error) {
	if t, ok := ts.cached(); ok {
		return t, nil
	}
	select {
	case ts.sem <- struct{}{}:
	case <-ctx.Done():
		return accessToken{}, ctx.Err()
	}
	defer func() { <-ts.sem }()
	if t, ok := ts.cached(); ok { // another request got one meanwhile
		return t, nil
	}
	t, err := ts.fetch(ctx)
	if err != nil {
		return accessToken{}, err
	}
	ts.mu.Lock()
	ts.cur = t
	ts.mu.Unlock()
	return t, nil
}

func (ts *tokenSource) cached() (accessToken, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.cur.value != "" && ts.now().Before(ts.cur.expiry) {
		return ts.cur, true
	}
	return accessToken{}, false
}

// invalidate drops the cached token if it is still value (a 401 with it).
func (ts *tokenSource) invalidate(value string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if value == "" || ts.cur.value == value {
		ts.cur = accessToken{}
	}
}

// secrets are the credentials error text must never show.
func (ts *tokenSource) secrets() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return []string{ts.secret, ts.cur.value, ts.lastAssertion}
}

func (ts *tokenSource) scrub(s string) string { return scrub(s, ts.secrets()) }

// fetch runs the token request, including the DPoP handshakes: a 400
// use_dpop_nonce is retried once with the nonce, and in auto mode a 400
// invalid_dpop_proof (DPoP required) is retried once with DPoP on.
func (ts *tokenSource) fetch(ctx context.Context) (accessToken, error) {
	var nonceRetried, dpopRetried bool
	for {
		now := ts.now()
		ts.mu.Lock()
		nb := ts.notBefore
		ts.mu.Unlock()
		if now.Before(nb) {
			return accessToken{}, &RateLimitedError{Until: nb}
		}
		status, h, body, err := ts.post(ctx, now)
		if err != nil {
			if ctx.Err() == nil {
				ts.metrics.token(ts.tenant, tokenRetryable)
			}
			return accessToken{}, err
		}
		if ts.dpop != nil {
			ts.dpop.setNonce(tokenServer, h.Get("DPoP-Nonce"))
		}
		switch {
		case status == http.StatusOK:
			return ts.parseToken(status, body, now)
		case status == http.StatusTooManyRequests:
			ts.metrics.token(ts.tenant, tokenRateLimited)
			rl, present := parseRateLimit(h)
			until := retryAt(h, now)
			ts.mu.Lock()
			ts.notBefore = until
			ts.mu.Unlock()
			return accessToken{}, &RateLimitedError{Until: until, Concurrency: present && rl.Limit == 0,
				Limit: rl.Limit, Remaining: rl.Remaining}
		case status >= 500:
			ts.metrics.token(ts.tenant, tokenRetryable)
			return accessToken{}, &RetryableError{Status: status, Err: serverError(status, body, ts.scrub)}
		}
		ae, _ := decodeAPIError(body, ts.scrub)
		if status == http.StatusBadRequest && ts.dpop != nil {
			switch {
			case ae.Code == "use_dpop_nonce" && h.Get("DPoP-Nonce") != "" && !nonceRetried:
				nonceRetried = true
				ts.metrics.token(ts.tenant, tokenDPoPNonce)
				ts.enableDPoP("use_dpop_nonce")
				continue
			case ae.Code == "invalid_dpop_proof" && ts.dpop.mode == config.DPoPAuto && !ts.dpop.on() && !dpopRetried:
				dpopRetried = true
				ts.metrics.token(ts.tenant, tokenDPoPRequired)
				ts.enableDPoP("invalid_dpop_proof")
				continue
			}
		}
		ts.metrics.token(ts.tenant, tokenAuthError)
		if status >= 300 && status < 400 {
			return accessToken{}, &PermanentError{Status: status, Summary: "token endpoint redirected"}
		}
		return accessToken{}, &AuthError{Status: status, Code: ae.Code, Summary: ae.Summary}
	}
}

func (ts *tokenSource) enableDPoP(why string) {
	if ts.dpop.enable() {
		ts.log.Info("okta token endpoint requires dpop; dpop enabled", "reason", why)
	}
}

// post sends one token request. A nil error means a response was read.
func (ts *tokenSource) post(ctx context.Context, now time.Time) (int, http.Header, []byte, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {ts.scope}}
	if ts.method == config.AuthPrivateKeyJWT {
		a, err := ts.newAssertion(now)
		if err != nil {
			return 0, nil, nil, &PermanentError{Summary: "client assertion", Err: err}
		}
		form.Set("client_assertion_type", clientAssertionType)
		form.Set("client_assertion", a)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.tokenURL.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, nil, &PermanentError{Summary: "build token request", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", ts.userAgent)
	if ts.method == config.AuthClientSecret {
		// client_secret_basic: RFC 6749 §2.3.1 form-encodes both parts.
		req.SetBasicAuth(url.QueryEscape(ts.clientID), url.QueryEscape(ts.secret))
	}
	if ts.dpop != nil && ts.dpop.on() {
		p, err := ts.dpop.proof(http.MethodPost, ts.tokenURL, tokenServer, "", now)
		if err != nil {
			return 0, nil, nil, &PermanentError{Summary: "dpop proof", Err: err}
		}
		req.Header.Set("DPoP", p)
	}
	resp, err := ts.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, ctx.Err()
		}
		return 0, nil, nil, classifyTransport(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil && resp.StatusCode == http.StatusOK {
		if ctx.Err() != nil {
			return 0, nil, nil, ctx.Err()
		}
		return 0, nil, nil, &RetryableError{Status: resp.StatusCode, Err: fmt.Errorf("read token response: %w", err)}
	}
	return resp.StatusCode, resp.Header, body, nil
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
}

func (ts *tokenSource) parseToken(status int, body []byte, now time.Time) (accessToken, error) {
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		ts.metrics.token(ts.tenant, tokenInvalidAnswer)
		return accessToken{}, &RetryableError{Status: status, Err: errors.New("token response without access_token")}
	}
	t := accessToken{value: tr.AccessToken, scopes: strings.Fields(tr.Scope)}
	switch {
	case strings.EqualFold(tr.TokenType, "DPoP"):
		if ts.dpop == nil || !ts.dpop.on() {
			// Cannot happen without a proof; refuse rather than send a
			// bound token without one.
			ts.metrics.token(ts.tenant, tokenAuthError)
			return accessToken{}, &AuthError{Status: status, Code: "invalid_token_type",
				Summary: "token endpoint issued a DPoP token but dpop is off"}
		}
		t.dpop = true
	case strings.EqualFold(tr.TokenType, "Bearer"), tr.TokenType == "":
	default:
		ts.metrics.token(ts.tenant, tokenAuthError)
		return accessToken{}, &AuthError{Status: status, Code: "invalid_token_type",
			Summary: "unsupported token_type " + ts.scrub(tr.TokenType)}
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = defaultTokenLifetime
	}
	// Refresh a little early: 10% of the lifetime, at most a minute.
	t.expiry = now.Add(life - min(life/10, time.Minute))
	ts.metrics.token(ts.tenant, tokenOK)
	ts.log.Debug("okta access token obtained", "dpop", t.dpop, "expires_in", life)
	return t, nil
}

// scrub replaces every non-empty secret in s.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}
