package app

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

// logWatch is a slog handler that reports when a message is logged.
type logWatch struct {
	slog.Handler
	msg  string
	once *sync.Once
	seen chan struct{}
}

func (w logWatch) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, w.msg) {
		w.once.Do(func() { close(w.seen) })
	}
	return nil
}

func (w logWatch) Enabled(context.Context, slog.Level) bool { return true }
func (w logWatch) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w logWatch) WithGroup(string) slog.Handler            { return w }

// Stopping riskpipe while it still waits for ClickHouse (a service started
// before its database) is a normal stop: Run returns nil, as it does once
// running, so `riskpipe run` exits 0 on SIGTERM either way.
func TestRunStoppedWhileWaitingForClickHouse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing answers there

	cfg := config.Default()
	cfg.ClickHouse.Addr = addr
	cfg.ClickHouse.DialTimeout = time.Second
	cfg.HTTP.Listen = ""
	cfg.Tenants = []config.Tenant{{Name: "acme", BaseURL: "http://127.0.0.1:1/o/acme",
		Auth: config.Auth{Method: config.AuthAPIToken, Token: "t"}, Poll: cfg.Poll}}
	w := logWatch{Handler: slog.DiscardHandler, msg: "clickhouse not reachable", once: &sync.Once{}, seen: make(chan struct{})}
	a, err := New(Options{Config: &cfg, Logger: slog.New(w)})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-w.seen:
	case <-time.After(waitFor):
		t.Fatal("Run never reported waiting for ClickHouse")
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("Run did not return after cancel")
	}
	require.Empty(t, a.Statuses(), "no poller was started")
}
