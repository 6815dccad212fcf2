package privilege

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
)

// TestResponseCredential: with tenants[].response.auth set, the tenant's
// auth is judged for the System Log only and the response credential for
// identity matching and response actions (with the System Log read that
// verifies them), its fixes naming tenants[0].response.auth.
func TestResponseCredential(t *testing.T) {
	base := sim(t)
	type want struct {
		feature    Feature
		credential string
		verdict    Verdict
		fix        string // substring
	}
	approve := func(main config.Tenant, write config.Auth) config.Tenant {
		main.Response = config.Response{Mode: config.ResponseApprove, Auth: &write}
		return main
	}
	token := func(tok string) config.Auth {
		return config.Auth{Method: config.AuthAPIToken, Token: config.Secret(tok)}
	}
	app := func(id string, scopes ...string) config.Auth {
		return appTenant(base, id, scopes...).Auth
	}
	for _, tc := range []struct {
		name   string
		tenant config.Tenant
		want   []want
	}{
		{name: "read-only auth, org admin response token", tenant: approve(tokenTenant(base, "readonly"), token("orgadmin")),
			want: []want{
				{FeatureSystemLog, "", VerdictOK, ""},
				// Roles not readable by an Org Admin's token: the reads
				// are proven, the writes cannot be.
				{FeatureIdentity, CredentialResponse, VerdictOK, ""},
				{FeatureResponse, CredentialResponse, VerdictUnknown, "cannot be proven without a write"},
			}},
		{name: "response token of a user without admin role", tenant: approve(tokenTenant(base, "readonly"), token("nobody")),
			want: []want{
				{FeatureSystemLog, "", VerdictOK, ""},
				// The simulator lets it list users (the probe proves
				// identity matching); the System Log read of the
				// verification is refused.
				{FeatureIdentity, CredentialResponse, VerdictOK, ""},
				{FeatureResponse, CredentialResponse, VerdictMissing, "no@acme.example may not do response actions (suspend users, clear sessions, restrict group membership), verified from the System Log: assign the Organization Administrator role"},
			}},
		{name: "revoked response token", tenant: approve(tokenTenant(base, "readonly"), token("revoked")),
			want: []want{
				{FeatureSystemLog, "", VerdictOK, ""},
				{FeatureIdentity, CredentialResponse, VerdictMissing, "set it in tenants[0].response.auth.token"},
				{FeatureResponse, CredentialResponse, VerdictMissing, "set it in tenants[0].response.auth.token"},
			}},
		{name: "super admin auth for the log only", tenant: approve(tokenTenant(base, "super"), token("orgadmin")),
			want: []want{
				// Only the System Log is judged against auth: a Read-only
				// Administrator would do.
				{FeatureSystemLog, "", VerdictExcess, "a Read-only Administrator's token is enough for reading the System Log"},
				{FeatureIdentity, CredentialResponse, VerdictOK, ""},
				{FeatureResponse, CredentialResponse, VerdictUnknown, ""},
			}},
		{name: "oauth response app without the log scope", tenant: approve(tokenTenant(base, "readonly"),
			app("wide-app", "okta.users.manage", "okta.groups.manage", "okta.users.read")),
			want: []want{
				{FeatureSystemLog, "", VerdictOK, ""},
				{FeatureIdentity, CredentialResponse, VerdictOK, ""},
				{FeatureResponse, CredentialResponse, VerdictMissing, "add okta.logs.read to tenants[0].response.auth.scopes"},
			}},
		{name: "oauth response app with what it needs", tenant: approve(tokenTenant(base, "readonly"),
			app("wide-app", "okta.users.manage", "okta.groups.manage", "okta.users.read", "okta.logs.read")),
			want: []want{
				{FeatureSystemLog, "", VerdictOK, ""},
				{FeatureIdentity, CredentialResponse, VerdictOK, ""},
				{FeatureResponse, CredentialResponse, VerdictUnknown, "reads are allowed, but response actions"},
			}},
		{name: "oauth response app with too few scopes granted", tenant: approve(tokenTenant(base, "readonly"),
			app("users-app", "okta.users.read")),
			want: []want{
				{FeatureSystemLog, "", VerdictOK, ""},
				{FeatureIdentity, CredentialResponse, VerdictOK, ""},
				{FeatureResponse, CredentialResponse, VerdictMissing, "add okta.users.manage okta.groups.manage okta.logs.read to tenants[0].response.auth.scopes"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			got := Check(ctx, tc.tenant, "tenants[0]", Features(tc.tenant), client(t, tc.tenant), options(t, tc.tenant, true))
			rt, rkey, fs, ok := ResponseCredential(tc.tenant, "tenants[0]")
			require.True(t, ok)
			require.Equal(t, "tenants[0].response", rkey)
			o := options(t, rt, true)
			o.Response = true
			got = append(got, Check(ctx, rt, rkey, fs, client(t, rt), o)...)
			require.Len(t, got, len(tc.want))
			for i, w := range tc.want {
				r := got[i]
				require.Equal(t, w.feature, r.Feature)
				require.Equal(t, w.credential, r.Credential)
				require.Equal(t, w.verdict, r.Verdict, "%+v", r)
				require.Contains(t, r.Fix, w.fix, "%+v", r)
			}
		})
	}

	// Without a response.auth, or with response off, there is none.
	_, _, _, ok := ResponseCredential(tokenTenant(base, "readonly"), "tenants[0]")
	require.False(t, ok)
	off := approve(tokenTenant(base, "readonly"), token("orgadmin"))
	off.Response.Mode = config.ResponseOff
	_, _, _, ok = ResponseCredential(off, "tenants[0]")
	require.False(t, ok)
	dry := approve(tokenTenant(base, "readonly"), token("orgadmin"))
	dry.Response.Mode = config.ResponseDryRun
	_, _, fs, ok := ResponseCredential(dry, "tenants[0]")
	require.True(t, ok)
	require.Equal(t, []Feature{FeatureIdentity}, fs, "dry_run only reads")
}
