package okta

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	oktasdk "github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

func TestNewValidates(t *testing.T) {
	good := Settings{
		Tenant: "acme", BaseURL: "https://acme.okta.com",
		Auth: config.Auth{Method: config.AuthAPIToken, Token: "t"},
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tests := []struct {
		name string
		give func(*Settings)
	}{
		{"no tenant", func(s *Settings) { s.Tenant = "" }},
		{"no scheme", func(s *Settings) { s.BaseURL = "acme.okta.com" }},
		{"ftp", func(s *Settings) { s.BaseURL = "ftp://acme.okta.com" }},
		{"query in base", func(s *Settings) { s.BaseURL = "https://acme.okta.com/?x=1" }},
		{"userinfo in base", func(s *Settings) { s.BaseURL = "https://u:p@acme.okta.com" }},
		{"share above 1", func(s *Settings) { s.RateLimitShare = 1.5 }},
		{"negative share", func(s *Settings) { s.RateLimitShare = -0.1 }},
		{"negative timeout", func(s *Settings) { s.RequestTimeout = -time.Second }},
		{"unknown method", func(s *Settings) { s.Auth.Method = "basic" }},
		{"api_token without token", func(s *Settings) { s.Auth.Token = "" }},
		{"private_key_jwt without key", func(s *Settings) {
			s.Auth = config.Auth{Method: config.AuthPrivateKeyJWT, ClientID: "c"}
		}},
		{"private_key_jwt with ed25519", func(s *Settings) {
			s.Auth = config.Auth{Method: config.AuthPrivateKeyJWT, ClientID: "c", Signer: edKey}
		}},
		{"client_secret without client id", func(s *Settings) {
			s.Auth = config.Auth{Method: config.AuthClientSecret, ClientSecret: "s"}
		}},
		{"client_secret without secret", func(s *Settings) {
			s.Auth = config.Auth{Method: config.AuthClientSecret, ClientID: "c"}
		}},
		{"unknown dpop mode", func(s *Settings) {
			s.Auth = config.Auth{Method: config.AuthClientSecret, ClientID: "c", ClientSecret: "s", DPoP: "sometimes"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			tt.give(&s)
			_, err := New(s)
			require.Error(t, err)
		})
	}
	c, err := New(good)
	require.NoError(t, err)
	require.Equal(t, defaultMaxRetries, c.retry.RetryMax)
	require.Equal(t, config.Default().Poll.RequestTimeout, c.timeout)
	require.Equal(t, initialRate, c.limiter.lim.Limit())
	require.Equal(t, 1, c.limiter.lim.Burst())
	require.True(t, strings.HasPrefix(c.userAgent, "riskpipe/"))
	c.CloseIdleConnections()
}

func TestPollURL(t *testing.T) {
	since := time.Date(2026, 3, 1, 13, 4, 5, 123456789, time.FixedZone("CET", 3600))
	tests := []struct {
		name  string
		base  string
		since time.Time
		limit int
		want  string
	}{
		{
			name: "org", base: "https://acme.okta.com", since: since, limit: 1000,
			want: "https://acme.okta.com/api/v1/logs?limit=1000&since=2026-03-01T12%3A04%3A05.123Z&sortOrder=ASCENDING",
		},
		{
			name: "path prefix and trailing slash", base: "http://127.0.0.1:8800/o/acme/", since: since, limit: 5,
			want: "http://127.0.0.1:8800/o/acme/api/v1/logs?limit=5&since=2026-03-01T12%3A04%3A05.123Z&sortOrder=ASCENDING",
		},
		{
			name: "okta defaults", base: "https://acme.okta.com",
			want: "https://acme.okta.com/api/v1/logs?sortOrder=ASCENDING",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Settings{Tenant: "acme", BaseURL: tt.base,
				Auth: config.Auth{Method: config.AuthAPIToken, Token: "t"}})
			require.NoError(t, err)
			require.Equal(t, tt.want, c.PollURL(tt.since, tt.limit))
		})
	}
}

