package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/respond"
	"github.com/riskpipe/riskpipe/internal/store"
)

const (
	tokRespA     = "acme-responder-a-0123456789"
	tokRespB     = "acme-responder-b-0123456789"
	tokReader    = "reader-everything-0123456789"
	tokRespGlobx = "globex-responder-0123456789"
)

// actionEnv is the API with a real response service over the simulator
// (orgs acme and globex) and ClickHouse.
type actionEnv struct {
	t   *testing.T
	srv *httptest.Server
	svc *respond.Service
	sim *oktasim.Server
}

func newActionEnv(t *testing.T) *actionEnv {
	t.Helper()
	users := []oktasim.User{
		{ID: "00ujoren", Profile: oktasim.Profile{Login: "joren.m@acme.example", Email: "joren.m@acme.example", FirstName: "Joren", LastName: "Maes"}},
		{ID: "00ugina", Profile: oktasim.Profile{Login: "gina@globex.example", Email: "gina@globex.example", FirstName: "Gina", LastName: "Gold"}},
	}
	sim, err := oktasim.New(oktasim.Options{Seed: 1, Orgs: []oktasim.OrgOptions{
		{Name: "acme", Tokens: []string{"sim-acme"}, Users: users[:1], Groups: []oktasim.Group{{ID: "00grestricted", Name: "R"}}},
		{Name: "globex", Tokens: []string{"sim-globex"}, Users: users[1:]},
	}})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)

	ch := chtest.Start(t)
	db := chtest.NewDatabase(t, ch)
	ctx := context.Background()
	st, err := store.Open(ctx, chtest.Config(ch, db), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))

	var tenants []config.Tenant
	for _, name := range []string{"acme", "globex"} {
		r := config.DefaultResponse()
		r.Mode, r.RestrictedGroupID = config.ResponseApprove, "00grestricted"
		if name == "globex" {
			r.IdentityDomains = []string{"GLOBEX"}
		}
		tenants = append(tenants, config.Tenant{Name: name, BaseURL: sim.BaseURL(simSrv.URL, name),
			Auth: config.Auth{Method: config.AuthAPIToken, Token: config.Secret("sim-" + name)},
			Poll: config.Poll{RequestTimeout: 10 * time.Second}, Response: r})
	}
	svc, err := respond.New(respond.Settings{Tenants: tenants, Conn: st.Conn(), Database: st.Database(),
		Registerer: prometheus.NewRegistry()})
	require.NoError(t, err)
	require.NoError(t, svc.Start(ctx))
	respondRole := []config.Role{config.RoleRead, config.RoleRespond}
	a, err := New(Settings{Conn: st.Conn(), Database: st.Database(), Tenants: tenants, Respond: svc,
		Tokens: []config.APIToken{
			{Name: "analyst-a", Token: tokRespA, Tenants: []string{"acme"}, Roles: respondRole},
			{Name: "analyst-b", Token: tokRespB, Tenants: []string{"acme"}, Roles: respondRole},
			{Name: "reader", Token: tokReader, Tenants: []string{config.AllTenants}},
			{Name: "globex-analyst", Token: tokRespGlobx, Tenants: []string{"globex"}, Roles: respondRole},
		}})
	require.NoError(t, err)
	e := &actionEnv{t: t, svc: svc, sim: sim, srv: httptest.NewServer(a.Handler())}
	t.Cleanup(e.srv.Close)
	return e
}

type answer struct {
	status int
	body   []byte
}

func (r answer) action(t *testing.T) respond.Action {
	t.Helper()
	var a respond.Action
	require.NoError(t, json.Unmarshal(r.body, &a), string(r.body))
	return a
}

