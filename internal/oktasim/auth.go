package oktasim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// assertionMaxAge is how far ahead a client assertion's exp may be
	// ("at most 1 h"), plus a minute of clock skew.
	assertionMaxAge = time.Hour + time.Minute
	// proofSkew bounds a DPoP proof's iat around now.
	proofSkew = 5 * time.Minute
	// maxTokens triggers pruning of expired access tokens.
	maxTokens = 1024
)

// jwsAlgs are the algorithms Okta accepts for client assertions and DPoP
// proofs.
var jwsAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512}

type authServer struct {
	apiTokens     map[string]bool
	clients       map[string]*registeredClient
	open          bool // no tokens and no clients: no auth
	tokenLifetime time.Duration
	nonceLifetime time.Duration
	nonceKey      []byte

	mu     sync.Mutex
	tokens map[string]*accessToken
	jtis   map[string]time.Time // used jti → when it can be forgotten
}

type registeredClient struct {
	Client
	key any // go-jose verification key; nil without PublicKey
}

type accessToken struct {
	clientID string
	scopes   []string
	expires  time.Time
	jkt      string // DPoP key thumbprint; "" for Bearer tokens
}

// principal is who a resource request is authenticated as.
type principal struct {
	key  string // rate-limit key: "ssws:<n>", "client:<id>" or "anonymous"
	ssws bool
	// token is the SSWS token (people: its owner's roles); tokenID the API
	// token's id (00T...), what System Log events name in
	// transaction.detail.requestApiTokenId; clientID the OAuth client.
	token    string
	tokenID  string
	clientID string
}

func newAuthServer(oo OrgOptions) (*authServer, error) {
	a := &authServer{
		apiTokens:     map[string]bool{},
		clients:       map[string]*registeredClient{},
		open:          len(oo.Tokens) == 0 && len(oo.Clients) == 0 && len(oo.TokenOwners) == 0,
		tokenLifetime: oo.TokenLifetime,
		nonceLifetime: oo.NonceLifetime,
		nonceKey:      make([]byte, 32),
		tokens:        map[string]*accessToken{},
		jtis:          map[string]time.Time{},
	}
	if a.tokenLifetime <= 0 {
		a.tokenLifetime = defaultTokenLifetime
	}
	if a.nonceLifetime <= 0 {
		a.nonceLifetime = defaultNonceLifetime
	}
	_, _ = rand.Read(a.nonceKey)
	for _, t := range oo.Tokens {
		a.apiTokens[t] = true
	}
	for _, c := range oo.Clients {
		rc := &registeredClient{Client: c}
		if len(rc.Scopes) == 0 {
			rc.Scopes = []string{scopeLogsRead}
		}
		if c.PublicKey != nil {
			k, err := verificationKey(c.PublicKey)
			if err != nil {
				return nil, fmt.Errorf("client %s: %w", c.ID, err)
			}
			rc.key = k
		}
		a.clients[c.ID] = rc
	}
	return a, nil
}

func (a *authServer) expireAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range a.tokens {
		t.expires = time.Time{}
	}
}

// useJTI records a jti; false when it was already used.
func (a *authServer) useJTI(jti string, keep time.Time, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if until, ok := a.jtis[jti]; ok && now.Before(until) {
		return false
	}
	if len(a.jtis) > 4*maxTokens {
		for k, until := range a.jtis {
			if !now.Before(until) {
				delete(a.jtis, k)
			}
		}
	}
	a.jtis[jti] = keep
	return true
}

func (a *authServer) issue(c *registeredClient, scopes []string, jkt string, now time.Time) string {
	tok := rand.Text() + rand.Text()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.tokens) >= maxTokens {
		for k, t := range a.tokens {
			if !now.Before(t.expires) {
				delete(a.tokens, k)
			}
		}
	}
	a.tokens[tok] = &accessToken{clientID: c.ID, scopes: scopes, expires: now.Add(a.tokenLifetime), jkt: jkt}
	return tok
}