func TestFetchPage(t *testing.T) {
	tests := []struct {
		name     string
		links    func(f *fakeOkta) []string
		wantNext func(f *fakeOkta) string
		wantSelf func(f *fakeOkta) string
	}{
		{
			name: "two Link headers, absolute",
			links: func(f *fakeOkta) []string {
				return []string{
					"<" + f.logsURL() + `?limit=2&since=x>; rel="self"`,
					"<" + f.logsURL() + `?after=1627500044869_1&limit=2>; rel="next"`,
				}
			},
			wantNext: func(f *fakeOkta) string { return f.logsURL() + "?after=1627500044869_1&limit=2" },
			wantSelf: func(f *fakeOkta) string { return f.logsURL() + "?limit=2&since=x" },
		},
		{
			name: "one Link header, relative targets",
			links: func(f *fakeOkta) []string {
				return []string{`</o/acme/api/v1/logs?limit=2>; rel="self", <?after=abc&limit=2>; rel="next"`}
			},
			wantNext: func(f *fakeOkta) string { return f.logsURL() + "?after=abc&limit=2" },
			wantSelf: func(f *fakeOkta) string { return f.logsURL() + "?limit=2" },
		},
		{
			name: "no next",
			links: func(f *fakeOkta) []string {
				return []string{"<" + f.logsURL() + `>; rel="self"`}
			},
			wantNext: func(*fakeOkta) string { return "" },
			wantSelf: func(f *fakeOkta) string { return f.logsURL() },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, "/o/acme")
			f.logs = func(w http.ResponseWriter, r *http.Request, _ int) {
				w.Header().Set("X-Rate-Limit-Limit", "120")
				w.Header().Set("X-Rate-Limit-Remaining", "119")
				w.Header().Set("X-Rate-Limit-Reset", "1772366460")
				writePage(w, `[{"uuid":"a"}, {"uuid":"b","x":[1,2]}]`, tt.links(f)...)
			}
			c := newTestClient(t, f, nil)
			p, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 2))
			require.NoError(t, err)
			require.NoError(t, p.Invalid)
			require.Len(t, p.Events, 2)
			require.JSONEq(t, `{"uuid":"b","x":[1,2]}`, string(p.Events[1]))
			require.Equal(t, tt.wantNext(f), p.Next)
			require.Equal(t, tt.wantSelf(f), p.Self)
			want := RateLimit{Limit: 120, Remaining: 119, Reset: time.Unix(1772366460, 0).UTC()}
			require.Equal(t, want, p.RateLimit)
			require.Equal(t, want, c.RateLimit())

			seen := f.requests()
			require.Len(t, seen, 1)
			require.Equal(t, "SSWS", seen[0].authScheme)
			require.Equal(t, "application/json", seen[0].accept)
			require.True(t, strings.HasPrefix(seen[0].userAgent, "riskpipe/"))
		})
	}
}

func TestFetchMalformedPage(t *testing.T) {
	tests := []struct {
		name        string
		give        string
		wantInvalid bool
		wantEvents  int
	}{
		{name: "truncated array", give: `[{"uuid":"a"},{"uu`, wantInvalid: true},
		{name: "object", give: `{"errorCode":"E0000009"}`, wantInvalid: true},
		{name: "null", give: `null`, wantInvalid: true},
		{name: "empty body", give: ``, wantInvalid: true},
		{name: "html", give: `<html>maintenance</html>`, wantInvalid: true},
		{name: "trailing garbage", give: `[] x`, wantInvalid: true},
		{name: "empty array", give: " [ ]\n", wantEvents: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, "")
			f.logs = func(w http.ResponseWriter, r *http.Request, _ int) {
				writePage(w, tt.give, "<"+f.logsURL()+`?after=next1>; rel="next"`)
			}
			c := newTestClient(t, f, nil)
			p, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
			require.NoError(t, err, "a malformed page is a page, not an error")
			require.Equal(t, tt.give, string(p.Body))
			require.Equal(t, f.logsURL()+"?after=next1", p.Next)
			require.Equal(t, 1, f.count("logs"), "a complete response is not retried")
			if tt.wantInvalid {
				require.Error(t, p.Invalid)
				require.Nil(t, p.Events)
				return
			}
			require.NoError(t, p.Invalid)
			require.NotNil(t, p.Events)
			require.Len(t, p.Events, tt.wantEvents)
		})
	}
}

