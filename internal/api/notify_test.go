package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/notify"
	"github.com/riskpipe/riskpipe/internal/store"
)

const (
	tokenAcmeAdmin   = "acme-admin-token-0123456789"
	tokenGlobexAdmin = "globex-admin-token-0123456789"
	tokenReadAll     = "read-all-token-0123456789"
)

// notifyEnv is an API with contacts: acme's primary contact posts to a
// real Slack-format receiver, globex's email goes to a closed port.
func notifyEnv(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var posts atomic.Int32
	chat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p map[string]any
		b, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(b, &p))
		require.Contains(t, p["text"], "test message")
		posts.Add(1)
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(chat.Close)
	y := `
notify:
  smtp: {host: 127.0.0.1, port: 1, from: riskpipe@example.com, tls: none}
  webhooks: [{name: chat, url: "` + chat.URL + `", format: slack}]
tenants:
  - name: acme
    base_url: https://acme.okta.com
    auth: {method: api_token, token: t}
    contacts:
      primary_security: [{name: Acme SecOps, webhook: chat}]
      cio_ciso: [{name: Jane Roe, email: ciso@acme.example}, {name: John Doe, email: cfo@acme.example}]
  - name: globex
    base_url: https://globex.okta.com
    auth: {method: api_token, token: t}
    contacts:
      primary_security: [{name: Globex SOC, email: soc@globex.example}]
api:
  tokens:
    - {name: acme-admin, token: ` + tokenAcmeAdmin + `, tenants: [acme], roles: [read, admin]}
    - {name: globex-admin, token: ` + tokenGlobexAdmin + `, tenants: [globex], roles: [admin]}
    - {name: reader, token: ` + tokenReadAll + `, tenants: ["*"], roles: [read, respond, privacy]}
privacy: {hash_key: notify-test-hash-key-0123456789}
`
	cfg, err := config.Parse([]byte(y), config.MapEnv(nil))
	require.NoError(t, err)
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	ctx := context.Background()
	st, err := store.Open(ctx, chtest.Config(srv, db), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))
	clk := &clock{t: now0}
	a, err := New(Settings{Conn: st.Conn(), Database: st.Database(), Tokens: cfg.API.Tokens, Tenants: cfg.Tenants, Now: clk.Now,
		Logger: slog.New(slog.DiscardHandler), Notify: notify.NewAdmin(cfg, notify.NewStore(st.Conn(), st.Database()), clk.Now)})
	require.NoError(t, err)
	s := httptest.NewServer(a.Handler())
	t.Cleanup(s.Close)
	return s, &posts
}

func call(t *testing.T, srv *httptest.Server, method, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(nil))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var notifyEndpoints = []struct{ method, path string }{
	{"GET", "/api/v1/orgs/%s/contacts"},
	{"POST", "/api/v1/orgs/%s/contacts/review"},
	{"POST", "/api/v1/orgs/%s/contacts/test"},
	{"GET", "/api/v1/notifications?org=%s"},
}

func path(p, org string) string {
	return string(bytes.ReplaceAll([]byte(p), []byte("%s"), []byte(org)))
}

