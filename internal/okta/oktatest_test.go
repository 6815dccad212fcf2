package okta

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

// fakeClock is the clients' (and the fake server's) clock: Sleep advances
// it instead of waiting.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	c.mu.Lock()
	c.slept += d
	c.mu.Unlock()
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeOkta is a small Okta: the org authorization server's token endpoint
// (private_key_jwt verified with the public key, client_secret_basic, DPoP
// with nonces) and /api/v1/logs behind SSWS, Bearer or DPoP auth. What the
// logs endpoint answers is up to each test (logs).
type fakeOkta struct {
	t      *testing.T
	clock  *fakeClock
	prefix string // path prefix of the org, e.g. /o/acme
	srv    *httptest.Server

	// Set before the first request.
	apiToken      string
	clientID      string
	pubKey        crypto.PublicKey // private_key_jwt
	wantKID       string
	clientSecret  string // client_secret_basic
	requireDPoP   bool
	tokenTTL      int // expires_in, default 3600
	echoSecrets   bool
	tokenResponse func(w http.ResponseWriter, hit int) bool // optional override; true = handled
	logs          func(w http.ResponseWriter, r *http.Request, hit int)

	mu            sync.Mutex
	hits          map[string]int
	hitTimes      map[string][]time.Time
	tokens        map[string]issued
	jtis          map[string]bool
	tokenNonce    string
	resourceNonce string
	rejectTokens  bool
	seen          []seenRequest
}

type issued struct {
	jkt    string
	expiry time.Time
}

// seenRequest is what the server noted about one request.
type seenRequest struct {
	path, authScheme, dpopHeader, alg, kid, userAgent, accept string
}

func newFakeOkta(t *testing.T, prefix string) *fakeOkta {
	f := &fakeOkta{
		t:        t,
		clock:    newFakeClock(),
		prefix:   prefix,
		tokenTTL: 3600,
		hits:     map[string]int{},
		hitTimes: map[string][]time.Time{},
		tokens:   map[string]issued{},
		jtis:     map[string]bool{},
		logs: func(w http.ResponseWriter, r *http.Request, _ int) {
			writePage(w, "[]", "<"+r.URL.String()+`>; rel="next"`)
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc(prefix+"/oauth2/v1/token", f.token)
	mux.HandleFunc(prefix+"/api/v1/logs", f.logsHandler)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOkta) baseURL() string  { return f.srv.URL + f.prefix }
func (f *fakeOkta) tokenURL() string { return f.baseURL() + "/oauth2/v1/token" }
func (f *fakeOkta) logsURL() string  { return f.baseURL() + "/api/v1/logs" }

func (f *fakeOkta) hit(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hits[name]++
	f.hitTimes[name] = append(f.hitTimes[name], f.clock.Now())
	return f.hits[name]
}

func (f *fakeOkta) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[name]
}

func (f *fakeOkta) times(name string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.hitTimes[name]...)
}

func (f *fakeOkta) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func (f *fakeOkta) note(s seenRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, s)
}

func (f *fakeOkta) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// revokeAll forgets every issued access token.
func (f *fakeOkta) revokeAll() { f.set(func() { f.tokens = map[string]issued{} }) }

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func oktaError(w http.ResponseWriter, status int, code, summary string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": "oae1", "errorCauses": []any{},
	})
}