func TestFetchErrors(t *testing.T) {
	const maxRetries = 2
	tests := []struct {
		name     string
		timeout  time.Duration
		logs     func(t *testing.T, w http.ResponseWriter, r *http.Request)
		wantHits int
		check    func(t *testing.T, err error)
	}{
		{
			name: "400 validation is permanent, not retried",
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"errorCode":"E0000001","errorSummary":"Api validation failed: since",` +
					`"errorLink":"E0000001","errorId":"x","errorCauses":[{"errorSummary":"since: The since parameter is over 180 days prior to the current day."}]}`))
			},
			wantHits: 1,
			check: func(t *testing.T, err error) {
				pe, ok := errors.AsType[*PermanentError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, 400, pe.Status)
				require.Equal(t, "E0000001", pe.Code)
				require.Equal(t, "Api validation failed: since", pe.Summary)
				require.Equal(t, []string{"since: The since parameter is over 180 days prior to the current day."}, pe.Causes)
				require.False(t, IsRetryable(err))
				require.False(t, IsAuth(err))
			},
		},
		{
			name: "403 is an auth error",
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				oktaError(w, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
			},
			wantHits: 1,
			check: func(t *testing.T, err error) {
				ae, ok := errors.AsType[*AuthError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, AuthError{Status: 403, Code: "E0000006",
					Summary: "You do not have permission to perform the requested action"}, *ae)
			},
		},
		{
			name: "404 is permanent",
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: logs (Class)")
			},
			wantHits: 1,
			check: func(t *testing.T, err error) {
				pe, ok := errors.AsType[*PermanentError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, 404, pe.Status)
				require.Equal(t, "E0000007", pe.Code)
			},
		},
		{
			name: "redirect is not followed",
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://evil.example/api/v1/logs", http.StatusFound)
			},
			wantHits: 1,
			check: func(t *testing.T, err error) {
				pe, ok := errors.AsType[*PermanentError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, http.StatusFound, pe.Status)
			},
		},
		{
			name: "500 E0000009 every time: retryable after MaxRetries+1 attempts",
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				oktaError(w, http.StatusInternalServerError, "E0000009",
					"Internal Server Error: Your last request took too long to complete.")
			},
			wantHits: maxRetries + 1,
			check: func(t *testing.T, err error) {
				re, ok := errors.AsType[*RetryableError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, 500, re.Status)
				oe, ok := errors.AsType[*oktasdk.Error](err)
				require.True(t, ok, "the Okta error body is kept as okta.Error")
				require.Equal(t, "E0000009", oe.ErrorCode)
				require.True(t, IsRetryable(err))
			},
		},
		{
			name: "502 without an Okta body",
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadGateway)
				_, _ = w.Write([]byte("<html>bad gateway</html>"))
			},
			wantHits: maxRetries + 1,
			check: func(t *testing.T, err error) {
				re, ok := errors.AsType[*RetryableError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, 502, re.Status)
			},
		},
		{
			name: "connection reset every time",
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) { hijackClose(t, w) },
			// net/http itself may resend a GET once on a connection that
			// died unused; at least our retries must have happened.
			wantHits: -(maxRetries + 1),
			check: func(t *testing.T, err error) {
				re, ok := errors.AsType[*RetryableError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Zero(t, re.Status)
			},
		},
		{
			name: "body cut short every time",
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				hijackRaw(t, w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n[{\"uuid\":")
			},
			wantHits: maxRetries + 1,
			check: func(t *testing.T, err error) {
				re, ok := errors.AsType[*RetryableError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, 200, re.Status)
			},
		},
		{
			name:    "attempt timeout every time",
			timeout: 20 * time.Millisecond,
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			},
			wantHits: maxRetries + 1,
			check: func(t *testing.T, err error) {
				require.True(t, IsRetryable(err), "%T %v", err, err)
				_, ok := errors.AsType[*attemptTimeoutError](err)
				require.True(t, ok, "%v", err)
				require.NotErrorIs(t, err, context.DeadlineExceeded, "only the caller's deadline reads as one")
			},
		},
		{
			name:    "attempt timeout while reading the body every time",
			timeout: 20 * time.Millisecond,
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100")
				_, _ = w.Write([]byte(`[{"uuid":`))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			},
			wantHits: maxRetries + 1,
			check: func(t *testing.T, err error) {
				re, ok := errors.AsType[*RetryableError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, 200, re.Status)
				_, ok = errors.AsType[*attemptTimeoutError](err)
				require.True(t, ok, "%v", err)
				require.NotErrorIs(t, err, context.DeadlineExceeded)
			},
		},
		{
			name: "next link to another host",
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				writePage(w, `[]`, `<https://evil.example/api/v1/logs?after=1>; rel="next"`)
			},
			wantHits: 1,
			check: func(t *testing.T, err error) {
				pe, ok := errors.AsType[*PermanentError](err)
				require.True(t, ok, "%T %v", err, err)
				require.Contains(t, pe.Summary, "evil.example")
			},
		},
		{
			name: "next link to another scheme on the same host",
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				writePage(w, `[]`, `<https://`+r.Host+`/api/v1/logs?after=1>; rel="next"`)
			},
			wantHits: 1,
			check: func(t *testing.T, err error) {
				_, ok := errors.AsType[*PermanentError](err)
				require.True(t, ok, "%T %v", err, err)
			},
		},
		{
			name: "next link to another port on the same host",
			logs: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				host, _, _ := net.SplitHostPort(r.Host)
				writePage(w, `[]`, `<http://`+net.JoinHostPort(host, "1")+`/api/v1/logs?after=1>; rel="next"`)
			},
			wantHits: 1,
			check: func(t *testing.T, err error) {
				_, ok := errors.AsType[*PermanentError](err)
				require.True(t, ok, "%T %v", err, err)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, "")
			f.logs = func(w http.ResponseWriter, r *http.Request, _ int) { tt.logs(t, w, r) }
			c := newTestClient(t, f, func(s *Settings) {
				s.MaxRetries = maxRetries
				if tt.timeout != 0 {
					s.RequestTimeout = tt.timeout
				}
			})
			p, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
			require.Error(t, err)
			require.Nil(t, p)
			if tt.wantHits < 0 {
				require.GreaterOrEqual(t, f.count("logs"), -tt.wantHits)
			} else {
				require.Equal(t, tt.wantHits, f.count("logs"))
			}
			tt.check(t, err)
			_, limited := IsRateLimited(err)
			require.False(t, limited)
		})
	}
}

