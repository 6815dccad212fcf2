package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Get sends one GET of path (relative to the base URL, e.g.
// "api/v1/users/me") with query and decodes a 2xx JSON answer into v (nil:
// the answer is discarded). It never sends anything but a GET: it is what
// permission checks use to find out what a credential may do. It is not
// paced by the System Log limiter (other endpoints are other buckets in
// Okta) and not retried: a check is a handful of requests. Errors are
// typed as Fetch's; a 403 is an *AuthError that IsForbidden reports.
func (c *Client) Get(ctx context.Context, path string, query url.Values, v any) error {
	u := c.base.JoinPath(path)
	u.RawQuery = query.Encode()
	var nonceRetried, tokenRetried bool
	for {
		res, err := c.getOnce(ctx, u)
		if err != nil {
			return err
		}
		if c.retryUnauthorized(res, &nonceRetried, &tokenRetried) {
			continue
		}
		if err := c.answerError(res); err != nil {
			return err
		}
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(res.body, v); err != nil {
			return &PermanentError{Status: res.status, Summary: "invalid JSON answer", Err: err}
		}
		return nil
	}
}

// getOnce sends one authorized GET under the request timeout.
func (c *Client) getOnce(ctx context.Context, u *url.URL) (*response, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &PermanentError{Summary: "build request", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if err := c.authorize(ctx, req); err != nil {
		return nil, classifyTransport(err)
	}
	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("okta get: %w", ctx.Err())
		}
		return nil, classifyTransport(err)
	}
	defer resp.Body.Close()
	body, _, err := readBody(nil, resp.Body, resp.ContentLength, maxErrorBytes*16)
	if err != nil {
		return nil, &RetryableError{Status: resp.StatusCode, Err: fmt.Errorf("read body: %w", err)}
	}
	if c.dpop != nil {
		c.dpop.setNonce(resourceServer, resp.Header.Get("DPoP-Nonce"))
	}
	res := &response{status: resp.StatusCode, header: resp.Header, body: body}
	if _, tok, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok {
		res.sentToken = tok
	}
	return res, nil
}

// answerError is the typed error of a non-2xx answer (nil for a 2xx); a
// 429 also blocks the limiter until Okta's reset.
func (c *Client) answerError(res *response) error {
	switch s := res.status; {
	case ok2xx(s):
		return nil
	case s == http.StatusTooManyRequests:
		rl, present := parseRateLimit(res.header)
		until := retryAt(res.header, c.now())
		c.limiter.block(until)
		concurrency := present && rl.Limit == 0
		c.metrics.limited(c.tenant, concurrency)
		return &RateLimitedError{Until: until, Concurrency: concurrency, Limit: rl.Limit, Remaining: rl.Remaining}
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		ae, _ := decodeAPIError(res.body, c.scrub)
		if ae.Code == "" {
			// A DPoP or Bearer rejection may only be in WWW-Authenticate.
			for _, ch := range parseChallenges(res.header.Values("WWW-Authenticate")) {
				if e := ch.Params["error"]; e != "" {
					ae.Code, ae.Summary = e, c.scrub(ch.Params["error_description"])
					break
				}
			}
		}
		return &AuthError{Status: s, Code: ae.Code, Summary: ae.Summary}
	case s >= 500:
		return &RetryableError{Status: s, Err: serverError(s, res.body, c.scrub)}
	default:
		ae, _ := decodeAPIError(res.body, c.scrub)
		return &PermanentError{Status: s, Code: ae.Code, Summary: ae.Summary, Causes: ae.Causes}
	}
}

// GrantedScopes returns the scopes Okta granted the client's access token
// (the token response's scope), getting a token if none is cached; nil for
// an API token, which has no scopes. A token request Okta refuses is an
// *AuthError (invalid_scope when a configured scope is not granted).
func (c *Client) GrantedScopes(ctx context.Context) ([]string, error) {
	if c.tokens == nil {
		return nil, nil
	}
	t, err := c.tokens.token(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Clone(t.scopes), nil
}

// UsesAPIToken reports whether the client authenticates with an SSWS API
// token (else with OAuth).
func (c *Client) UsesAPIToken() bool { return c.tokens == nil }

// ClientID is the OAuth client id ("" for an API token).
func (c *Client) ClientID() string {
	if c.tokens == nil {
		return ""
	}
	return c.tokens.clientID
}

// IsForbidden reports whether err is Okta's 403: the credential is valid
// but lacks a permission (E0000006, or an access token without the
// scope).
func IsForbidden(err error) bool {
	ae, ok := errors.AsType[*AuthError](err)
	return ok && ae.Status == http.StatusForbidden
}

// AuthCode returns the Okta or OAuth error code of an *AuthError in err
// ("E0000011", "invalid_scope", "invalid_client"), or "".
func AuthCode(err error) string {
	if ae, ok := errors.AsType[*AuthError](err); ok {
		return ae.Code
	}
	return ""
}
