package oktasim

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// async sends a GET in its own goroutine; the answer (or error) arrives on
// the channel.
func async(ctx context.Context, c *http.Client, url, auth string) <-chan error {
	done := make(chan error, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			done <- err
			return
		}
		req.Header.Set("Authorization", auth)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = &statusError{resp.StatusCode}
			}
		}
		done <- err
	}()
	return done
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }

// hangGuard is how long a test waits for something that must happen; it
// bounds a hang, it is no speed assertion.
const hangGuard = time.Minute

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(hangGuard):
		t.Fatalf("%s: not within %s", what, hangGuard)
	}
}

func TestHoldRequest(t *testing.T) {
	clock := newClock()
	org, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 10, Tokens: []string{"tok", "other"}})
	c := ts.Client()
	mine := func(r *http.Request) bool { return r.Header.Get("Authorization") == ssws }
	h := org.HoldRequest(2, mine)

	// Other clients' requests pass and do not count.
	for range 3 {
		require.Equal(t, http.StatusOK, get(t, c, base+"/api/v1/logs", "Authorization", "SSWS other").StatusCode)
	}
	// The first two matching requests pass, the third is held.
	for range 2 {
		require.Equal(t, http.StatusOK, get(t, c, base+"/api/v1/logs?limit=1", "Authorization", ssws).StatusCode)
	}
	select {
	case <-h.Held():
		t.Fatal("held before its request came")
	default:
	}
	require.Nil(t, h.Request())
	done := async(t.Context(), c, base+"/api/v1/logs?limit=3", ssws)
	waitClosed(t, h.Held(), "the third request held")
	require.Equal(t, "3", h.Request().URL.Query().Get("limit"), "the held request")
	select {
	case err := <-done:
		t.Fatalf("the held request was answered: %v", err)
	default:
	}
	// Meanwhile other requests are answered.
	require.Equal(t, http.StatusOK, get(t, c, base+"/api/v1/logs", "Authorization", ssws).StatusCode)
	require.True(t, h.Release(), "the held request was waiting")
	require.NoError(t, <-done, "released, it is answered")
	require.False(t, h.Release(), "released once")
	require.Equal(t, int64(7), org.Stats().Requests[http.StatusOK])
}

// A request held while the org's bucket is spent meets the spent bucket
// once released: a real 429 (the fault suite's bucket-drained case).
func TestHoldBeforeRateLimit(t *testing.T) {
	clock := newClock()
	org, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 10, Tokens: []string{"tok", "hog"},
		RateLimit: RateLimitOptions{PerMinute: 4, PerPrincipal: 4}})
	c := ts.Client()
	h := org.HoldRequest(0, func(r *http.Request) bool { return r.Header.Get("Authorization") == ssws })
	done := async(t.Context(), c, base+"/api/v1/logs", ssws)
	waitClosed(t, h.Held(), "the request held")
	for range 4 {
		require.Equal(t, http.StatusOK, get(t, c, base+"/api/v1/logs", "Authorization", "SSWS hog").StatusCode)
	}
	require.True(t, h.Release())
	var se *statusError
	require.ErrorAs(t, <-done, &se)
	require.Equal(t, http.StatusTooManyRequests, se.code)
}

func TestHoldClientGone(t *testing.T) {
	clock := newClock()
	org, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 10, Tokens: []string{"tok"}})
	c := ts.Client()
	h := org.HoldRequest(0, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := async(ctx, c, base+"/api/v1/logs", ssws)
	waitClosed(t, h.Held(), "the request held")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	// The handler notices the client left; until then Release may still
	// let it go on (into a closed connection). Either way nothing more is
	// held and the next request is answered.
	require.Equal(t, http.StatusOK, get(t, c, base+"/api/v1/logs", "Authorization", ssws).StatusCode)
	h.Release()
	require.False(t, h.Release())
}

func TestHoldReleasedBeforeItsRequest(t *testing.T) {
	clock := newClock()
	org, ts, base := oneOrg(t, clock, OrgOptions{Source: fakeSource{}, Backlog: 10, Tokens: []string{"tok"}})
	h := org.HoldRequest(0, nil)
	require.False(t, h.Release(), "nothing held: disarmed")
	require.Equal(t, http.StatusOK, get(t, ts.Client(), base+"/api/v1/logs", "Authorization", ssws).StatusCode)
	select {
	case <-h.Held():
		t.Fatal("a disarmed hold held a request")
	default:
	}
}