func TestFetchRetriesThenSucceeds(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		first   func(t *testing.T, w http.ResponseWriter, r *http.Request)
	}{
		{
			name: "500 then 200",
			first: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				oktaError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error")
			},
		},
		{
			name: "503 then 200",
			first: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusServiceUnavailable)
			},
		},
		{
			name:  "connection reset then 200",
			first: func(t *testing.T, w http.ResponseWriter, r *http.Request) { hijackClose(t, w) },
		},
		{
			name: "body cut short then 200",
			first: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				hijackRaw(t, w, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{\"uuid\":\"a\"}")
			},
		},
		{
			name:    "attempt timeout then 200",
			timeout: 100 * time.Millisecond,
			first: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done() // answer only after the client gave up
			},
		},
		{
			name:    "timeout while reading the body then 200",
			timeout: 100 * time.Millisecond,
			first: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100")
				_, _ = w.Write([]byte(`[{"uuid":`))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, "")
			f.logs = func(w http.ResponseWriter, r *http.Request, hit int) {
				if hit == 1 {
					tt.first(t, w, r)
					return
				}
				writePage(w, `[{"uuid":"a"}]`, "<"+f.logsURL()+`?after=2>; rel="next"`)
			}
			c := newTestClient(t, f, func(s *Settings) {
				if tt.timeout != 0 {
					s.RequestTimeout = tt.timeout
				}
			})
			p, err := c.Fetch(t.Context(), c.PollURL(f.clock.Now(), 10))
			require.NoError(t, err)
			require.NoError(t, p.Invalid)
			require.Len(t, p.Events, 1)
			require.Equal(t, f.logsURL()+"?after=2", p.Next)
			require.GreaterOrEqual(t, f.count("logs"), 2)
			// Every attempt went through the limiter: the retry waited for
			// a token of the 10/min bucket.
			require.GreaterOrEqual(t, f.clock.slept, 6*time.Second)
		})
	}
}

func TestFetchRefusesForeignPageURL(t *testing.T) {
	f := newFakeOkta(t, "")
	c := newTestClient(t, f, nil)
	for _, give := range []string{
		"https://evil.example/api/v1/logs?after=1",
		strings.Replace(f.logsURL(), "http://", "https://", 1),
		"/api/v1/logs?after=1",
		strings.Replace(f.logsURL(), "http://", "http://user:pw@", 1),
		"::not a url",
	} {
		_, err := c.Fetch(t.Context(), give)
		_, ok := errors.AsType[*PermanentError](err)
		require.True(t, ok, "%q: %T %v", give, err, err)
	}
	require.Zero(t, f.count("logs"))

	// The same origin spelled differently is fine.
	u, err := url.Parse(f.logsURL())
	require.NoError(t, err)
	u.Host = strings.Replace(u.Host, "127.0.0.1", "127.0.0.1", 1)
	u.Scheme = "HTTP"
	_, err = c.Fetch(t.Context(), u.String())
	require.NoError(t, err)
}

