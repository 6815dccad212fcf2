package privilege

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/oktasim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sim is one simulated org with credentials of every kind.
func sim(t *testing.T) (base string) {
	t.Helper()
	s, err := oktasim.New(oktasim.Options{Seed: 1, Orgs: []oktasim.OrgOptions{{
		Name:      "acme",
		RateLimit: oktasim.RateLimitOptions{Disabled: true},
		TokenOwners: []oktasim.TokenOwner{
			{Token: "super", UserID: "00usuper", Login: "super@acme.example"},
			{Token: "orgadmin", UserID: "00uorg", Login: "org@acme.example", Roles: []string{oktasim.RoleOrgAdmin}},
			{Token: "readonly", UserID: "00uro", Login: "ro@acme.example", Roles: []string{oktasim.RoleReadOnlyAdmin}},
			{Token: "report", UserID: "00urep", Login: "rep@acme.example", Roles: []string{oktasim.RoleReportAdmin}},
			{Token: "helpdesk", UserID: "00uhd", Login: "hd@acme.example", Roles: []string{oktasim.RoleHelpDeskAdmin}},
			{Token: "nobody", UserID: "00uno", Login: "no@acme.example", Roles: []string{}},
		},
		Clients: []oktasim.Client{
			{ID: "logs-app", Secret: "app-secret-0123", Scopes: []string{"okta.logs.read"}, Roles: []string{oktasim.RoleReadOnlyAdmin}},
			{ID: "wide-app", Secret: "app-secret-0123", Scopes: []string{"okta.logs.read", "okta.users.manage", "okta.groups.manage", "okta.users.read"},
				Roles: []string{oktasim.RoleReadOnlyAdmin}},
			{ID: "users-app", Secret: "app-secret-0123", Scopes: []string{"okta.users.read"}, Roles: []string{oktasim.RoleReadOnlyAdmin}},
			{ID: "roleless-app", Secret: "app-secret-0123", Scopes: []string{"okta.logs.read"}, Roles: []string{}},
			{ID: "super-app", Secret: "app-secret-0123", Scopes: []string{"okta.logs.read", "okta.roles.read"}}, // SUPER_ADMIN
			{ID: "ro-roles-app", Secret: "app-secret-0123", Scopes: []string{"okta.logs.read", "okta.roles.read"}, Roles: []string{oktasim.RoleReadOnlyAdmin}},
		},
	}}})
	require.NoError(t, err)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s.BaseURL(ts.URL, "acme")
}

func tokenTenant(base, tok string) config.Tenant {
	return config.Tenant{Name: "acme", BaseURL: base, Auth: config.Auth{Method: config.AuthAPIToken, Token: config.Secret(tok)}}
}

func appTenant(base, id string, scopes ...string) config.Tenant {
	return config.Tenant{Name: "acme", BaseURL: base, Auth: config.Auth{Method: config.AuthClientSecret, ClientID: id,
		ClientSecret: "app-secret-0123", Scopes: scopes, DPoP: config.DPoPNever}}
}

// protectAdmins turns on response.protected.admins (the default) for t.
func protectAdmins(t config.Tenant) config.Tenant {
	t.Response.Protected.Admins = true
	return t
}

