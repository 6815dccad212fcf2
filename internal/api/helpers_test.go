package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/store"
)

// Tokens of the test API: one per org, one for every org.
const (
	tokenAcme   = "acme-token-0123456789"
	tokenGlobex = "globex-token-0123456789"
	tokenAll    = "all-orgs-token-0123456789"
	tokenBoth   = "acme-globex-token-0123456789"
	// tokenAdmin holds every role but read, for every org.
	tokenAdmin = "admin-only-token-0123456789"
)

// now is the test clock's start: fixtures are placed before it.
var now0 = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// env is an API over a fresh, migrated ClickHouse database, served by
// httptest.
type env struct {
	t        testing.TB
	store    *store.Store
	api      *API
	srv      *httptest.Server
	clock    *clock
	mu       sync.Mutex
	statuses []poll.Status
	version  uint64 // the last flush version of writeFactors
	gate     *gate
}

func testTenants() []config.Tenant {
	no := false
	return []config.Tenant{
		{Name: "acme", Description: "Acme production"},
		{Name: "globex", Description: "Globex workforce"},
		{Name: "initech", Description: "Initech, not polled", Enabled: &no},
	}
}

func testTokens() []config.APIToken {
	return []config.APIToken{
		{Name: "acme-job", Token: tokenAcme, Tenants: []string{"acme"}},
		{Name: "globex-job", Token: tokenGlobex, Tenants: []string{"globex"}},
		{Name: "everything", Token: tokenAll, Tenants: []string{config.AllTenants}},
		{Name: "two", Token: tokenBoth, Tenants: []string{"globex", "acme"}},
		{Name: "admin", Token: tokenAdmin, Tenants: []string{config.AllTenants},
			Roles: []config.Role{config.RoleRespond, config.RolePrivacy, config.RoleAdmin}},
	}
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, testTenants())
}

// newEnvWith is newEnv with other tenants (the test tokens with "*" read
// all of them). Its server passes every request through e.gate, which a
// browser test uses to make the API slow or failing.
func newEnvWith(t testing.TB, tenants []config.Tenant, tweak ...func(*Settings)) *env {
	t.Helper()
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, chtest.Config(srv, db), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))

	e := &env{t: t, store: st, clock: &clock{t: now0}, gate: newGate()}
	settings := Settings{
		Conn:       st.Conn(),
		Database:   st.Database(),
		Tokens:     testTokens(),
		Tenants:    tenants,
		Statuses:   e.Statuses,
		StallAfter: time.Hour,
		Now:        e.clock.Now,
		Logger:     slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	}
	for _, f := range tweak {
		f(&settings)
	}
	e.api, err = New(settings)
	require.NoError(t, err)
	e.srv = httptest.NewServer(e.gate.wrap(e.api.Handler()))
	t.Cleanup(e.srv.Close)
	return e
}

// testWriter sends the API's log to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func (e *env) Statuses() []poll.Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]poll.Status(nil), e.statuses...)
}

func (e *env) setStatuses(st ...poll.Status) {
	e.mu.Lock()
	e.statuses = st
	e.mu.Unlock()
}

// get requests path with token ("" for none) and returns the status and body.
func (e *env) get(path, token string) (int, []byte) {
	e.t.Helper()
	return e.getT(e.t, path, token)
}

// getT is get failing t (a subtest) rather than the env's test.
func (e *env) getT(t testing.TB, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

// getJSON requests path, requires 200 and decodes the answer into v.
func (e *env) getJSON(path, token string, v any) {
	e.t.Helper()
	e.getJSONT(e.t, path, token, v)
}

func (e *env) getJSONT(t testing.TB, path, token string, v any) {
	t.Helper()
	status, body := e.getT(t, path, token)
	require.Equal(t, http.StatusOK, status, "GET %s: %s", path, body)
	require.NoError(t, json.Unmarshal(body, v), "GET %s: %s", path, body)
}

// write stores batches through the store's Writer, as the pollers do.
func (e *env) write(batches ...store.Batch) {
	e.t.Helper()
	w := store.NewWriter(e.store, store.WriterOptions{MaxWait: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(e.t, <-done)
	}()
	for _, b := range batches {
		require.NoError(e.t, w.Write(context.Background(), b))
	}
}

// factorColumnList is the column list of the fixture's factor inserts.
var factorColumnList = store.Columns("attack_factor_latest")

// writeFactors inserts updates into attack_factor_updates and
// attack_factor_latest as one flush of the store's writer would: every row
// with the flush's version, which grows from flush to flush.
func (e *env) writeFactors(updates []FactorUpdate) {
	e.t.Helper()
	e.mu.Lock()
	e.version = max(e.version+1, uint64(time.Now().UnixNano()))
	version := e.version
	e.mu.Unlock()
	for _, table := range []string{"attack_factor_updates", "attack_factor_latest"} {
		e.insert(table, factorColumnList, len(updates), func(i int) []any {
			u := updates[i]
			return []any{u.Tenant, u.UserID, u.UserLogin, u.UpdatedAt, u.Score, u.Percentile, u.Level,
				u.Signals, u.CauseEventID, u.CauseCategory, u.Explanation, version}
		})
	}
}

// insert writes n rows into table with an explicit column list (the only
// insert that works on ClickHouse 18.16).
func (e *env) insert(table string, columns []string, n int, row func(i int) []any) {
	e.t.Helper()
	ctx := context.Background()
	b, err := e.store.Conn().PrepareBatch(ctx, "INSERT INTO `"+e.store.Database()+"`."+table+" ("+strings.Join(columns, ", ")+")")
	require.NoError(e.t, err)
	defer b.Close()
	for i := range n {
		require.NoError(e.t, b.Append(row(i)...))
	}
	require.NoError(e.t, b.Send())
}