func TestFetchContextEnds(t *testing.T) {
	t.Run("canceled while waiting for the server", func(t *testing.T) {
		f := newFakeOkta(t, "")
		ctx, cancel := context.WithCancel(t.Context())
		arrived := make(chan struct{})
		f.logs = func(w http.ResponseWriter, r *http.Request, _ int) {
			close(arrived)
			<-r.Context().Done()
		}
		c := newTestClient(t, f, nil)
		go func() {
			<-arrived
			cancel()
		}()
		_, err := c.Fetch(ctx, c.PollURL(f.clock.Now(), 10))
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, IsRetryable(err))
		require.False(t, IsAuth(err))
		require.Equal(t, 1, f.count("logs"))
	})
	t.Run("canceled while rate limited", func(t *testing.T) {
		f := newFakeOkta(t, "")
		c := newTestClient(t, f, nil)
		c.limiter.block(f.clock.Now().Add(time.Minute))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := c.Fetch(ctx, c.PollURL(f.clock.Now(), 10))
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, IsRetryable(err))
		require.Zero(t, f.count("logs"))
	})
	t.Run("deadline is not an attempt timeout", func(t *testing.T) {
		f := newFakeOkta(t, "")
		arrived := make(chan struct{}, 1)
		f.logs = func(w http.ResponseWriter, r *http.Request, _ int) {
			arrived <- struct{}{}
			<-r.Context().Done()
		}
		c := newTestClient(t, f, func(s *Settings) { s.RequestTimeout = time.Minute })
		// The caller's deadline passes once the request is at Okta, however
		// slowly the machine gets it there (a 50 ms timer did not, under load).
		ctx := newDeadlineAfter(t.Context(), arrived)
		_, err := c.Fetch(ctx, c.PollURL(f.clock.Now(), 10))
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.False(t, IsRetryable(err))
		require.Equal(t, 1, f.count("logs"))
	})
}

func TestErrorMessages(t *testing.T) {
	until := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	tests := []struct {
		give error
		want string
	}{
		{&RateLimitedError{Until: until, Limit: 60}, "okta rate limit hit (limit 60, remaining 0): wait until 2026-03-01T12:00:30Z"},
		{&RateLimitedError{Until: until, Concurrency: true}, "okta concurrency limit hit (limit 0, remaining 0): wait until 2026-03-01T12:00:30Z"},
		{&AuthError{Status: 401, Code: "E0000011", Summary: "Invalid token provided"}, "okta authentication failed: status 401: E0000011: Invalid token provided"},
		{&AuthError{Status: 401, Code: "invalid_client"}, "okta authentication failed: status 401: invalid_client"},
		{&PermanentError{Status: 400, Code: "E0000001", Summary: "Api validation failed: since", Causes: []string{"since: too old"}},
			"okta request rejected: status 400: E0000001: Api validation failed: since (since: too old)"},
		{&PermanentError{Summary: "transport", Err: errors.New("x509: unknown authority")}, "okta request rejected: transport: x509: unknown authority"},
		{&RetryableError{Status: 502, Err: statusError(502)}, "okta request failed: status 502: Bad Gateway"},
		{&RetryableError{Err: &attemptTimeoutError{d: time.Second}}, "okta request failed: attempt timed out after 1s"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.give.Error())
	}
	wrapped := fmt.Errorf("poll acme: %w", &RateLimitedError{Until: until})
	rl, ok := IsRateLimited(wrapped)
	require.True(t, ok)
	require.Equal(t, until, rl.Until)
	require.True(t, IsRetryable(fmt.Errorf("x: %w", &RetryableError{})))
	require.True(t, IsAuth(fmt.Errorf("x: %w", &AuthError{})))
}

func TestFetchConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there any more

	m, err := NewMetrics(nil)
	require.NoError(t, err)
	clock := newFakeClock()
	c, err := New(Settings{
		Tenant: "acme", BaseURL: "http://" + addr,
		Auth:       config.Auth{Method: config.AuthAPIToken, Token: "t"},
		MaxRetries: 2, Metrics: m, Now: clock.Now, Sleep: clock.Sleep,
	})
	require.NoError(t, err)
	c.retry.RetryWaitMin, c.retry.RetryWaitMax = time.Millisecond, time.Millisecond
	t.Cleanup(c.CloseIdleConnections)

	_, err = c.Fetch(t.Context(), c.PollURL(clock.Now(), 10))
	re, ok := errors.AsType[*RetryableError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Zero(t, re.Status)
	require.Equal(t, 3.0, counterValue(t, m.requests, "acme", "error"), "MaxRetries+1 attempts")
}

// deadlineAfter is a context whose deadline passes when a value arrives on
// a channel: a deadline that expires at a known step rather than after a
// time.
type deadlineAfter struct {
	context.Context
	done chan struct{}
}

func newDeadlineAfter(parent context.Context, at <-chan struct{}) *deadlineAfter {
	c := &deadlineAfter{Context: parent, done: make(chan struct{})}
	go func() {
		select {
		case <-at:
		case <-parent.Done():
		}
		close(c.done)
	}()
	return c
}

func (c *deadlineAfter) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }
func (c *deadlineAfter) Done() <-chan struct{}       { return c.done }
func (c *deadlineAfter) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
