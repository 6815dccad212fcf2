package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/okta/okta-sdk-golang/v2/okta/query"

	"github.com/riskpipe/riskpipe/internal/config"
)

// Settings configure one tenant's client.
type Settings struct {
	Tenant  string // label for metrics and logs
	BaseURL string // https://acme.okta.com, or with a path prefix: http://127.0.0.1:8800/o/acme
	Auth    config.Auth
	// RateLimitShare is the fraction of the org's /api/v1/logs budget this
	// client may use; default 0.5, must be in (0, 1].
	RateLimitShare float64
	// RequestTimeout bounds one attempt (connect to end of body); default
	// 60s. Rate-limit waits and backoff are not counted.
	RequestTimeout time.Duration
	// MaxRetries is how many times one Fetch retries 5xx, timeouts and
	// connection errors; 0 means the default 3, negative means none.
	MaxRetries int
	// Transport is the base transport; default a clone of
	// http.DefaultTransport with dial and TLS handshake timeouts.
	Transport http.RoundTripper
	Logger    *slog.Logger // default: discard; the caller adds the tenant attribute
	Metrics   *Metrics     // optional, shared by all tenants
	UserAgent string       // default "riskpipe/<module version>"
	// Now and Sleep are the clock; tests inject a fake one so rate-limit
	// waits take no time. Sleep returns ctx's error if ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Buffers, shared by all tenants' clients, bounds the page bodies held
	// at once (optional: without, every page body is a new allocation).
	// With it, every Page must be Released.
	Buffers *Buffers
}

// Page is one System Log response.
type Page struct {
	// Events are the array's elements, unparsed and unchecked (sub-slices of
	// Body: an element that is not valid JSON is for the event decoder to
	// dead-letter); nil when Invalid is set, empty (not nil) for an empty
	// page.
	Events []json.RawMessage
	// Body is the raw response body, kept so a malformed page can be
	// dead-lettered, never lost.
	Body []byte
	// Invalid is set when the complete body is not one JSON array (Okta
	// sent garbage or a cut-off array with correct HTTP framing): see
	// splitArray. Next and Self
	// are still set from the headers.
	Invalid error
	// Next is the absolute rel="next" URL ("" if none), always on the same
	// scheme and host as BaseURL. Self is rel="self".
	Next string
	Self string
	// RateLimit is what this response's X-Rate-Limit-* headers said.
	RateLimit RateLimit

	release func() // gives Body's buffer back (Settings.Buffers)
}

// Release ends the page's use of its body buffer, which another page may
// then reuse: Body and Events are nil afterwards, so copy first what must
// outlive the page (the classifier copies the events it keeps). It is safe
// to call more than once, and needed only with Settings.Buffers.
func (p *Page) Release() {
	if p.release != nil {
		p.release()
		p.release = nil
	}
	p.Body, p.Events = nil, nil
}

const (
	defaultMaxRetries = 3
	retryWaitMin      = 250 * time.Millisecond
	retryWaitMax      = 10 * time.Second
	// maxPageBytes caps a page body (1000 events are a few MB). A larger
	// body is kept up to the cap and marked Invalid.
	maxPageBytes = 64 << 20
	// maxErrorBytes caps the error bodies we read.
	maxErrorBytes = 64 << 10
	logsPath      = "api/v1/logs"
	tokenPath     = "oauth2/v1/token"
)

// Client reads one org's System Log. It is safe for concurrent use, but one
// poller per tenant is the intended use.
type Client struct {
	tenant    string
	base      *url.URL
	ssws      string       // api_token
	tokens    *tokenSource // OAuth; nil for api_token
	dpop      *dpopState   // nil for api_token or dpop: never
	limiter   *limiter
	retry     *retryablehttp.Client
	transport http.RoundTripper // base
	timeout   time.Duration
	userAgent string
	log       *slog.Logger
	metrics   *Metrics
	now       func() time.Time
	buffers   *Buffers // nil: no reuse
}