// TestContactsEndpointsRoles: every contacts and notification endpoint
// needs admin (a token with read, respond and privacy gets 403 naming the
// role) and a token for acme sees nothing of globex.
func TestContactsEndpointsRoles(t *testing.T) {
	srv, posts := notifyEnv(t)
	for _, ep := range notifyEndpoints {
		status, body := call(t, srv, ep.method, path(ep.path, "acme"), tokenReadAll)
		require.Equal(t, http.StatusForbidden, status, ep.path)
		require.Contains(t, body, `lacks the role \"admin\"`)
		status, body = call(t, srv, ep.method, path(ep.path, "globex"), tokenAcmeAdmin)
		require.Equal(t, http.StatusForbidden, status, ep.path)
		require.NotContains(t, body, "globex.example")
		status, _ = call(t, srv, ep.method, path(ep.path, "acme"), "")
		require.Equal(t, http.StatusUnauthorized, status)
	}
	require.Zero(t, posts.Load(), "nothing sent by a refused request")

	status, body := call(t, srv, "GET", "/api/v1/orgs/acme/contacts", tokenAcmeAdmin)
	require.Equal(t, http.StatusOK, status)
	var v notify.ContactView
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	require.Equal(t, "chat", v.PrimarySecurity[0].Webhook)
	require.True(t, v.ITFallback)
	require.Len(t, v.Warnings, 1, "two cio_ciso contacts: a warning")
	require.True(t, v.ReviewedAt.IsZero())

	status, body = call(t, srv, "POST", "/api/v1/orgs/acme/contacts/review", tokenAcmeAdmin)
	require.Equal(t, http.StatusOK, status, body)
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	require.Equal(t, now0, v.ReviewedAt)
	require.Equal(t, "api:acme-admin", v.ReviewedBy)
	require.Equal(t, now0.Add(180*24*time.Hour), v.ReviewDue)

	status, body = call(t, srv, "POST", "/api/v1/orgs/acme/contacts/test", tokenAcmeAdmin)
	require.Equal(t, http.StatusOK, status, body)
	var ct ContactTest
	require.NoError(t, json.Unmarshal([]byte(body), &ct))
	got := map[string]notify.Status{}
	for _, d := range ct.Deliveries {
		got[d.Recipient] = d.Status
	}
	require.Equal(t, map[string]notify.Status{"chat": notify.StatusSent, "ciso@acme.example": notify.StatusFailed, "cfo@acme.example": notify.StatusFailed}, got)
	require.EqualValues(t, 1, posts.Load())

	// The history: acme's three test rows for acme's admin; none for globex's.
	status, body = call(t, srv, "GET", "/api/v1/notifications", tokenAcmeAdmin)
	require.Equal(t, http.StatusOK, status)
	var nl NotificationList
	require.NoError(t, json.Unmarshal([]byte(body), &nl))
	require.Len(t, nl.Notifications, 3)
	status, body = call(t, srv, "GET", "/api/v1/notifications", tokenGlobexAdmin)
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"notifications":[]}`, body)
}

// TestContactsPanelInBrowser drives the dashboard's contacts view
// (static/js/contacts.js) in Chromium: contacts, the review button, a test
// message and the history with its failed deliveries flagged.
func TestContactsPanelInBrowser(t *testing.T) {
	srv, posts := notifyEnv(t)
	ctx := newBrowser(t)
	pe := watchErrors(t, ctx)
	signIn(t, ctx, srv.URL+"/", tokenAcmeAdmin, "home")
	do(t, ctx,
		runJS(`location.hash = '#/org/acme/contacts'`),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="contacts"]`)),
	)
	table := value(t, ctx, chromedp.Text(chromedp.CSS("#contacts-table")))
	require.Contains(t, table, "ciso@acme.example")
	require.Contains(t, table, "operational notices go to primary_security")
	require.Contains(t, value(t, ctx, chromedp.Text(chromedp.CSS("#contacts-status"))), "Last reviewed: never")
	do(t, ctx, chromedp.Click(chromedp.CSS("#contacts-review")),
		chromedp.WaitVisible(chromedp.CSS(`#contacts-status`)))
	require.True(t, value(t, ctx, chromedp.Poll[bool](`document.querySelector('#contacts-status').innerText.includes('api:acme-admin')`)))
	do(t, ctx, chromedp.Click(chromedp.CSS("#contacts-test")))
	require.True(t, value(t, ctx, chromedp.Poll[bool](`document.querySelector('#contacts-result').innerText.includes('chat: sent')`)))
	require.EqualValues(t, 1, posts.Load())
	do(t, ctx, runJS(`location.hash = '#/'`), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="home"]`)),
		runJS(`location.hash = '#/org/acme/contacts'`), chromedp.WaitVisible(chromedp.CSS(`#notifications-table`)))
	hist := value(t, ctx, chromedp.Text(chromedp.CSS("#notifications-table")))
	require.Contains(t, hist, "riskpipe test message for acme")
	require.Contains(t, hist, "failed")
	saveScreenshot(t, ctx, screenshotDir(t), "contacts.png")
	pe.RequireNone(t)
}
