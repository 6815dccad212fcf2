package respond

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/store"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// fakeClock is the Service's and the simulator's clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	simToken = "sim-write-token-0123456789"
	joren    = "00ujoren"
	ada      = "00uada"
	bea      = "00ubea"
	cas      = "00ucas"
	admin    = "00uadmin"
	gone     = "00ugone"
	jsmith   = "00ujsmith"
	jane     = "00ujane"
	grp      = "00grestricted"
	adGroup  = "00gad"
	vips     = "00gvips"
)

func simUsers() []oktasim.User {
	u := func(id, login, first, last string) oktasim.User {
		return oktasim.User{ID: id, Profile: oktasim.Profile{Login: login, Email: login, FirstName: first, LastName: last},
			Sessions: 2, OAuthTokens: 2, RememberedFactors: 1}
	}
	j := u(joren, "joren.m@example.com", "Joren", "Maes")
	j.Profile.SecondEmail = "jm@corp.example"
	adm := u(admin, "root@example.com", "Root", "Admin")
	adm.AdminRoles = []string{"ORG_ADMIN"}
	g := u(gone, "gone@example.com", "Gone", "User")
	g.Status = oktasim.StatusDeprovisioned
	js := u(jsmith, "jsmith@example.com", "John", "Smith")
	jn := u(jane, "jane.smith@example.com", "Jane", "Smith")
	jn.Profile.Email = "jsmith@example.org"
	return []oktasim.User{j, u(ada, "ada@example.com", "Ada", "Lovelace"), u(bea, "bea@example.com", "Bea", "Brown"),
		u(cas, "cas@example.com", "Cas", "Cole"), adm, g, js, jn}
}

// harness is one org "acme" in the simulator on a real socket, a fresh
// ClickHouse database and a tenant config; service builds a Service on
// them (again after a simulated kill -9: same database, same simulator).
type harness struct {
	t     *testing.T
	clock *fakeClock
	org   *oktasim.Org
	base  string
	st    *store.Store
	ten   config.Tenant
	// others are more tenants of the service (response off unless set).
	others []config.Tenant
	// transport, when set, wraps the Okta client's transport.
	transport func(http.RoundTripper) http.RoundTripper
	// perms, when set, is the service's permission gate.
	perms Permissions
}

func newHarness(t *testing.T, mutate func(*config.Response)) *harness {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	sim, err := oktasim.New(oktasim.Options{Now: clock.Now, Seed: 1, Orgs: []oktasim.OrgOptions{{
		Name: "acme", Tokens: []string{simToken}, ManagementPerMinute: 100000,
		Clients: []oktasim.Client{{ID: "reader", Secret: "reader-secret", Scopes: []string{"okta.users.read", "okta.groups.read", "okta.roles.read", "okta.logs.read"}}},
		Users:   simUsers(),
		Groups: []oktasim.Group{{ID: grp, Name: "Restricted"}, {ID: adGroup, Type: oktasim.GroupApp, Name: "AD users"},
			{ID: vips, Name: "VIPs", Members: []string{bea}}},
	}}})
	require.NoError(t, err)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	ch := chtest.Start(t)
	db := chtest.NewDatabase(t, ch)
	st, err := store.Open(context.Background(), chtest.Config(ch, db), nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(context.Background()))
	r := config.DefaultResponse()
	r.Mode = config.ResponseApprove
	r.RestrictedGroupID = grp
	r.Protected.Groups = []string{vips}
	if mutate != nil {
		mutate(&r)
	}
	ten := config.Tenant{Name: "acme", BaseURL: sim.BaseURL(srv.URL, "acme"),
		Auth:     config.Auth{Method: config.AuthAPIToken, Token: config.Secret(simToken)},
		Poll:     config.Poll{RequestTimeout: 10 * time.Second},
		Response: r}
	return &harness{t: t, clock: clock, org: sim.Org("acme"), base: ten.BaseURL, st: st, ten: ten}
}

// service builds and starts a Service (a process start).
func (h *harness) service(ctx context.Context) *Service {
	h.t.Helper()
	s, err := New(Settings{
		Tenants: append([]config.Tenant{h.ten}, h.others...), Conn: h.st.Conn(), Database: h.st.Database(),
		Registerer: prometheus.NewRegistry(), Now: h.clock.Now, Permissions: h.perms,
		NewOkta: func(t config.Tenant) (Okta, error) {
			var tr http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
			if h.transport != nil {
				tr = h.transport(tr)
			}
			w, err := okta.NewWriter(okta.Settings{Tenant: t.Name, BaseURL: t.BaseURL, Auth: t.WriteAuth(),
				RateLimitShare: 1, RequestTimeout: 10 * time.Second, Transport: tr, MaxRetries: 2})
			if err != nil {
				return nil, err
			}
			h.t.Cleanup(w.CloseIdleConnections)
			return w, nil
		},
	})
	require.NoError(h.t, err)
	require.NoError(h.t, s.Start(ctx))
	return s
}

func (h *harness) writes(template string) int64 { return h.org.WriteCalls()[template] }

const (
	callSuspend = "POST /api/v1/users/{id}/lifecycle/suspend"
	callClear   = "DELETE /api/v1/users/{id}/sessions"
	callAdd     = "PUT /api/v1/groups/{gid}/users/{uid}"
)

func propose(t *testing.T, s *Service, act config.ResponseAction, user, by string) Action {
	t.Helper()
	a, created, err := s.Propose(context.Background(), Proposal{Tenant: "acme", Action: act, UserID: user, Reason: "test", By: by})
	require.NoError(t, err)
	require.True(t, created)
	return a
}

func get(t *testing.T, s *Service, id string) Action {
	t.Helper()
	a, ok := s.Get(id)
	require.True(t, ok)
	return a
}

// auditStates are the states of an action's rows in response_actions, in
// version order.
func (h *harness) auditStates(id string) []string {
	h.t.Helper()
	rows, err := h.st.Conn().Query(context.Background(), "SELECT state FROM `"+h.st.Database()+"`.response_actions FINAL WHERE action_id = ? ORDER BY version", id)
	require.NoError(h.t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(h.t, rows.Scan(&s))
		out = append(out, s)
	}
	return out
}

// writerFor is a separate Okta client on the org (test set-up changes).
func writerFor(t *testing.T, h *harness) *okta.Writer {
	t.Helper()
	w, err := okta.NewWriter(okta.Settings{Tenant: "acme", BaseURL: h.base, RateLimitShare: 1,
		Auth: config.Auth{Method: config.AuthAPIToken, Token: config.Secret(simToken)}})
	require.NoError(t, err)
	t.Cleanup(w.CloseIdleConnections)
	return w
}
