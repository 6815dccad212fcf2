package oktasim

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func rateHeaders(r response) (limit, remaining, reset string) {
	return r.Header.Get("X-Rate-Limit-Limit"), r.Header.Get("X-Rate-Limit-Remaining"), r.Header.Get("X-Rate-Limit-Reset")
}

func TestRateLimitHeadersCountDown(t *testing.T) {
	clock := newClock()
	_, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 1, Tokens: []string{"tok"},
		RateLimit: RateLimitOptions{PerMinute: 4, PerPrincipal: 4}})
	c := ts.Client()
	for i := 3; i >= 0; i-- {
		clock.Add(time.Second)
		r := get(t, c, base+"/api/v1/logs", "Authorization", ssws)
		require.Equal(t, http.StatusOK, r.StatusCode)
		limit, remaining, reset := rateHeaders(r)
		require.Equal(t, "4", limit)
		require.Equal(t, strconv.Itoa(i), remaining)
		require.Equal(t, strconv.FormatInt(t0.Add(time.Second+time.Minute).Unix(), 10), reset, "the window starts with its first request")
	}
	r := get(t, c, base+"/api/v1/logs", "Authorization", ssws)
	require.Equal(t, http.StatusTooManyRequests, r.StatusCode)
	require.Equal(t, "E0000047", r.oktaError(t).ErrorCode)
	limit, remaining, reset := rateHeaders(r)
	require.Equal(t, []string{"4", "0", strconv.FormatInt(t0.Add(time.Second+time.Minute).Unix(), 10)}, []string{limit, remaining, reset})
	require.Equal(t, clock.Now().UTC().Format(http.TimeFormat), r.Header.Get("Date"), "Date follows the simulator's clock")

	r = get(t, c, base+"/api/v1/logs", "Authorization", "SSWS wrong")
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	_, remaining, _ = rateHeaders(r)
	require.Equal(t, "0", remaining, "every response carries the headers")

	clock.Add(time.Minute)
	r = get(t, c, base+"/api/v1/logs", "Authorization", ssws)
	require.Equal(t, http.StatusOK, r.StatusCode, "a new window")
	_, remaining, _ = rateHeaders(r)
	require.Equal(t, "3", remaining)
}

func TestRateLimitPerPrincipal(t *testing.T) {
	clock := newClock()
	_, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 1, Tokens: []string{"a", "b"},
		RateLimit: RateLimitOptions{PerMinute: 6}})
	c := ts.Client()
	for i := range 3 {
		r := get(t, c, base+"/api/v1/logs", "Authorization", "SSWS a")
		require.Equal(t, http.StatusOK, r.StatusCode)
		limit, remaining, _ := rateHeaders(r)
		require.Equal(t, "3", limit, "a token may use half the org bucket")
		require.Equal(t, strconv.Itoa(2-i), remaining)
	}
	r := get(t, c, base+"/api/v1/logs", "Authorization", "SSWS a")
	require.Equal(t, http.StatusTooManyRequests, r.StatusCode)

	r = get(t, c, base+"/api/v1/logs", "Authorization", "SSWS b")
	require.Equal(t, http.StatusOK, r.StatusCode, "another token has its own share")
	for range 2 {
		require.Equal(t, http.StatusOK, get(t, c, base+"/api/v1/logs", "Authorization", "SSWS b").StatusCode)
	}
	r = get(t, c, base+"/api/v1/logs", "Authorization", "SSWS b")
	require.Equal(t, http.StatusTooManyRequests, r.StatusCode)
	limit, _, _ := rateHeaders(r)
	require.Equal(t, "6", limit, "now the org bucket is the one exhausted")
}

func TestRateLimitDisabled(t *testing.T) {
	clock := newClock()
	_, c, base := sswsOrg(t, clock, 1)
	for range 200 {
		r := get(t, c, base+"/api/v1/logs", "Authorization", ssws)
		require.Equal(t, http.StatusOK, r.StatusCode)
		require.Empty(t, r.Header.Get("X-Rate-Limit-Limit"))
	}
}

func TestConcurrencyLimit(t *testing.T) {
	clock := newClock()
	o, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 1, Tokens: []string{"tok"},
		RateLimit: RateLimitOptions{Concurrency: 1}})
	c := ts.Client()
	require.NoError(t, o.SetFault(Fault{Kind: FaultSlow, Delay: time.Hour}))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/logs", nil)
		req.Header.Set("Authorization", ssws)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return o.Stats().InFlight == 1 }, 10*time.Second, time.Millisecond)

	r := get(t, c, base+"/api/v1/logs", "Authorization", ssws)
	require.Equal(t, http.StatusTooManyRequests, r.StatusCode)
	require.Equal(t, "E0000047", r.oktaError(t).ErrorCode)
	limit, remaining, reset := rateHeaders(r)
	require.Equal(t, "0", limit)
	require.Equal(t, "0", remaining)
	require.NotEmpty(t, reset)

	cancel()
	require.Error(t, <-done)
	require.Eventually(t, func() bool { return o.Stats().InFlight == 0 }, 10*time.Second, time.Millisecond)
	require.Equal(t, http.StatusOK, get(t, c, base+"/api/v1/logs", "Authorization", ssws).StatusCode)
}
