package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	"github.com/riskpipe/riskpipe/internal/privacy"
	"github.com/riskpipe/riskpipe/internal/store"
)

const (
	tokenPrivacy     = "privacy-token-0123456789"
	tokenPrivacyAcme = "privacy-acme-token-0123456789"
)

// privacyEnv is an API with a privacy.Service over a fresh database; the
// log is captured to check it never names the email.
type privacyEnv struct {
	srv  *httptest.Server
	st   *store.Store
	logs *bytes.Buffer
}

func newPrivacyEnv(t *testing.T, syncTimeout time.Duration) *privacyEnv {
	t.Helper()
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, chtest.Config(srv, db), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := privacy.New(privacy.Options{Conn: st.Conn(), Database: st.Database(), HashKey: "api-test-hash-key-0123", Logger: log,
		PollInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- svc.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("privacy service: %v", err)
		}
	})

	tokens := append(testTokens(),
		config.APIToken{Name: "dpo", Token: tokenPrivacy, Tenants: []string{config.AllTenants}, Roles: []config.Role{config.RolePrivacy}},
		config.APIToken{Name: "dpo-acme", Token: tokenPrivacyAcme, Tenants: []string{"acme"}, Roles: []config.Role{config.RolePrivacy}})
	a, err := New(Settings{Conn: st.Conn(), Database: st.Database(), Tokens: tokens, Tenants: testTenants(), Logger: log,
		Privacy: svc, PrivacySyncTimeout: syncTimeout})
	require.NoError(t, err)
	hs := httptest.NewServer(a.Handler())
	t.Cleanup(hs.Close)

	b, err := st.Conn().PrepareBatch(ctx, "INSERT INTO "+st.Database()+".org_users (tenant, user_id, user_login, first_seen, last_seen, version)")
	require.NoError(t, err)
	require.NoError(t, b.Append("acme", "00uapitest0000000001", "Dana.S@Example.com", now0, now0, uint64(1)))
	require.NoError(t, b.Append("globex", "00uapitest0000000002", "erik@example.com", now0, now0, uint64(1)))
	require.NoError(t, b.Send())
	return &privacyEnv{srv: hs, st: st, logs: logs}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *privacyEnv) do(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return resp.StatusCode, m
}

func TestPrivacyAPI(t *testing.T) {
	e := newPrivacyEnv(t, time.Minute)
	const dana = `{"email": "dana.s@example.com"}`

	// Roles and orgs.
	code, body := e.do(t, "POST", "/api/v1/privacy/access", tokenAll, dana)
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, body["error"], `"privacy"`)
	code, body = e.do(t, "POST", "/api/v1/privacy/deletion", tokenPrivacyAcme, dana)
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, body["error"], "every org")

	// Invalid input.
	for _, bad := range []string{`{"email": "dana"}`, `{"email": "Dana <dana@example.com>"}`, `{}`, `nope`, `{"email": "a@b.c", "x": 1}`} {
		code, _ = e.do(t, "POST", "/api/v1/privacy/access", tokenPrivacy, bad)
		require.Equal(t, http.StatusBadRequest, code, bad)
	}

	// Unknown email: 200, empty.
	code, body = e.do(t, "POST", "/api/v1/privacy/access", tokenPrivacy, `{"email": "nobody@example.com"}`)
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, body["records"])

	code, body = e.do(t, "POST", "/api/v1/privacy/access", tokenPrivacy, dana)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, map[string]any{"org_users": float64(1)}, body["counts"])
	require.Equal(t, []any{"acme"}, body["tenants"])

	code, body = e.do(t, "POST", "/api/v1/privacy/deletion", tokenPrivacy, dana)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, float64(0), body["remaining"])
	require.Equal(t, map[string]any{"org_users": float64(1)}, body["deleted"])
	id := body["request_id"].(string)

	code, body = e.do(t, "GET", "/api/v1/privacy/requests/"+id, tokenPrivacy, "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "done", body["status"])
	require.Equal(t, "dpo", body["requested_by"])
	code, _ = e.do(t, "GET", "/api/v1/privacy/requests/"+strings.Repeat("0", 32), tokenPrivacy, "")
	require.Equal(t, http.StatusNotFound, code)

	// Erik is untouched.
	code, body = e.do(t, "POST", "/api/v1/privacy/access", tokenPrivacy, `{"email": "erik@example.com"}`)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, map[string]any{"org_users": float64(1)}, body["counts"])

	require.NotContains(t, strings.ToLower(e.logs.String()), "dana")
	require.NotContains(t, strings.ToLower(e.logs.String()), "erik@")
}

// A deletion longer than sync_timeout answers 202 and finishes behind it.
func TestPrivacyAPIAccepted(t *testing.T) {
	e := newPrivacyEnv(t, time.Nanosecond)
	code, body := e.do(t, "POST", "/api/v1/privacy/deletion", tokenPrivacy, `{"email": "dana.s@example.com"}`)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["request_id"].(string)
	for {
		code, body = e.do(t, "GET", "/api/v1/privacy/requests/"+id, tokenPrivacy, "")
		require.Equal(t, http.StatusOK, code)
		if body["status"] != "running" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, "done", body["status"])
	require.Equal(t, float64(0), body["remaining"])
}
