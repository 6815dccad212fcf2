package app

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestExposureWarnings(t *testing.T) {
	for _, tt := range []struct {
		give   string
		tokens int
		want   []string // substrings, one per warning
	}{
		{give: "127.0.0.1:8080", tokens: 0},
		{give: "127.0.0.1:8080", tokens: 2},
		{give: "[::1]:8080", tokens: 0},
		{give: "localhost:8080", tokens: 0},
		{give: "10.1.2.3:8080", tokens: 1},
		{give: "10.1.2.3:8080", tokens: 0, want: []string{"no api.tokens are configured"}},
		{give: "riskpipe.internal:8080", tokens: 0, want: []string{"no api.tokens are configured"}},
		{give: "0.0.0.0:8080", tokens: 1, want: []string{"every network interface"}},
		{give: ":8080", tokens: 1, want: []string{"every network interface"}},
		{give: "[::]:8080", tokens: 1, want: []string{"every network interface"}},
		{give: "0.0.0.0:8080", tokens: 0, want: []string{"every network interface", "no api.tokens are configured"}},
	} {
		t.Run(tt.give, func(t *testing.T) {
			got := exposureWarnings(tt.give, tt.tokens)
			require.Len(t, got, len(tt.want), "%q", got)
			for i, w := range tt.want {
				require.Contains(t, got[i], w)
				require.Contains(t, got[i], "http.listen "+tt.give)
			}
		})
	}
}

// syncBuf is a bytes.Buffer safe for a logger and a test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The warning is logged at start, before ClickHouse answers.
func TestExposureWarnedAtStart(t *testing.T) {
	t.Parallel()
	cfg := unreachableConfig(t)
	cfg.HTTP.Listen = "0.0.0.0:0"
	var logs syncBuf
	a, err := New(Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	eventually(t, waitFor, func() bool { return bytes.Contains([]byte(logs.String()), []byte("every network interface")) })
	require.Contains(t, logs.String(), "level=WARN")
	require.Contains(t, logs.String(), "no api.tokens are configured")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("Run did not return")
	}
}
