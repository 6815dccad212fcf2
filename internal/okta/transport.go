package okta

import (
	"context"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// authorize sets the Authorization (and DPoP) headers of one attempt.
func (c *Client) authorize(ctx context.Context, r *http.Request) error {
	if c.tokens == nil {
		r.Header.Set("Authorization", "SSWS "+c.ssws)
		return nil
	}
	tok, err := c.tokens.token(ctx)
	if err != nil {
		return err
	}
	if !tok.dpop {
		r.Header.Set("Authorization", "Bearer "+tok.value)
		return nil
	}
	proof, err := c.dpop.proof(r.Method, r.URL, resourceServer, tok.value, c.now())
	if err != nil {
		return &PermanentError{Summary: "dpop proof", Err: err}
	}
	r.Header.Set("Authorization", "DPoP "+tok.value)
	r.Header.Set("DPoP", proof)
	return nil
}

// observe records what every API response says about limits and nonces.
func (c *Client) observe(resp *http.Response, d time.Duration) {
	c.metrics.attempt(c.tenant, resp.StatusCode, d)
	rl, changed := c.limiter.observe(resp.Header)
	if _, ok := headerInt(resp.Header, "X-Rate-Limit-Remaining"); ok {
		c.metrics.setRemaining(c.tenant, rl.Remaining)
	}
	if changed {
		c.log.Debug("okta rate adapted", "limit", rl.Limit, "per_minute", c.limiter.lim.Limit()*60)
	}
	if c.dpop != nil {
		c.dpop.setNonce(resourceServer, resp.Header.Get("DPoP-Nonce"))
	}
}

// apiTransport wraps every API attempt, retries included: wait for the
// limiter, authorize (fresh DPoP proof each time), then run the attempt
// under RequestTimeout.
type apiTransport struct{ c *Client }

func (t *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.c
	ctx := req.Context()
	if err := c.limiter.wait(ctx); err != nil {
		return nil, err
	}
	r := req.Clone(ctx)
	if err := c.authorize(ctx, r); err != nil {
		return nil, err
	}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	start := time.Now()
	resp, err := c.transport.RoundTrip(r.WithContext(actx))
	if err != nil {
		cancel()
		c.metrics.attempt(c.tenant, 0, 0)
		if ctx.Err() == nil && actx.Err() != nil {
			err = &attemptTimeoutError{d: c.timeout}
		}
		return nil, err
	}
	c.observe(resp, time.Since(start))
	resp.Body = &attemptBody{ReadCloser: resp.Body, parent: ctx, attempt: actx, cancel: cancel, timeout: c.timeout}
	return resp, nil
}

func (t *apiTransport) CloseIdleConnections() { t.c.CloseIdleConnections() }

// attemptBody ends the attempt's context when the body is closed, and
// reports a read cut by the attempt timeout as a timeout.
type attemptBody struct {
	io.ReadCloser
	parent, attempt context.Context
	cancel          context.CancelFunc
	timeout         time.Duration
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.parent.Err() == nil && b.attempt.Err() != nil {
		err = &attemptTimeoutError{d: b.timeout}
	}
	return n, err
}

func (b *attemptBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// checkRetry is the retry policy: retry 5xx (not 501) and retryable
// transport errors; never 429 (the caller waits for the reset), never
// other 4xx, never once ctx has ended.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return transportRetryable(err), nil
	}
	return resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented, nil
}

// backoff is capped exponential backoff with jitter: a random wait in
// [d/2, d] where d = min·2^attempt, at most max.
func backoff(minWait, maxWait time.Duration, attempt int, _ *http.Response) time.Duration {
	d := maxWait
	if attempt < 30 {
		d = min(minWait<<attempt, maxWait)
	}
	if d <= 1 {
		return d
	}
	return d/2 + randDuration(d/2)
}

func randDuration(d time.Duration) time.Duration { return time.Duration(mrand.Int64N(int64(d) + 1)) }

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func sameOrigin(a, b *url.URL) bool { return origin(a) == origin(b) }

// origin is scheme://host:port, lower-cased, with the default port filled in.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// defaultTransport is http.DefaultTransport's clone with explicit dial and
// TLS timeouts (the response itself is bounded by RequestTimeout).
func defaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 0
	t.IdleConnTimeout = 90 * time.Second
	t.MaxIdleConnsPerHost = 4
	return t
}