// New builds a client; it starts nothing and sends nothing.
func New(s Settings) (*Client, error) {
	if s.Tenant == "" {
		return nil, errors.New("okta client: tenant is empty")
	}
	base, err := parseBaseURL(s.BaseURL)
	if err != nil {
		return nil, err
	}
	share := s.RateLimitShare
	if share == 0 {
		share = config.Default().Poll.RateLimitShare
	}
	if !(share > 0 && share <= 1) {
		return nil, fmt.Errorf("okta client: rate limit share %v not in (0, 1]", s.RateLimitShare)
	}
	timeout := s.RequestTimeout
	if timeout == 0 {
		timeout = config.Default().Poll.RequestTimeout
	}
	if timeout < 0 {
		return nil, fmt.Errorf("okta client: negative request timeout %s", timeout)
	}
	retries := s.MaxRetries
	if retries == 0 {
		retries = defaultMaxRetries
	}
	retries = max(retries, 0)
	c := &Client{
		tenant:    s.Tenant,
		base:      base,
		transport: s.Transport,
		timeout:   timeout,
		userAgent: s.UserAgent,
		log:       s.Logger,
		metrics:   s.Metrics,
		now:       s.Now,
		buffers:   s.Buffers,
	}
	if c.transport == nil {
		c.transport = defaultTransport()
	}
	if c.userAgent == "" {
		c.userAgent = "riskpipe/" + version()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	sleep := s.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	c.limiter = newLimiter(share, c.now, sleep)
	if err := c.setupAuth(s.Auth); err != nil {
		return nil, err
	}
	c.retry = &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport:     &apiTransport{c: c},
			CheckRedirect: noRedirect,
		},
		RetryWaitMin: retryWaitMin,
		RetryWaitMax: retryWaitMax,
		RetryMax:     retries,
		CheckRetry:   checkRetry,
		Backoff:      backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return c, nil
}

func (c *Client) setupAuth(a config.Auth) error {
	switch a.Method {
	case config.AuthAPIToken:
		if a.Token.IsZero() {
			return errors.New("okta client: api_token auth without a token")
		}
		c.ssws = a.Token.Reveal()
		return nil
	case config.AuthPrivateKeyJWT, config.AuthClientSecret:
	default:
		return fmt.Errorf("okta client: unknown auth method %q", a.Method)
	}
	if a.ClientID == "" {
		return fmt.Errorf("okta client: %s auth without a client_id", a.Method)
	}
	ts := &tokenSource{
		tenant:    c.tenant,
		method:    a.Method,
		clientID:  a.ClientID,
		tokenURL:  c.base.JoinPath(tokenPath),
		userAgent: c.userAgent,
		now:       c.now,
		metrics:   c.metrics,
		log:       c.log,
		sem:       make(chan struct{}, 1),
		http: &http.Client{
			Transport:     c.transport,
			Timeout:       c.timeout,
			CheckRedirect: noRedirect,
		},
	}
	scopes := a.Scopes
	if len(scopes) == 0 {
		scopes = []string{"okta.logs.read"}
	}
	ts.scope = strings.Join(scopes, " ")
	switch a.Method {
	case config.AuthPrivateKeyJWT:
		if a.Signer == nil {
			return errors.New("okta client: private_key_jwt auth without a parsed private key")
		}
		s, err := assertionSigner(a.Signer, a.KeyID)
		if err != nil {
			return fmt.Errorf("okta client: %w", err)
		}
		ts.assertion = s
	case config.AuthClientSecret:
		if a.ClientSecret.IsZero() {
			return errors.New("okta client: client_secret auth without a secret")
		}
		ts.secret = a.ClientSecret.Reveal()
	}
	switch a.DPoP {
	case config.DPoPNever:
	case "", config.DPoPAuto, config.DPoPAlways:
		mode := a.DPoP
		if mode == "" {
			mode = config.DPoPAuto
		}
		d, err := newDPoP(mode)
		if err != nil {
			return fmt.Errorf("okta client: %w", err)
		}
		c.dpop, ts.dpop = d, d
	default:
		return fmt.Errorf("okta client: unknown dpop mode %q", a.DPoP)
	}
	c.tokens = ts
	return nil
}

