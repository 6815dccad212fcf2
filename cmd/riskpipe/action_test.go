package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/api"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/respond"
	"github.com/riskpipe/riskpipe/internal/store"
)

// TestActionCLI drives `riskpipe action` against a real API and response
// service (simulator, ClickHouse) found through the config's http.listen.
func TestActionCLI(t *testing.T) {
	sim, err := oktasim.New(oktasim.Options{Seed: 1, Orgs: []oktasim.OrgOptions{{Name: "acme", Tokens: []string{"sim-acme"},
		Users: []oktasim.User{{ID: "00ujoren", Profile: oktasim.Profile{Login: "joren.m@acme.example", Email: "joren.m@acme.example", FirstName: "Joren", LastName: "Maes"}}}}}})
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
	r := config.DefaultResponse()
	r.Mode = config.ResponseApprove
	tenants := []config.Tenant{{Name: "acme", BaseURL: sim.BaseURL(simSrv.URL, "acme"), Response: r,
		Auth: config.Auth{Method: config.AuthAPIToken, Token: "sim-acme"}, Poll: config.Poll{RequestTimeout: 10 * time.Second}}}
	svc, err := respond.New(respond.Settings{Tenants: tenants, Conn: st.Conn(), Database: st.Database(), Registerer: prometheus.NewRegistry()})
	require.NoError(t, err)
	require.NoError(t, svc.Start(ctx))
	roles := []config.Role{config.RoleRespond}
	a, err := api.New(api.Settings{Conn: st.Conn(), Database: st.Database(), Tenants: tenants, Respond: svc, Tokens: []config.APIToken{
		{Name: "ann", Token: "ann-token-0123456789", Tenants: []string{"acme"}, Roles: roles},
		{Name: "bo", Token: "bo-token-0123456789", Tenants: []string{"acme"}, Roles: roles},
	}})
	require.NoError(t, err)
	apiSrv := httptest.NewServer(a.Handler())
	t.Cleanup(apiSrv.Close)
	cfgPath := filepath.Join(t.TempDir(), "riskpipe.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("http:\n  listen: "+apiSrv.Listener.Addr().String()+"\n"), 0o600))

	t.Setenv("ANN_TOKEN", "ann-token-0123456789")
	t.Setenv("BO_TOKEN", "bo-token-0123456789")
	cli := func(tokenEnv string, args ...string) cliResult {
		return runCLI(ctx, append(append([]string{"action"}, args...), "--config", cfgPath, "--token-env", tokenEnv)...)
	}
	res := cli("ANN_TOKEN", "propose", "--org", "acme", "--action", "suspend", "--user-id", "00ujoren", "--reason", "ATO")
	require.Equal(t, exitOK, res.code, "%s", res)
	m := regexp.MustCompile(`^(act_[0-9a-f]+) acme suspend on joren.m@acme.example: proposed\n$`).FindStringSubmatch(res.stdout)
	require.NotNil(t, m, res.stdout)
	id := m[1]

	res = cli("ANN_TOKEN", "approve", "--id", id)
	require.Equal(t, exitRuntime, res.code, "%s", res)
	require.Contains(t, res.stderr, "403 four eyes")
	res = cli("BO_TOKEN", "approve", "--id", id)
	require.Equal(t, exitOK, res.code, "%s", res)
	require.Contains(t, res.stdout, ": approved")
	res = cli("BO_TOKEN", "reject", "--id", id, "--reason", "late")
	require.Equal(t, exitRuntime, res.code)
	require.Contains(t, res.stderr, "409")
	require.Contains(t, res.stderr, "(current state approved)")
	svc.Sweep(ctx)
	res = cli("ANN_TOKEN", "list")
	require.Equal(t, exitOK, res.code, "%s", res)
	require.Regexp(t, `(?m)^`+id+` +acme +suspend +joren.m@acme.example +succeeded +ann `, res.stdout)
	res = cli("ANN_TOKEN", "revert", "--id", id)
	require.Equal(t, exitOK, res.code, "%s", res)
	require.Contains(t, res.stdout, ": reverted")
	res = cli("ANN_TOKEN", "list", "--json", "--state", "reverted")
	require.Equal(t, exitOK, res.code, "%s", res)
	require.Contains(t, res.stdout, `"id":"`+id+`"`)

	// Usage errors.
	res = cli("ANN_TOKEN", "approve")
	require.Equal(t, exitUsage, res.code)
	require.Contains(t, res.stderr, "--id is required")
	res = cli("NO_SUCH_TOKEN_ENV", "list")
	require.Equal(t, exitUsage, res.code)
	require.Contains(t, res.stderr, "$NO_SUCH_TOKEN_ENV is empty")
	res = cli("ANN_TOKEN", "propose", "--org", "acme", "--action", "suspend")
	require.Equal(t, exitUsage, res.code)
	require.NotContains(t, res.stdout+res.stderr, "ann-token-0123456789")
}
