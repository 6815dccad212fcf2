// Package okta is riskpipe's Okta System Log client: one Client per org
// (tenant) fetches pages of GET /api/v1/logs and hands back raw events, the
// next link and the rate-limit state, with typed errors the poller can act
// on.
//
// # What the client does
//
//   - Auth: SSWS API tokens, or OAuth 2.0 client credentials at the org
//     authorization server ({BaseURL}/oauth2/v1/token) with private_key_jwt
//     (RS256 for RSA keys, ES256/384/512 for EC keys) or client_secret_basic.
//     Access tokens are cached until shortly before expires_in and refreshed
//     once on a 401. DPoP (RFC 9449) is supported in modes never, always and
//     auto (default): auto turns DPoP on when the token endpoint asks for it
//     (400 invalid_dpop_proof or use_dpop_nonce, or a token_type DPoP), runs
//     the use_dpop_nonce handshake at the token endpoint and at the resource,
//     and keeps one nonce per server. The DPoP key is an ephemeral P-256 key
//     per Client.
//   - Rate limiting: an x/time/rate limiter per Client waits before every
//     attempt, retries included. It starts at 10 requests/min, burst 1
//     (below every plan's per-token share of /api/v1/logs, so nothing trips
//     before Okta has told us the real limit), then follows the response
//     headers: rate = RateLimitShare × X-Rate-Limit-Limit per minute, and a
//     pause until X-Rate-Limit-Reset once X-Rate-Limit-Remaining falls to
//     (1-share) × Limit, the part of the window left for others. A 429 makes
//     the next request wait until RateLimitedError.Until, even if the caller
//     ignores the error. Reset times are corrected for clock skew with the
//     server's Date header.
//   - Retries: go-retryablehttp retries 5xx, attempt timeouts, connection
//     errors and bodies cut short, MaxRetries times, with capped exponential
//     backoff (250ms to 10s) and jitter. It never retries 429 (the poller
//     waits for the reset outside any request timeout) or other 4xx. Each
//     attempt gets its own RequestTimeout, which does not include limiter
//     waits or token requests.
//   - Links: RFC 8288 Link headers are parsed in full (several links per
//     header, several headers, quoted and multi-valued rel, relative
//     targets resolved against the request URL). A next link (or page URL)
//     on another scheme or host is refused with a PermanentError, since
//     following it would hand our credentials to that host.
//   - Secrets never appear in errors or logs: server-supplied error text is
//     scrubbed of the API token, client secret, access token and client
//     assertion before it goes into an error.
//
// # Why not the okta-sdk-golang v2 request executor
//
// The SDK (v2.20.0) is used only where it is safe: query.NewQueryParams
// builds the first polling URL, and okta.Error decodes Okta's error bodies
// (errorCode/errorSummary/errorCauses, and error/error_description from the
// OAuth endpoints). Its RequestExecutor is not used for polling because:
//
//   - it caches GET responses, log pages included, for 5 minutes by
//     default; once caught up, Okta's next link repeats, so a poller would
//     see the same cached empty page for 5 minutes;
//   - the http.Client it builds has no timeout (its ConnectionTimeout
//     setting is silently ignored);
//   - after its 429 retries it returns a plain error and drops the response
//     and its headers, so the reset time is lost; it retries neither 5xx nor
//     most connection errors;
//   - on a body decode error it returns a nil response, losing the Link
//     header, so a malformed page could not be skipped or dead-lettered;
//   - it strips scheme and host from next links and merges the original
//     query into them, instead of following them as Okta says;
//   - it has no DPoP and no client_secret mode, and reads OKTA_* variables
//     and ~/.okta/okta.yaml, which can leak settings between tenants.
//
// The token request is hand-rolled with net/http and go-jose/v4 rather
// than golang.org/x/oauth2/clientcredentials: DPoP needs a fresh proof
// header on every token request, the use_dpop_nonce handshake needs the
// error response's headers, the token_type decides the resource scheme,
// and a private_key_jwt assertion must be newly signed (jti, exp) for each
// request, which clientcredentials' static EndpointParams cannot do.
//
// # Telling the outcomes apart
//
// Fetch returns either a *Page or an error:
//
//   - a page with Invalid == nil: Events are the page's events (empty when
//     caught up); follow Next;
//   - a page with Invalid != nil: Okta answered 2xx with a complete body
//     that is not a JSON array. Body holds it for the dead letter; Next and
//     Self are still set, so the poller can move on;
//   - *RetryableError: no usable answer after the retries (5xx, timeout,
//     connection error, or a body cut short in transit, which is a
//     transport failure, never an Invalid page); try the same URL later;
//   - *RateLimitedError: wait until Until, then try the same URL;
//   - *AuthError: credentials or permissions; retry slowly;
//   - *PermanentError: the request itself is wrong (400, a next link to
//     another host...); the same URL will fail again;
//   - the context's error (errors.Is(err, context.Canceled) or
//     DeadlineExceeded): the caller gave up; none of the predicates match.
package okta
