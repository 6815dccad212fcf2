package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/privilege"
	"github.com/riskpipe/riskpipe/internal/respond"
)

// chatReceiver is a real HTTP receiver of a slack-format webhook on
// loopback, keeping every body it was sent.
type chatReceiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	bodies []string
}

func newChatReceiver(t *testing.T) *chatReceiver {
	c := &chatReceiver{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.bodies = append(c.bodies, string(b))
		c.mu.Unlock()
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// count returns how many messages contained s.
func (c *chatReceiver) count(s string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.bodies {
		if strings.Contains(b, s) {
			n++
		}
	}
	return n
}

func (c *chatReceiver) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bodies)
}

// A reload changes contacts, a channel's url and response settings, adds
// a tenant and removes one while riskpipe runs (the simulator, ClickHouse
// and chat receivers on loopback): the next finding reaches the new
// contact and not the removed one, the changed channel's next message goes
// to its new receiver and nothing is sent twice; the added tenant is
// notified and its rule proposes an action (which its contacts are told
// of); the removed tenant's notifier, response and classify state is gone.
func TestReloadAppliesContactsChannelsAndResponse(t *testing.T) {
	t.Parallel()
	mallory := oktasim.User{ID: "00u9", Profile: oktasim.Profile{Login: "mallory@example.com", Email: "mallory@example.com",
		FirstName: "Mallory", LastName: "M"}}
	users := []oktasim.User{mallory}
	h := newHarness(t, nil, orgSpec{name: "acme", scenario: "none", users: users},
		orgSpec{name: "gone", scenario: "none", users: users}, orgSpec{name: "late", scenario: "none", users: users})
	first, second, moved := newChatReceiver(t), newChatReceiver(t), newChatReceiver(t)
	webhooks := func(aURL string) []config.Webhook {
		return []config.Webhook{
			{Name: "team-a", URL: config.Secret(aURL), Format: config.WebhookSlack},
			{Name: "team-b", URL: config.Secret(second.srv.URL), Format: config.WebhookSlack},
		}
	}
	to := func(hook string) config.Contacts {
		return config.Contacts{PrimarySecurity: []config.Contact{{Name: hook, Webhook: hook}}}
	}
	approve := config.DefaultResponse()
	approve.Mode = config.ResponseApprove
	approve.Rules = []config.ResponseRule{{Name: "itp", When: config.RuleWhen{EventType: "user.risk.detect", RiskLevel: "HIGH"},
		Propose: []config.ResponseAction{config.ActionSuspend}}}

	acme, gone, late := h.tenant("acme"), h.tenant("gone"), h.tenant("late")
	acme.Contacts, gone.Contacts, late.Contacts = to("team-a"), to("team-a"), to("team-a")
	gone.Response, late.Response = approve, approve
	cfg0 := h.config(acme, gone)
	cfg0.Notify.Webhooks = webhooks(first.srv.URL)
	src := &reloadable{}
	r := h.start(t, cfg0, nil, src.option)
	r.integrated(t, "acme")
	r.integrated(t, "gone")
	attack := func(org, id string) {
		raw := rawEvent(id, "security.attack.start", "")
		h.orgs[org].label(id, "threat_insight")
		h.orgs[org].org.Inject(raw)
	}
	attack("acme", "att-acme-1")
	eventually(t, waitFor, func() bool { return first.count("attack on acme started") == 1 }, "the first contact is told")
	require.True(t, r.app.respond.Enabled("gone"))

	// The reload: acme's contact is now team-b; team-a's url moves to
	// another receiver; gone is removed, late added.
	acme.Contacts = to("team-b")
	cfg1 := h.config(acme, late)
	cfg1.Notify.Webhooks = webhooks(moved.srv.URL)
	st := h.reload(t, r, src, cfg1)
	require.Contains(t, st.Changes, "added: late")
	require.Contains(t, st.Changes, "removed: gone")
	require.Contains(t, st.Changes, "settings: acme")
	require.Contains(t, st.Changes, "notify.webhooks")
	require.False(t, r.app.respond.Enabled("gone"), "the removed tenant's response state is gone")
	r.app.mu.Lock()
	_, goneProc := r.app.procs["gone"]
	r.app.mu.Unlock()
	require.False(t, goneProc, "the removed tenant's classify stage is gone")
	r.integrated(t, "late")

	// The change is told to the old contact (at team-a's new url) and the
	// new one.
	eventually(t, waitFor, func() bool {
		return moved.count("contacts of acme changed") == 1 && second.count("contacts of acme changed") == 1
	}, "old and new contacts are told of the change")

	attack("acme", "att-acme-2")
	attack("late", "att-late-1")
	h.orgs["late"].injectRisk("itp", 1) // user.risk.detect HIGH of 00u9
	eventually(t, waitFor, func() bool { return second.count("attack on acme started") == 1 }, "the new contact gets the next finding")
	eventually(t, waitFor, func() bool { return moved.count("attack on late started") == 1 }, "the added tenant is notified")
	var proposed respond.Action
	eventually(t, waitFor, func() bool {
		list, _ := r.app.respond.List(respond.Filter{Tenants: []string{"late"}})
		if len(list) == 1 {
			proposed = list[0]
		}
		return len(list) == 1
	}, "the added tenant's rule proposes")
	require.Equal(t, "itp", proposed.ProposedBy)
	require.Equal(t, respond.StateProposed, proposed.State)
	require.Equal(t, "00u9", proposed.UserID)
	eventually(t, waitFor, func() bool { return moved.count("suspend of mallory@example.com proposed by itp") == 1 },
		"the added tenant's contacts are told of the proposal")

	require.Zero(t, moved.count("attack on acme started"), "the removed contact gets no finding after the change")
	require.Equal(t, 1, first.total(), "the old url got the first message only: nothing re-sent")
	require.Equal(t, 1, second.count("attack on acme started"))

	// Least privilege: the added tenant's response feature was checked
	// (the simulator's token belongs to a super admin: enough).
	eventually(t, waitFor, func() bool { return r.app.PermissionOK("late", privilege.FeatureResponse) })
}