func (e *actionEnv) do(method, path, token string, body any) answer {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(e.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return answer{resp.StatusCode, b}
}

func TestActionsAPI(t *testing.T) {
	e := newActionEnv(t)
	r := e.do("POST", "/api/v1/actions", tokRespA, ActionRequest{Org: "acme", Action: "suspend", UserID: "00ujoren", Reason: "ATO"})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	a := r.action(t)
	require.Equal(t, "analyst-a", a.ProposedBy)
	require.Equal(t, respond.StateProposed, a.State)
	for _, key := range []string{`"id"`, `"tenant"`, `"action"`, `"user_id"`, `"user_login"`, `"state"`, `"proposed_by"`, `"reason"`,
		`"evidence"`, `"created_at"`, `"decided_by"`, `"executed_at"`, `"verified_at"`, `"error"`} {
		require.Contains(t, string(r.body), key)
	}
	// The same proposal again: 200 with the open action.
	r = e.do("POST", "/api/v1/actions", tokRespB, ActionRequest{Org: "acme", Action: "suspend", UserID: "00ujoren"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Equal(t, a.ID, r.action(t).ID)

	r = e.do("POST", "/api/v1/actions/"+a.ID+"/approve", tokRespA, nil)
	require.Equal(t, http.StatusForbidden, r.status)
	require.Contains(t, string(r.body), "four eyes")
	r = e.do("POST", "/api/v1/actions/"+a.ID+"/approve", tokRespB, ApproveRequest{})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Equal(t, "analyst-b", r.action(t).DecidedBy)
	for _, op := range []string{"approve", "reject"} {
		r = e.do("POST", "/api/v1/actions/"+a.ID+"/"+op, tokRespB, nil)
		require.Equal(t, http.StatusConflict, r.status)
		require.JSONEq(t, `"approved"`, string(mustField(t, r.body, "state")))
	}
	e.svc.Sweep(context.Background())
	r = e.do("GET", "/api/v1/actions/"+a.ID, tokRespA, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, respond.StateSucceeded, r.action(t).State)
	u, _ := e.sim.Org("acme").User("00ujoren")
	require.Equal(t, oktasim.StatusSuspended, u.Status)
	r = e.do("POST", "/api/v1/actions/"+a.ID+"/revert", tokRespA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Equal(t, respond.StateReverted, r.action(t).State)
	r = e.do("POST", "/api/v1/actions/"+a.ID+"/revert", tokRespA, nil)
	require.Equal(t, http.StatusConflict, r.status)

	// Reject with a reason; list filters.
	r = e.do("POST", "/api/v1/actions", tokRespA, ActionRequest{Org: "acme", Action: "clear_sessions", UserID: "00ujoren"})
	require.Equal(t, http.StatusCreated, r.status)
	b := r.action(t)
	r = e.do("POST", "/api/v1/actions/"+b.ID+"/reject", tokRespB, RejectRequest{Reason: "benign"})
	require.Equal(t, http.StatusOK, r.status)
	r = e.do("GET", "/api/v1/actions?state=rejected", tokRespA, nil)
	var list ActionList
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Len(t, list.Actions, 1)
	require.Equal(t, b.ID, list.Actions[0].ID)
	r = e.do("GET", "/api/v1/actions?limit=1", tokRespA, nil)
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Len(t, list.Actions, 1)
	require.NotEmpty(t, list.Next)

	// Identity matching.
	r = e.do("GET", "/api/v1/identities/match?org=acme&identity="+url.QueryEscape(`CORP\joren.m`), tokRespA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var m IdentityMatches
	require.NoError(t, json.Unmarshal(r.body, &m))
	require.Equal(t, "00ujoren", m.Candidates[0].UserID)
	require.False(t, m.Candidates[0].Exact)
	// A domain another org claims (identity_domains): no candidates here,
	// with the reason, without naming that org; a proposal is refused.
	r = e.do("GET", "/api/v1/identities/match?org=acme&identity="+url.QueryEscape(`GLOBEX\joren.m`), tokRespA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.JSONEq(t, `{"candidates": [], "note": "domain globex is claimed by another org (tenants[].response.identity_domains): no candidates in acme"}`, string(r.body))
	r = e.do("POST", "/api/v1/actions", tokRespA, map[string]any{"org": "acme", "action": "suspend", "identity": `GLOBEX\joren.m`})
	require.Equal(t, http.StatusBadRequest, r.status, string(r.body))
	require.Contains(t, string(r.body), "claimed by another org")

	// Bad input.
	for _, body := range []any{
		map[string]any{"org": "acme", "action": "delete_user", "user_id": "00ujoren"},
		map[string]any{"org": "acme", "action": "suspend"},
		map[string]any{"org": "acme", "action": "suspend", "user_id": "00ujoren", "bogus": 1},
		map[string]any{"org": "acme", "action": "suspend", "user_id": "00unobody"},
	} {
		r = e.do("POST", "/api/v1/actions", tokRespA, body)
		require.Equal(t, http.StatusBadRequest, r.status, "%v: %s", body, r.body)
	}
	r = e.do("GET", "/api/v1/actions/act_unknown", tokRespA, nil)
	require.Equal(t, http.StatusNotFound, r.status)
}

func mustField(t *testing.T, body []byte, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m), string(body))
	return m[key]
}

// TestActionsIsolation: every action endpoint needs the respond role, and a
// token of one org never sees or touches another's actions.
func TestActionsIsolation(t *testing.T) {
	e := newActionEnv(t)
	r := e.do("POST", "/api/v1/actions", tokRespA, ActionRequest{Org: "acme", Action: "clear_sessions", UserID: "00ujoren"})
	require.Equal(t, http.StatusCreated, r.status)
	id := r.action(t).ID
	endpoints := []struct{ method, path string }{
		{"POST", "/api/v1/actions"}, {"GET", "/api/v1/actions"}, {"GET", "/api/v1/actions/" + id},
		{"POST", "/api/v1/actions/" + id + "/approve"}, {"POST", "/api/v1/actions/" + id + "/reject"},
		{"POST", "/api/v1/actions/" + id + "/revert"}, {"GET", "/api/v1/identities/match?org=acme&identity=x"},
	}
	for _, ep := range endpoints {
		r := e.do(ep.method, ep.path, tokReader, nil)
		require.Equal(t, http.StatusForbidden, r.status, ep.path)
		require.Contains(t, string(r.body), `lacks the role \"respond\"`, ep.path)
		r = e.do(ep.method, ep.path, "wrong-token-0123456789", nil)
		require.Equal(t, http.StatusUnauthorized, r.status, ep.path)
	}
	// globex's analyst: acme's action does not exist for it.
	for _, ep := range endpoints[2:6] {
		r := e.do(ep.method, ep.path, tokRespGlobx, nil)
		require.Equal(t, http.StatusNotFound, r.status, ep.path)
	}
	r = e.do("GET", "/api/v1/actions", tokRespGlobx, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.JSONEq(t, `{"actions":[],"next":""}`, string(r.body))
	r = e.do("GET", "/api/v1/actions?org=acme", tokRespGlobx, nil)
	require.Equal(t, http.StatusForbidden, r.status)
	r = e.do("POST", "/api/v1/actions", tokRespGlobx, ActionRequest{Org: "acme", Action: "suspend", UserID: "00ujoren"})
	require.Equal(t, http.StatusForbidden, r.status)
	r = e.do("GET", "/api/v1/identities/match?org=acme&identity=joren", tokRespGlobx, nil)
	require.Equal(t, http.StatusForbidden, r.status)
	// acme's analysts cannot use globex users either.
	r = e.do("POST", "/api/v1/actions", tokRespA, ActionRequest{Org: "globex", Action: "suspend", UserID: "00ugina"})
	require.Equal(t, http.StatusForbidden, r.status)
	acts, _ := e.svc.List(respond.Filter{Tenants: []string{"acme", "globex"}})
	require.Len(t, acts, 1)
	require.Equal(t, respond.StateProposed, acts[0].State, "nothing was changed by the refused requests")
	require.Empty(t, e.sim.Org("acme").WriteCalls())
}

// TestActionsDashboard: a respond token sees the pending-approvals queue
// with the evidence, approves with a click (four eyes: another token
// proposed it), and a read-only token does not see the queue at all.
func TestActionsDashboard(t *testing.T) {
	e := newActionEnv(t)
	r := e.do("POST", "/api/v1/actions", tokRespA, ActionRequest{Org: "acme", Action: "clear_sessions", UserID: "00ujoren", Reason: "stolen session"})
	require.Equal(t, http.StatusCreated, r.status)
	id := r.action(t).ID
	ctx := newBrowser(t)
	pe := watchErrors(t, ctx)
	signIn(t, ctx, e.srv.URL+"/", tokRespB, "home")
	do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`#actions-queue tr[data-action="`+id+`"]`)),
	)
	row := value(t, ctx, chromedp.Evaluate[string](`document.querySelector('#actions-queue tr[data-action="`+id+`"]').innerText`))
	require.Contains(t, row, "joren.m@acme.example")
	require.Contains(t, row, "stolen session")
	require.Contains(t, row, "analyst-a")
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`#actions-queue tr[data-action="`+id+`"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#actions-queue p.muted`)),
	)
	got, ok := e.svc.Get(id)
	require.True(t, ok)
	require.Equal(t, respond.StateApproved, got.State)
	require.Equal(t, "analyst-b", got.DecidedBy)

	// The user page lists the user's actions.
	do(t, ctx,
		chromedp.Navigate(e.srv.URL+"/#/user/acme/00ujoren"),
		chromedp.WaitVisible(chromedp.CSS(`#user-actions tr[data-action="`+id+`"]`)),
	)
	pe.RequireNone(t)
	require.Contains(t, value(t, ctx, chromedp.Evaluate[string](`document.querySelector('#user-actions').innerText`)), "Propose")

	// A read-only token: no queue.
	ctx2 := newBrowser(t)
	signIn(t, ctx2, e.srv.URL+"/", tokReader, "home")
	require.True(t, value(t, ctx2, chromedp.Evaluate[bool](`document.querySelector('#actions-queue').hidden`)))
}