// client builds the tenant's Okta client; its connections close with the test.
func client(t *testing.T, tn config.Tenant) *okta.Client {
	t.Helper()
	c, err := okta.New(okta.Settings{Tenant: tn.Name, BaseURL: tn.BaseURL, Auth: tn.Auth, RequestTimeout: 10 * time.Second, MaxRetries: -1})
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func options(t *testing.T, tn config.Tenant, probe bool) Options {
	return Options{Probe: probe, Scoped: func(scopes []string) (Prober, error) {
		a := tn
		a.Auth.Scopes = scopes
		return client(t, a), nil
	}}
}

// The verdicts on a table of credentials: API tokens of a Read-only
// Administrator, a Report Administrator, a Super Administrator and a user
// without an admin role (and others), OAuth apps with too few and too many
// scopes, with and without the response feature.
func TestCheckVerdicts(t *testing.T) {
	base := sim(t)
	logs := []Feature{FeatureSystemLog}
	withResponse := []Feature{FeatureSystemLog, FeatureResponse}
	type want struct {
		verdict Verdict
		fix     string // substring
		granted string // substring
	}
	for _, tc := range []struct {
		name     string
		tenant   config.Tenant
		features []Feature
		probe    bool
		want     []want
	}{
		{name: "read-only admin token", tenant: tokenTenant(base, "readonly"), features: logs, probe: true,
			want: []want{{VerdictOK, "", "roles not readable (Okta lets only Super Administrators list roles); reading the System Log proven"}}},
		{name: "report admin token", tenant: tokenTenant(base, "report"), features: logs, probe: true,
			want: []want{{VerdictOK, "", "rep@acme.example: roles not readable"}}},
		{name: "super admin token", tenant: tokenTenant(base, "super"), features: logs, probe: true,
			want: []want{{VerdictExcess, "this API token belongs to a Super Administrator; a Read-only Administrator's token is enough for reading the System Log",
				"super@acme.example: Super Administrator (SUPER_ADMIN)"}}},
		{name: "user without admin role", tenant: tokenTenant(base, "nobody"), features: logs, probe: true,
			want: []want{{VerdictMissing, "no@acme.example may not do reading the System Log: assign the Read-only Administrator role", "roles not readable"}}},
		{name: "help desk admin token", tenant: tokenTenant(base, "helpdesk"), features: logs, probe: true,
			want: []want{{VerdictMissing, "assign the Read-only Administrator role", ""}}},
		{name: "revoked token", tenant: tokenTenant(base, "revoked"), features: logs, probe: true,
			want: []want{{VerdictMissing, "create a new API token as a Read-only Administrator and set it in tenants[0].auth.token", "Okta refuses the API token"}}},
		{name: "read-only admin at run time (no probes)", tenant: tokenTenant(base, "readonly"), features: logs, probe: false,
			want: []want{{VerdictUnknown, "", "roles not readable"}}},
		{name: "super admin token, response enabled", tenant: tokenTenant(base, "super"), features: withResponse, probe: true,
			want: []want{
				{VerdictExcess, "this API token belongs to a Super Administrator; an Organization Administrator's token is enough for reading the System Log and response actions", ""},
				{VerdictExcess, "Organization Administrator", ""},
			}},
		{name: "org admin token, response enabled", tenant: tokenTenant(base, "orgadmin"), features: withResponse, probe: true,
			want: []want{
				{VerdictOK, "", "reading the System Log proven"},
				// The simulator serves no /api/v1/users yet (404): unknown.
				{VerdictUnknown, "", "roles not readable"},
			}},
		{name: "oauth app with what it needs", tenant: appTenant(base, "logs-app", "okta.logs.read"), features: logs, probe: true,
			want: []want{{VerdictOK, "", "scopes okta.logs.read"}}},
		{name: "oauth app with too many scopes", tenant: appTenant(base, "wide-app", "okta.logs.read", "okta.users.manage"), features: logs, probe: true,
			want: []want{{VerdictExcess, "okta.users.manage is granted to the service app wide-app but no enabled feature needs it: remove it from tenants[0].auth.scopes", ""}}},
		{name: "oauth app with too many scopes, response enabled", tenant: appTenant(base, "wide-app", "okta.logs.read", "okta.users.manage", "okta.groups.manage", "okta.users.read"),
			features: withResponse, probe: true,
			// The users probe answers (the simulator's directory), but a
			// permission to change users cannot be proven by a read: unknown.
			want: []want{{VerdictOK, "", ""}, {VerdictUnknown, "reads are allowed, but response actions", ""}}},
		{name: "oauth app without the log scope granted", tenant: appTenant(base, "users-app", "okta.logs.read"), features: logs, probe: true,
			want: []want{{VerdictMissing, "grant okta.logs.read to the service app users-app", "invalid_scope"}}},
		{name: "oauth config without the log scope", tenant: appTenant(base, "users-app", "okta.users.read"), features: logs, probe: true,
			want: []want{{VerdictMissing, "add okta.logs.read to tenants[0].auth.scopes", ""}}},
		{name: "oauth config asks for a scope not granted", tenant: appTenant(base, "logs-app", "okta.logs.read", "okta.users.manage"), features: logs, probe: true,
			want: []want{{VerdictMissing, "asks for okta.users.manage, which the service app logs-app is not granted", ""}}},
		{name: "oauth app without admin role", tenant: appTenant(base, "roleless-app", "okta.logs.read"), features: logs, probe: true,
			want: []want{{VerdictMissing, "has okta.logs.read but no admin role allowing reading the System Log: assign the Read-only Administrator role to the app", ""}}},
		{name: "oauth app that is a Super Administrator, roles readable", tenant: appTenant(base, "super-app", "okta.logs.read", "okta.roles.read"),
			features: logs, probe: true,
			want: []want{{VerdictExcess, "the service app super-app is a Super Administrator; the Read-only Administrator role is enough for reading the System Log: assign it instead",
				"admin roles: Super Administrator (SUPER_ADMIN)"}}},
		{name: "oauth app with okta.roles.read that may not list roles", tenant: appTenant(base, "ro-roles-app", "okta.logs.read", "okta.roles.read"),
			features: logs, probe: true,
			want: []want{{VerdictOK, "", "reading the System Log proven"}}},
		{name: "oauth app, response with protected.admins, without okta.roles.read",
			tenant:   protectAdmins(appTenant(base, "wide-app", "okta.logs.read", "okta.users.manage", "okta.groups.manage", "okta.users.read")),
			features: withResponse, probe: true,
			want: []want{{VerdictOK, "", ""}, {VerdictMissing, "add okta.roles.read to tenants[0].auth.scopes (and grant okta.roles.read to the service app wide-app); " +
				"okta.roles.read lets riskpipe refuse to act on administrators (protected.admins): without it, set tenants[0].response.protected.admins: false", ""}}},
		{name: "oauth app with response enabled and log scopes only", tenant: appTenant(base, "logs-app", "okta.logs.read"), features: withResponse, probe: true,
			want: []want{{VerdictOK, "", ""}, {VerdictMissing, "add okta.users.manage okta.groups.manage okta.users.read to tenants[0].auth.scopes", ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(context.Background(), tc.tenant, "tenants[0]", tc.features, client(t, tc.tenant), options(t, tc.tenant, tc.probe))
			require.Len(t, got, len(tc.want))
			for i, w := range tc.want {
				r := got[i]
				require.Equal(t, tc.features[i], r.Feature)
				require.Equal(t, w.verdict, r.Verdict, "%+v", r)
				if w.fix == "" && w.verdict == VerdictOK {
					require.Empty(t, r.Fix)
				}
				require.Contains(t, r.Fix, w.fix, "%+v", r)
				require.Contains(t, r.Granted, w.granted, "%+v", r)
				require.NotEmpty(t, r.Needed)
				require.NotEmpty(t, r.Evidence)
				for _, e := range r.Evidence {
					require.False(t, strings.HasPrefix(e, "POST") || strings.HasPrefix(e, "PUT") || strings.HasPrefix(e, "DELETE"), "only reads: %s", e)
				}
			}
		})
	}
}