func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil {
		return nil, fmt.Errorf("okta client: base url: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("okta client: base url %q: want http(s)://host[/prefix]", s)
	}
	return u, nil
}

// PollURL is the first URL of a polling query: BaseURL/api/v1/logs with
// since (UTC, millisecond RFC 3339), sortOrder=ASCENDING and limit. After
// it, follow Page.Next and never build URLs (Okta's advice). A zero since
// or limit is left out (Okta's defaults: 7 days back, 100).
func (c *Client) PollURL(since time.Time, limit int) string {
	var opts []query.ParamOptions
	if !since.IsZero() {
		opts = append(opts, query.WithSince(since.UTC().Format("2006-01-02T15:04:05.000Z")))
	}
	if limit > 0 {
		opts = append(opts, query.WithLimit(int64(limit)))
	}
	opts = append(opts, query.WithSortOrder("ASCENDING"))
	u := c.base.JoinPath(logsPath)
	u.RawQuery = strings.TrimPrefix(query.NewQueryParams(opts...).String(), "?")
	return u.String()
}

// RateLimit is the last X-Rate-Limit-* state seen from the API.
func (c *Client) RateLimit() RateLimit { return c.limiter.lastSeen() }

// CloseIdleConnections closes the base transport's idle connections (at
// shutdown; the client stays usable).
func (c *Client) CloseIdleConnections() {
	if ci, ok := c.transport.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Fetch GETs one page. pageURL is PollURL's result or a previous page's
// Next; it must be on BaseURL's scheme and host. Errors are typed:
// *RateLimitedError, *AuthError, *PermanentError, *RetryableError, or the
// context's error (wrapped) when ctx ends. A page whose body is not a JSON
// array is not an error: see Page.Invalid.
func (c *Client) Fetch(ctx context.Context, pageURL string) (*Page, error) {
	u, err := url.Parse(pageURL)
	if err != nil || !u.IsAbs() || u.User != nil {
		return nil, &PermanentError{Summary: "page url is not an absolute url without userinfo"}
	}
	if !sameOrigin(u, c.base) {
		return nil, &PermanentError{Summary: fmt.Sprintf("page url origin %s is not %s", origin(u), origin(c.base))}
	}
	var nonceRetried, tokenRetried bool
	for {
		res, err := c.get(ctx, u)
		if err != nil {
			return nil, err
		}
		// (Only 2xx bodies lease a buffer: a 401 has nothing to give back.)
		if c.retryUnauthorized(res, &nonceRetried, &tokenRetried) {
			continue
		}
		p, err := c.page(u, res)
		if err != nil && res.release != nil {
			res.release()
		}
		return p, err
	}
}

// retryUnauthorized reports whether a 401 answer to an OAuth request is
// worth one more try: with a new DPoP nonce, then with a new token, each
// at most once per request.
func (c *Client) retryUnauthorized(res *response, nonceRetried, tokenRetried *bool) bool {
	if res.status != http.StatusUnauthorized || c.tokens == nil {
		return false
	}
	if !*nonceRetried && c.dpop != nil && nonceChallenge(res.header.Values("WWW-Authenticate"), res.header.Get("DPoP-Nonce")) {
		*nonceRetried = true
		return true
	}
	if !*tokenRetried {
		*tokenRetried = true
		c.tokens.invalidate(res.sentToken)
		return true
	}
	return false
}

// response is one final answer, its body read.
type response struct {
	status    int
	header    http.Header
	body      []byte
	truncated bool   // body longer than maxPageBytes
	sentToken string // the access token the request carried
	release   func() // gives body's buffer back; nil if not leased
}

// get sends one request through the retry loop, the limiter and auth.
func (c *Client) get(ctx context.Context, u *url.URL) (*response, error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &PermanentError{Summary: "build request", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	// The handler reads the body inside the attempt (under its timeout),
	// so a body cut short is retried like a connection error.
	var (
		read      *http.Response
		body      []byte
		truncated bool
		lease     []byte // a Buffers buffer, held while body uses it
		leased    bool
	)
	giveBack := func() {
		if leased {
			c.buffers.put(lease)
			lease, leased = nil, false
		}
	}
	req.SetResponseHandler(func(resp *http.Response) error {
		giveBack() // an earlier attempt's
		read = resp
		limit := int64(maxErrorBytes)
		var buf []byte
		if ok2xx(resp.StatusCode) {
			limit = maxPageBytes
			if c.buffers != nil {
				var err error
				if buf, err = c.buffers.get(resp.Request.Context()); err != nil {
					return err
				}
				lease, leased = buf, true
			}
		}
		var err error
		body, truncated, err = readBody(buf, resp.Body, resp.ContentLength, limit)
		if leased {
			lease = body // it may have grown
		}
		if err != nil && ok2xx(resp.StatusCode) {
			giveBack()
			return &RetryableError{Status: resp.StatusCode, Err: fmt.Errorf("read body: %w", err)}
		}
		return nil
	})
	resp, err := c.retry.Do(req)
	if resp != nil {
		defer resp.Body.Close()
	}
	if ctx.Err() != nil {
		giveBack()
		return nil, fmt.Errorf("fetch page: %w", ctx.Err())
	}
	if err != nil {
		giveBack()
		return nil, classifyTransport(err)
	}
	if read != resp {
		// Retries ran out on a 5xx: the handler never saw this response.
		giveBack()
		body, _, _ = readBody(nil, resp.Body, resp.ContentLength, maxErrorBytes)
	}
	res := &response{status: resp.StatusCode, header: resp.Header, body: body, truncated: truncated}
	if leased {
		buf := lease
		res.release = func() { c.buffers.put(buf) }
	}
	if resp.Request != nil {
		auth := resp.Request.Header.Get("Authorization")
		if _, tok, ok := strings.Cut(auth, " "); ok {
			res.sentToken = tok
		}
	}
	return res, nil
}

func ok2xx(status int) bool { return status >= 200 && status < 300 }

// readBody reads at most limit bytes into buf (reused when big enough, else
// replaced); truncated reports a longer body. size is the announced
// Content-Length (-1 if unknown): a page is read into one buffer of that
// size instead of io.ReadAll's growing copies.
func readBody(buf []byte, r io.Reader, size, limit int64) (b []byte, truncated bool, err error) {
	capacity := int64(512)
	if size >= 0 {
		// One byte more, so the read that sees EOF needs no new buffer.
		capacity = min(size, limit) + 1
	}
	b = buf[:0]
	if int64(cap(b)) < capacity {
		b = make([]byte, 0, capacity)
	}
	lr := io.LimitReader(r, limit+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		var n int
		n, err = lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			break
		}
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if int64(len(b)) > limit {
		return b[:limit], true, nil
	}
	return b, false, err
}

// page turns a final response into a Page or a typed error.
func (c *Client) page(u *url.URL, res *response) (*Page, error) {
	rl, _ := parseRateLimit(res.header)
	if err := c.answerError(res); err != nil {
		return nil, err
	}

	links := parseLinks(res.header.Values("Link"))
	p := &Page{
		Body:      res.body,
		Next:      linkTarget(links, "next", u),
		Self:      linkTarget(links, "self", u),
		RateLimit: rl,
		release:   res.release,
	}
	if p.Next != "" {
		if nu, err := url.Parse(p.Next); err != nil || !sameOrigin(nu, c.base) {
			// Following it would send our credentials to another host.
			return nil, &PermanentError{Status: res.status,
				Summary: fmt.Sprintf("next link leaves %s: %s", origin(c.base), p.Next)}
		}
	}
	if res.truncated {
		p.Invalid = fmt.Errorf("page body larger than %d bytes", maxPageBytes)
		return p, nil
	}
	p.Events, p.Invalid = splitArray(res.body)
	return p, nil
}

func (c *Client) scrub(s string) string {
	secrets := []string{c.ssws}
	if c.tokens != nil {
		secrets = append(secrets, c.tokens.secrets()...)
	}
	return scrub(s, secrets)
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