func (a *authServer) lookup(tok string) (accessToken, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tokens[tok]
	if !ok {
		return accessToken{}, false
	}
	return *t, true
}

// requestURL is the URL the request reached, without query: what aud and
// htu must name.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path
}

// serveToken is the org authorization server's token endpoint
// (client_credentials only).
func (o *Org) serveToken(w *recorder, r *http.Request) {
	if r.Method != http.MethodPost {
		o.methodNotAllowed(w)
		return
	}
	fx := o.faults.draw(EndpointToken)
	o.countFaults(fx)
	if !applyDelay(r, fx.delay) {
		return
	}
	now := o.now()
	if fx.fail != nil {
		o.fail(w, fx.fail, now)
		return
	}
	w.Header().Set("Cache-Control", "no-cache, no-store")
	w.Header().Set("Pragma", "no-cache")
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The request body is not a valid form.")
		return
	}
	if gt := r.Form.Get("grant_type"); gt != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type",
			fmt.Sprintf("The authorization grant type is not supported by the authorization server. Configured grant types: [client_credentials]. Got: '%s'.", gt))
		return
	}
	tokenURL := requestURL(r)
	c, assertionJTI, desc := o.auth.authenticateClient(r, tokenURL, now)
	if c == nil {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", desc)
		return
	}
	var jkt string
	if proof := r.Header.Get("DPoP"); proof != "" || c.RequireDPoP {
		if proof == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
			return
		}
		p, perr := o.auth.verifyProof(proof, http.MethodPost, tokenURL, now)
		if perr != nil {
			if perr.nonce {
				w.Header().Set("DPoP-Nonce", o.auth.currentNonce(now))
				writeOAuthError(w, http.StatusBadRequest, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof.")
				return
			}
			writeOAuthError(w, http.StatusBadRequest, "invalid_dpop_proof", perr.desc)
			return
		}
		jkt = p.jkt
	}
	scopes := strings.Fields(r.Form.Get("scope"))
	if len(scopes) == 0 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope",
			"The authorization server resource does not have any configured default scopes, 'scope' must be provided.")
		return
	}
	for _, s := range scopes {
		if !slices.Contains(o.people.grantedScopes(c.ID, c.Scopes), s) {
			writeOAuthError(w, http.StatusBadRequest, "invalid_scope",
				"The following scopes are not allowed for this client: "+s)
			return
		}
	}
	if assertionJTI != "" && !o.auth.useJTI("assertion:"+assertionJTI, now.Add(assertionMaxAge), now) {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "The client_assertion token has already been used.")
		return
	}
	tok := o.auth.issue(c, scopes, jkt, now)
	o.stats.tokensIssued.Add(1)
	tokenType := "Bearer"
	if jkt != "" {
		tokenType = "DPoP"
	}
	body, _ := json.Marshal(map[string]any{
		"token_type":   tokenType,
		"expires_in":   int(o.auth.tokenLifetime / time.Second),
		"access_token": tok,
		"scope":        strings.Join(scopes, " "),
	})
	ans := o.faults.drawAnswer(EndpointToken)
	o.countFaults(ans)
	writeBody(w, body, ans.body, len(body)/2)
}