func writePage(w http.ResponseWriter, body string, links ...string) {
	for _, l := range links {
		w.Header().Add("Link", l)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}

func (f *fakeOkta) token(w http.ResponseWriter, r *http.Request) {
	hit := f.hit("token")
	seen := seenRequest{path: "token", dpopHeader: r.Header.Get("DPoP"), userAgent: r.Header.Get("User-Agent")}
	defer func() { f.note(seen) }()
	if f.tokenResponse != nil && f.tokenResponse(w, hit) {
		return
	}
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return
	}
	if err := r.ParseForm(); err != nil || r.URL.RawQuery != "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "form body only")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "want client_credentials")
		return
	}
	if got := r.PostForm.Get("scope"); got != "okta.logs.read" {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "The following scopes are not allowed: "+got)
		return
	}
	now := f.clock.Now()
	switch {
	case f.pubKey != nil:
		alg, kid, err := f.verifyAssertion(r.PostForm, now)
		seen.alg, seen.kid = alg, kid
		if err != nil {
			desc := err.Error()
			if f.echoSecrets {
				desc += " assertion=" + r.PostForm.Get("client_assertion")
			}
			oauthError(w, http.StatusUnauthorized, "invalid_client", desc)
			return
		}
	case f.clientSecret != "":
		id, secret, ok := r.BasicAuth()
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if !ok || id != f.clientID || secret != f.clientSecret {
			desc := "The client secret supplied for a confidential client is invalid."
			if f.echoSecrets {
				desc += " got " + secret
			}
			oauthError(w, http.StatusUnauthorized, "invalid_client", desc)
			return
		}
	default:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "no client auth configured")
		return
	}

	jkt := ""
	if proof := r.Header.Get("DPoP"); proof != "" {
		f.mu.Lock()
		nonce := f.tokenNonce
		f.mu.Unlock()
		var nonceWrong bool
		var err error
		jkt, nonceWrong, err = f.verifyProof(proof, http.MethodPost, f.tokenURL(), nonce, "", now)
		switch {
		case err != nil:
			oauthError(w, http.StatusBadRequest, "invalid_dpop_proof", err.Error())
			return
		case nonceWrong:
			w.Header().Set("DPoP-Nonce", nonce)
			oauthError(w, http.StatusBadRequest, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof.")
			return
		}
	} else if f.requireDPoP {
		oauthError(w, http.StatusBadRequest, "invalid_dpop_proof", "DPoP proof required")
		return
	}
	tok := "at." + rand.Text()
	typ := "Bearer"
	if jkt != "" {
		typ = "DPoP"
	}
	f.set(func() { f.tokens[tok] = issued{jkt: jkt, expiry: now.Add(time.Duration(f.tokenTTL) * time.Second)} })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "token_type": typ, "expires_in": f.tokenTTL, "scope": "okta.logs.read",
	})
}

func (f *fakeOkta) verifyAssertion(form url.Values, now time.Time) (alg, kid string, err error) {
	if form.Get("client_assertion_type") != clientAssertionType {
		return "", "", errors.New("bad client_assertion_type")
	}
	tok, err := jwt.ParseSigned(form.Get("client_assertion"),
		[]jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384, jose.ES512})
	if err != nil {
		return "", "", fmt.Errorf("parse assertion: %w", err)
	}
	h := tok.Headers[0]
	alg, kid = h.Algorithm, h.KeyID
	if f.wantKID != "" && kid != f.wantKID {
		return alg, kid, fmt.Errorf("kid %q", kid)
	}
	var c jwt.Claims
	if err := tok.Claims(f.pubKey, &c); err != nil {
		return alg, kid, fmt.Errorf("assertion signature: %w", err)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{
		Issuer: f.clientID, Subject: f.clientID, AnyAudience: jwt.Audience{f.tokenURL()}, Time: now,
	}, 0); err != nil {
		return alg, kid, fmt.Errorf("assertion claims: %w", err)
	}
	if c.Expiry == nil || c.IssuedAt == nil || c.Expiry.Time().Sub(c.IssuedAt.Time()) > time.Hour {
		return alg, kid, errors.New("assertion exp missing or over an hour")
	}
	if !f.freshJTI(c.ID) {
		return alg, kid, errors.New("assertion jti missing or reused")
	}
	return alg, kid, nil
}

func (f *fakeOkta) freshJTI(jti string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if jti == "" || f.jtis[jti] {
		return false
	}
	f.jtis[jti] = true
	return true
}

