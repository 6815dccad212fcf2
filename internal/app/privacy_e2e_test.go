package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/respond"
	"github.com/riskpipe/riskpipe/internal/score"
)

// A deletion through a running riskpipe: the most attacked user is deleted
// from ClickHouse and forgotten by the tenant's engine; with
// suppress_deleted their events of the next cycle are dropped and counted,
// and nothing about them is written again (neither events nor factors).
func TestPrivacyEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, orgSpec{name: "acme", scenario: scenario.ScenarioDemo})
	cfg := h.config()
	cfg.Tenants[0].Poll.PageLimit = 1000
	cfg.Score.RefreshEvery = 300 * time.Millisecond
	cfg.Score.MaterialChange = 0.01
	cfg.Privacy.HashKey = "e2e-privacy-hash-key-0123"
	cfg.Privacy.SuppressDeleted = true
	cfg.Tenants[0].Response = config.DefaultResponse()
	cfg.Tenants[0].Response.Mode = config.ResponseApprove
	const dpoToken = "dpo-token-0123456789abcdef"
	cfg.API.Tokens = append(cfg.API.Tokens, config.APIToken{Name: "dpo", Token: dpoToken, Tenants: []string{config.AllTenants},
		Roles: []config.Role{config.RolePrivacy}})
	r := h.start(t, cfg, integrateEarly)
	o := h.orgs["acme"]
	integratedAt := r.integrated(t, "acme")

	// The running app's API serves privacy requests (an unknown email: 200,
	// nothing found), not 503.
	req := httptest.NewRequest(http.MethodPost, "/api/v1/privacy/access", strings.NewReader(`{"email":"nobody@example.com"}`))
	req.Header.Set("Authorization", "Bearer "+dpoToken)
	rec := httptest.NewRecorder()
	r.app.Handler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	o.publish(t, 0, scenario.DemoPeriod, integratedAt)
	h.converged(t, "acme", h.want(t, "acme", integratedAt), waitFor)
	h.refreshed(t, r, cfg.Score.RefreshEvery, "acme")

	var id, login string
	ctx := context.Background()
	require.NoError(t, h.read.Conn().QueryRow(ctx, "SELECT user_id, user_login FROM "+h.table("attack_factor_latest")+
		" FINAL WHERE tenant = 'acme' AND user_login LIKE '%@%' ORDER BY score DESC, user_id LIMIT 1").Scan(&id, &login))
	inEngine := func() bool {
		r.app.mu.Lock()
		p := r.app.procs["acme"]
		r.app.mu.Unlock()
		p.mu.Lock()
		defer p.mu.Unlock()
		return slices.ContainsFunc(p.eng.Top(100000, time.Now()), func(f score.Factor) bool { return f.UserID == id })
	}
	require.True(t, inEngine())

	// A pending response action on the user.
	require.NoError(t, o.org.AddUser(oktasim.User{ID: id, Profile: oktasim.Profile{Login: login, Email: login}}))
	r.app.mu.Lock()
	svc, sup, responder := r.app.privacy, r.app.sup, r.app.respond
	r.app.mu.Unlock()
	var action respond.Action
	eventually(t, waitFor, func() bool {
		var err error
		action, _, err = responder.Propose(ctx, respond.Proposal{Tenant: "acme", Action: config.ActionSuspend, UserID: id, Reason: "e2e", By: "soc"})
		return !errors.Is(err, respond.ErrStarting)
	}, "the response service started")
	require.Equal(t, respond.StateProposed, action.State)

	res, err := svc.Delete(ctx, login, "test")
	require.NoError(t, err)
	require.True(t, res.Done(), "%+v", res)
	require.NotZero(t, res.Deleted["risk_events"])
	require.False(t, inEngine(), "the engine forgot the user")
	_, kept := responder.Get(action.ID)
	require.False(t, kept, "the response service forgot the user's action")
	require.NotZero(t, res.Deleted["response_actions"])

	mentions := func() uint64 {
		return h.uint(t, "SELECT (SELECT count() FROM "+h.table("risk_events")+" WHERE user_id = ? OR positionCaseInsensitive(raw, ?) > 0)"+
			" + (SELECT count() FROM "+h.table("attack_factor_updates")+" WHERE user_id = ?)"+
			" + (SELECT count() FROM "+h.table("attack_factor_latest")+" WHERE user_id = ?)"+
			" + (SELECT count() FROM "+h.table("org_users")+" WHERE user_id = ?)"+
			" + (SELECT count() FROM "+h.table("response_actions")+" WHERE user_id = ?)", id, login, id, id, id, id)
	}
	require.Zero(t, mentions())

	// The next cycle attacks the same users: the deleted one's events are
	// dropped, the others' stored; refreshes write nothing about them.
	before := h.uint(t, "SELECT count() FROM "+h.table("risk_events")+" FINAL")
	o.publish(t, scenario.DemoPeriod, 2*scenario.DemoPeriod, integratedAt)
	eventually(t, waitFor, func() bool {
		return h.caughtUp(t, "acme") && h.uint(t, "SELECT count() FROM "+h.table("risk_events")+" FINAL") > before
	}, "second cycle stored")
	h.refreshed(t, r, cfg.Score.RefreshEvery, "acme")
	require.Zero(t, mentions())
	require.False(t, inEngine())
	require.Positive(t, counterValue(t, sup.dropped.WithLabelValues("acme")), "the user's new events were suppressed")
}