// authenticateClient checks client_secret (Basic or form) or
// private_key_jwt; on failure it returns nil and the error description.
// The assertion's jti is returned so it is only spent on a token.
func (a *authServer) authenticateClient(r *http.Request, tokenURL string, now time.Time) (*registeredClient, string, string) {
	const generic = "Client authentication failed. Either the client or the client credentials are invalid."
	if id, secret, ok := r.BasicAuth(); ok {
		// RFC 6749 §2.3.1: client_secret_basic form-encodes the client id
		// and secret before Base64 (golang.org/x/oauth2 and riskpipe do
		// so); clients that send them unencoded are accepted too.
		if did, err := url.QueryUnescape(id); err == nil {
			if dsecret, err := url.QueryUnescape(secret); err == nil {
				if c, _, _ := a.checkSecret(did, dsecret, generic); c != nil {
					return c, "", ""
				}
			}
		}
		return a.checkSecret(id, secret, generic)
	}
	if assertion := r.Form.Get("client_assertion"); assertion != "" {
		if r.Form.Get("client_assertion_type") != clientAssertionType {
			return nil, "", "The client_assertion_type is invalid: expected " + clientAssertionType + "."
		}
		return a.checkAssertion(assertion, r.Form.Get("client_id"), tokenURL, now)
	}
	if secret := r.Form.Get("client_secret"); secret != "" {
		return a.checkSecret(r.Form.Get("client_id"), secret, generic)
	}
	return nil, "", "Client authentication failed: no client credentials were provided."
}

func (a *authServer) checkSecret(id, secret, generic string) (*registeredClient, string, string) {
	c := a.clients[id]
	if c == nil || c.Secret == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return nil, "", generic
	}
	return c, "", ""
}

func (a *authServer) checkAssertion(assertion, formID, tokenURL string, now time.Time) (*registeredClient, string, string) {
	tok, err := jwt.ParseSigned(assertion, jwsAlgs)
	if err != nil {
		return nil, "", "The client_assertion is not a valid signed JWT."
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, "", "The client_assertion claims are invalid."
	}
	id := formID
	if id == "" {
		id = unverified.Issuer
	}
	c := a.clients[id]
	if c == nil {
		return nil, "", "The client_id is not valid."
	}
	if c.key == nil {
		return nil, "", "The client is not registered for private_key_jwt."
	}
	var cl jwt.Claims
	if err := tok.Claims(c.key, &cl); err != nil {
		return nil, "", "The client_assertion signature is invalid."
	}
	switch {
	case cl.Issuer != c.ID || cl.Subject != c.ID:
		return nil, "", "The iss and sub claims of the client_assertion must both be the client_id."
	case !cl.Audience.Contains(tokenURL):
		return nil, "", "The audience claim for client_assertion must be the endpoint invoked for the request: " + tokenURL
	case cl.Expiry == nil || !now.Before(cl.Expiry.Time()):
		return nil, "", "The client_assertion token is expired."
	case cl.Expiry.Time().After(now.Add(assertionMaxAge)):
		return nil, "", "The client_assertion token has an expiration too far into the future."
	}
	return c, cl.ID, ""
}

// authenticate checks a System Log request's credentials. On failure it
// writes the answer (with the org bucket's rate-limit headers) and returns
// false.
func (o *Org) authenticate(w *recorder, r *http.Request, now time.Time) (principal, bool) {
	return o.authenticateScope(w, r, now, scopeLogsRead, o.limits)
}

// authenticateFor is authenticate for an endpoint whose OAuth scope is
// scope (the org bucket's headers on rejections).
func (o *Org) authenticateFor(w *recorder, r *http.Request, now time.Time, scope string) (principal, bool) {
	return o.authenticateScope(w, r, now, scope, o.limits)
}