// verifyProof checks a DPoP proof (RFC 9449 §4.3) and returns the key's
// thumbprint. nonceWrong is set when everything but the nonce is right.
func (f *fakeOkta) verifyProof(proof, htm, wantHTU, nonce, token string, now time.Time) (jkt string, nonceWrong bool, err error) {
	jws, err := jose.ParseSignedCompact(proof, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return "", false, fmt.Errorf("parse proof: %w", err)
	}
	h := jws.Signatures[0].Protected
	if h.ExtraHeaders[jose.HeaderType] != "dpop+jwt" {
		return "", false, fmt.Errorf("typ %v", h.ExtraHeaders[jose.HeaderType])
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
		return "", false, errors.New("no public jwk")
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return "", false, fmt.Errorf("proof signature: %w", err)
	}
	var c dpopClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", false, err
	}
	switch {
	case c.HTM != htm:
		return "", false, fmt.Errorf("htm %q", c.HTM)
	case c.HTU != wantHTU:
		return "", false, fmt.Errorf("htu %q, want %q", c.HTU, wantHTU)
	case now.Sub(time.Unix(c.IAT, 0)).Abs() > time.Minute:
		return "", false, fmt.Errorf("iat %d", c.IAT)
	case token != "" && c.ATH != tokenHash(token):
		return "", false, errors.New("ath does not match the token")
	case token == "" && c.ATH != "":
		return "", false, errors.New("ath on a token request")
	case !f.freshJTI(c.JTI):
		return "", false, errors.New("proof jti missing or reused")
	}
	thumb, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", false, err
	}
	return base64.RawURLEncoding.EncodeToString(thumb), nonce != "" && c.Nonce != nonce, nil
}

func (f *fakeOkta) logsHandler(w http.ResponseWriter, r *http.Request) {
	hit := f.hit("logs")
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	seen := seenRequest{path: "logs", authScheme: scheme, dpopHeader: r.Header.Get("DPoP"),
		userAgent: r.Header.Get("User-Agent"), accept: r.Header.Get("Accept")}
	f.note(seen)
	deny := func(extra string) {
		summary := "Invalid token provided"
		if f.echoSecrets {
			summary += " " + r.Header.Get("Authorization") + extra
		}
		oktaError(w, http.StatusUnauthorized, "E0000011", summary)
	}
	switch scheme {
	case "SSWS":
		if f.apiToken == "" || cred != f.apiToken {
			deny("")
			return
		}
	case "Bearer", "DPoP":
		f.mu.Lock()
		tok, ok := f.tokens[cred]
		reject, nonce := f.rejectTokens, f.resourceNonce
		f.mu.Unlock()
		if !ok || reject || !f.clock.Now().Before(tok.expiry) {
			deny("")
			return
		}
		if tok.jkt == "" {
			if scheme != "Bearer" {
				deny(" (bearer token sent as DPoP)")
				return
			}
			break
		}
		if scheme != "DPoP" {
			w.Header().Set("WWW-Authenticate", `DPoP error="invalid_token", error_description="DPoP-bound token sent as Bearer"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		jkt, nonceWrong, err := f.verifyProof(r.Header.Get("DPoP"), http.MethodGet,
			"http://"+r.Host+r.URL.EscapedPath(), nonce, cred, f.clock.Now())
		switch {
		case err != nil:
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`DPoP error="invalid_dpop_proof", error_description=%q`, err.Error()))
			w.WriteHeader(http.StatusUnauthorized)
			return
		case jkt != tok.jkt:
			w.Header().Set("WWW-Authenticate", `DPoP error="invalid_dpop_proof", error_description="key mismatch"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		case nonceWrong:
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`)
			w.Header().Set("DPoP-Nonce", nonce)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	default:
		deny("")
		return
	}
	f.logs(w, r, hit)
}

// hijackClose drops the connection without an answer (a reset).
func hijackClose(t *testing.T, w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN
	}
	_ = conn.Close()
}

// hijackRaw writes raw bytes and drops the connection.
func hijackRaw(t *testing.T, w http.ResponseWriter, raw string) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	_, _ = buf.WriteString(raw)
	_ = buf.Flush()
	_ = conn.Close()
}

const testAPIToken = "00SSWS-test-token-zzz"

// newTestClient builds a client on the fake server's clock, with backoff in
// milliseconds so retry tests are quick.
func newTestClient(t *testing.T, f *fakeOkta, mutate func(*Settings)) *Client {
	t.Helper()
	s := Settings{
		Tenant:  "acme",
		BaseURL: f.baseURL(),
		Auth:    config.Auth{Method: config.AuthAPIToken, Token: config.Secret(testAPIToken)},
		Now:     f.clock.Now,
		Sleep:   f.clock.Sleep,
	}
	if f.apiToken == "" {
		f.apiToken = testAPIToken
	}
	if mutate != nil {
		mutate(&s)
	}
	c, err := New(s)
	require.NoError(t, err)
	c.retry.RetryWaitMin, c.retry.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	t.Cleanup(c.CloseIdleConnections)
	return c
}
