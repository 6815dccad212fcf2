package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/simtest"
)

// TestSimulate serves the simulator in-process on a free port and reads a
// page the way its banner tells a user to (curl with the printed token).
func TestSimulate(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"simulate", "--listen", "127.0.0.1:0", "--orgs", "2", "--eps", "50", "--backlog", "10"}, &stdout, &stderr)
	}()
	banner := regexp.MustCompile(`(?m)^try: curl -H 'Authorization: SSWS (sim-token-acme)' '(http://127\.0\.0\.1:\d+/o/acme/api/v1/logs\?limit=2)'$`)
	var m []string
	simtest.WaitFor(t, time.Minute, "the simulator's banner", func() (bool, string) {
		m = banner.FindStringSubmatch(stdout.String())
		return m != nil, stdout.String() + stderr.String()
	})
	require.Regexp(t, `(?m)^  globex +base_url http://127\.0\.0\.1:\d+/o/globex +token sim-token-globex`, stdout.String())

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m[2], nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "SSWS "+m[1])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var events []map[string]any
	require.NoError(t, json.Unmarshal(body, &events))
	require.Len(t, events, 2)
	require.Condition(t, func() bool {
		for _, l := range resp.Header.Values("Link") {
			if regexp.MustCompile(`^<http://127\.0\.0\.1:\d+/o/acme/api/v1/logs\?.*after=\d+_\d+.*>; rel="next"$`).MatchString(l) {
				return true
			}
		}
		return false
	}, "no next link with an after cursor: %v", resp.Header.Values("Link"))
	http.DefaultClient.CloseIdleConnections()

	cancel()
	require.Equal(t, exitOK, <-done, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
}