// A reload that turns response actions on for a tenant whose service app
// is granted okta.logs.read only checks the credential again: the
// response feature is reported missing (metric, PermissionOK, the fix) as
// it would be at a start, and the poller runs on.
func TestReloadRechecksPermissionsOfChangedResponse(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, orgSpec{name: "acme", eps: 20, clients: []oktasim.Client{
		{ID: "reader-app", Secret: "reader-secret-0123", Scopes: []string{"okta.logs.read"}, Roles: []string{oktasim.RoleReadOnlyAdmin}}}})
	acme := h.tenant("acme")
	acme.Auth = config.Auth{Method: config.AuthClientSecret, ClientID: "reader-app", ClientSecret: "reader-secret-0123",
		Scopes: []string{config.ScopeLogsRead}, DPoP: config.DPoPNever}
	src := &reloadable{}
	r := h.start(t, h.config(acme), nil, src.option)
	r.integrated(t, "acme")
	eventually(t, waitFor, func() bool { return r.app.PermissionOK("acme", privilege.FeatureSystemLog) })
	require.False(t, r.app.PermissionOK("acme", privilege.FeatureResponse), "not enabled")
	poller := r.runner("acme").poller

	acme.Response = config.DefaultResponse()
	acme.Response.Mode = config.ResponseApprove
	st := h.reload(t, r, src, h.config(acme))
	require.Contains(t, st.Changes, "settings: acme")
	require.False(t, r.app.PermissionOK("acme", privilege.FeatureResponse))
	require.Zero(t, metric(t, r.reg, "riskpipe_tenant_permission_ok", map[string]string{"tenant": "acme", "feature": "response"}))
	require.EqualValues(t, 1, metric(t, r.reg, "riskpipe_tenant_permission_ok", map[string]string{"tenant": "acme", "feature": "system_log"}))
	var fix string
	for _, p := range r.app.Permissions() {
		if p.Feature == privilege.FeatureResponse {
			fix = p.Fix
			require.Equal(t, privilege.VerdictMissing, p.Verdict)
		}
	}
	require.Contains(t, fix, "okta.users.manage")
	require.Same(t, poller, r.runner("acme").poller, "the poller is not interrupted")
	require.True(t, r.app.respond.Enabled("acme"), "the response service took the new mode")
}
