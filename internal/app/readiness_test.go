package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/store"
)

// unreachableConfig is a config whose ClickHouse never answers, HTTP on ln.
func unreachableConfig(t *testing.T) *config.Config {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing answers there
	cfg := config.Default()
	cfg.ClickHouse.Addr = addr
	cfg.ClickHouse.DialTimeout = time.Second
	cfg.Tenants = []config.Tenant{{Name: "acme", BaseURL: "http://127.0.0.1:1/o/acme",
		Auth: config.Auth{Method: config.AuthAPIToken, Token: "t"}, Poll: cfg.Poll}}
	return &cfg
}

// statusOf GETs url and returns its status and body.
func statusOf(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// HTTP is served before ClickHouse answers: /healthz 200, /metrics 200,
// /readyz 503 saying why, the API 503; a stop then is a normal stop.
func TestHTTPServedBeforeClickHouse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	a, err := New(Options{Config: unreachableConfig(t), Listener: ln})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	eventually(t, waitFor, func() bool {
		code, body := statusOf(t, base+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "waiting for clickhouse")
	}, "/readyz: 503 naming the wait for ClickHouse")
	code, body := statusOf(t, base+"/healthz")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok\n", body)
	code, body = statusOf(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "riskpipe_build_info", "the app's metrics are registered before ClickHouse answers")
	code, _ = statusOf(t, base+"/api/v1/orgs")
	require.NotEqual(t, http.StatusOK, code)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("Run did not return after cancel")
	}
	_, err = net.Dial("tcp", ln.Addr().String())
	require.Error(t, err, "HTTP stopped with Run")
}

// An API that cannot be built stops Run with ErrInvalidConfig and the
// reason, at once (not after ClickHouse answers, not silently without it).
func TestRunFailsWhenTheAPICannotBeBuilt(t *testing.T) {
	t.Parallel()
	cfg := unreachableConfig(t)
	cfg.HTTP.Listen = "127.0.0.1:0"
	// What config validation rejects, passed around it.
	cfg.API.Tokens = []config.APIToken{{Name: "ops", Token: "0123456789abcdef0123", Tenants: []string{"nope"}}}
	a, err := New(Options{Config: cfg})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background()) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, ErrInvalidConfig)
		require.Contains(t, err.Error(), `unknown tenant "nope"`)
	case <-time.After(waitFor):
		t.Fatal("Run went on without its API")
	}
}

// gateSink holds every Write, ignoring its ctx, while closed.
type gateSink struct {
	inner   poll.Sink
	mu      sync.Mutex
	closed  bool
	held    chan struct{} // closed at the first Write held
	heldOne sync.Once
	open    chan struct{}
}

func (g *gateSink) Write(ctx context.Context, bs ...store.Batch) error {
	g.mu.Lock()
	closed := g.closed
	g.mu.Unlock()
	if closed {
		g.heldOne.Do(func() { close(g.held) })
		<-g.open
	}
	return g.inner.Write(context.WithoutCancel(ctx), bs...)
}

// /readyz answers 503 as soon as shutdown begins, while the pollers are
// still stopping (Kubernetes then takes the pod out of its endpoints), and
// HTTP is the last thing to stop.
func TestReadyzUnreadyAtShutdown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, orgSpec{name: "acme", scenario: "none"})
	gate := &gateSink{held: make(chan struct{}), open: make(chan struct{})}
	httpOpt, ready := withHTTP(t)
	r := h.start(t, h.config(), func(s *poll.Settings) {
		gate.inner = s.Sink
		s.Sink = gate
	}, httpOpt, func(o *Options) { o.Logger = slog.New(slog.DiscardHandler) })
	base := "http://" + <-ready
	r.integrated(t, "acme")
	code, _ := statusOf(t, base+"/readyz")
	require.Equal(t, http.StatusOK, code)

	// A poller's write hangs; shutdown begins.
	gate.mu.Lock()
	gate.closed = true
	gate.mu.Unlock()
	h.orgs["acme"].injectRisk("gate", 3)
	<-gate.held
	r.cancel()
	eventually(t, waitFor, func() bool {
		code, body := statusOf(t, base+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "shutting down")
	}, "/readyz: 503 while the pollers stop")
	code, _ = statusOf(t, base+"/healthz")
	require.Equal(t, http.StatusOK, code, "alive while it shuts down")
	select {
	case err := <-r.done:
		t.Fatalf("Run returned while a poller's write was held: %v", err)
	default:
	}
	close(gate.open)
	r.wait(t)
	_, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.Error(t, err, "HTTP stopped last, with Run")
}