// authenticateScope is authenticate for an endpoint needing scope (OAuth
// access tokens; an SSWS token acts with its admin's rights), whose
// rejections carry the headers of the bucket lim.
func (o *Org) authenticateScope(w *recorder, r *http.Request, now time.Time, scope string, lim *limiter) (principal, bool) {
	a := o.auth
	if a.open {
		return principal{key: "anonymous"}, true
	}
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	reject := func(status int, challenge, code, summary string) (principal, bool) {
		if !lim.opts.Disabled {
			setRateHeaders(w.Header(), lim.peek(now))
		}
		if challenge != "" {
			w.Header().Set("WWW-Authenticate", challenge)
		}
		writeOktaError(w, o.srv.newID("oae", 22), status, code, summary)
		return principal{}, false
	}
	invalidToken := func(scheme, desc string) (principal, bool) {
		return reject(http.StatusUnauthorized,
			fmt.Sprintf(`%s realm="IdentityProvider", error="invalid_token", error_description=%q`, scheme, desc),
			"E0000011", "Invalid token provided")
	}
	switch strings.ToLower(scheme) {
	case "ssws":
		if cred == "" || !o.people.tokenValid(cred) {
			return reject(http.StatusUnauthorized, "", "E0000011", "Invalid token provided")
		}
		if o.faults.drawKind(FaultUnauthorized) {
			o.stats.fault(FaultUnauthorized)
			return reject(http.StatusUnauthorized, "", "E0000011", "Invalid token provided")
		}
		return principal{key: "ssws:" + tokenKey(cred), ssws: true, token: cred, tokenID: apiTokenID(cred)}, true
	case "bearer", "dpop":
		dpop := strings.EqualFold(scheme, "dpop")
		challenge := "Bearer"
		if dpop {
			challenge = "DPoP"
		}
		t, ok := a.lookup(cred)
		switch {
		case !ok:
			return invalidToken(challenge, "The access token is invalid.")
		case !now.Before(t.expires):
			return invalidToken(challenge, "The access token is expired.")
		case !dpop && t.jkt != "":
			return invalidToken("DPoP", "The access token is DPoP-bound: use the DPoP authorization scheme with a DPoP proof.")
		case dpop && t.jkt == "":
			return invalidToken("Bearer", "The access token is not DPoP-bound: use the Bearer authorization scheme.")
		}
		if dpop {
			p, perr := a.verifyProof(r.Header.Get("DPoP"), r.Method, requestURL(r), now)
			switch {
			case perr != nil && perr.nonce:
				w.Header().Set("DPoP-Nonce", a.currentNonce(now))
				return reject(http.StatusUnauthorized,
					`DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`,
					"E0000011", "Resource server requires nonce in DPoP proof")
			case perr != nil:
				return reject(http.StatusUnauthorized,
					fmt.Sprintf(`DPoP error="invalid_dpop_proof", error_description=%q`, perr.desc),
					"E0000011", "Invalid token provided")
			case p.jkt != t.jkt:
				return reject(http.StatusUnauthorized,
					`DPoP error="invalid_dpop_proof", error_description="The DPoP proof key does not match the access token binding."`,
					"E0000011", "Invalid token provided")
			case p.ath != accessTokenHash(cred):
				return reject(http.StatusUnauthorized,
					`DPoP error="invalid_dpop_proof", error_description="The DPoP proof 'ath' claim does not match the access token."`,
					"E0000011", "Invalid token provided")
			}
		}
		if !hasScope(t.scopes, scope) {
			return reject(http.StatusForbidden,
				fmt.Sprintf(`%s realm="IdentityProvider", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", scope=%q`, challenge, scope),
				"E0000006", "You do not have permission to perform the requested action")
		}
		return principal{key: "client:" + t.clientID, clientID: t.clientID}, true
	}
	return reject(http.StatusUnauthorized, "", "E0000011", "Invalid token provided")
}

// hasScope reports whether granted covers need: the scope itself or, for
// okta.X.read, okta.X.manage (Okta's manage scopes include reading).
func hasScope(granted []string, need string) bool {
	if slices.Contains(granted, need) {
		return true
	}
	if base, ok := strings.CutSuffix(need, ".read"); ok {
		return slices.Contains(granted, base+".manage")
	}
	return false
}

// apiTokenID is the id Okta gives an API token (00T + 17 characters),
// derived from the token so it is stable across restarts.
func apiTokenID(tok string) string {
	id := "00T" + strconv.FormatUint(hashString("token-id:"+tok), 36)
	for len(id) < 20 {
		id += "0"
	}
	return id[:20]
}

// tokenKey identifies an API token in rate-limit keys without keeping it.
func tokenKey(tok string) string { return strconv.FormatUint(hashString(tok), 36) }
