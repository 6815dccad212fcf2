package main

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
)

// TestDemoSignInLink: the demo prints a dashboard link with a one-time
// code, not the API token; the code is exchanged once for the token (what
// the dashboard does), then is void.
func TestDemoSignInLink(t *testing.T) {
	t.Parallel()
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--duration", "2m", "--clickhouse-addr", srv.Addr(), "--database", db,
			"--http-listen", "127.0.0.1:0", "--eps", "50", "--interval", "1s", "--progress", "10s", "--data-dir", t.TempDir()}, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Error("the demo did not stop")
		}
	}()
	link := regexp.MustCompile(`(?m)^dashboard: (http://\S+/)#/sign-in/([A-Za-z0-9_-]+)  \(one-time sign-in, valid 15m0s`)
	token := regexp.MustCompile(`(?m)^API: +curl -H 'Authorization: Bearer ([0-9a-f]+)'`)
	var m []string
	require.Eventually(t, func() bool {
		m = link.FindStringSubmatch(stdout.String())
		return m != nil
	}, time.Minute, 50*time.Millisecond, "a sign-in link:\n%s\n%s", &stdout, &stderr)
	tm := token.FindStringSubmatch(stdout.String())
	require.NotNil(t, tm)
	require.NotContains(t, m[0], tm[1], "the link does not hold the token")

	post := func() (int, string) {
		resp, err := http.Post(m[1]+"api/v1/sign-in", "application/json", strings.NewReader(`{"code":"`+m[2]+`"}`))
		require.NoError(t, err)
		defer resp.Body.Close()
		var a struct{ Token string }
		_ = json.NewDecoder(resp.Body).Decode(&a)
		return resp.StatusCode, a.Token
	}
	status, got := post()
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, tm[1], got, "the code stands for the demo's token")
	req, _ := http.NewRequest(http.MethodGet, m[1]+"api/v1/orgs", nil)
	req.Header.Set("Authorization", "Bearer "+got)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the token works")
	status, _ = post()
	require.Equal(t, http.StatusUnauthorized, status, "single use")
}
