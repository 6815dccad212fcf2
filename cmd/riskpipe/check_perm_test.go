package main

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/privilege"
)

// riskpipe check judges each tenant's credential per feature (needed,
// granted, verdict, fix), in text and --json: exit 0 when every feature
// has what it needs (excess and unknown are warnings), 1 when one lacks
// something, 2 for a bad config.
func TestCheckPermissions(t *testing.T) {
	srv := chtest.Start(t)
	fl := newFleet(t, simSettings{orgs: 3, scenario: scenario.ScenarioQuiet, seed: 7, eps: 5})
	db := chtest.NewDatabase(t, srv)
	r := runCLI(context.Background(), "migrate", "--config", writeConfig(t, cfgSpec{addr: srv.Addr(), db: db}))
	require.Equal(t, exitOK, r.code, "%s", r)
	acme := fl.org("acme")
	const (
		readOnly = secretMark + "-read-only-admin-token"
		report   = secretMark + "-report-admin-token"
		nobody   = secretMark + "-no-admin-role-token"
		orgAdmin = secretMark + "-org-admin-token"
	)
	acme.AddToken(readOnly, oktasim.TokenOwner{Login: "ro@acme.example", Roles: []string{oktasim.RoleReadOnlyAdmin}})
	acme.AddToken(report, oktasim.TokenOwner{Login: "rep@acme.example", Roles: []string{oktasim.RoleReportAdmin}})
	acme.AddToken(nobody, oktasim.TokenOwner{Login: "nobody@acme.example", Roles: []string{}})
	acme.AddToken(orgAdmin, oktasim.TokenOwner{Login: "org@acme.example", Roles: []string{oktasim.RoleOrgAdmin}})

	for _, tc := range []struct {
		name  string
		token string // acme's; default: the fleet's Super Administrator token
		// respToken: acme's tenants[0].response.auth token (response in
		// approve mode), judged for identity matching and response.
		respToken string
		wantCode  int
		verdict   privilege.Verdict
		want      []*regexp.Regexp
	}{
		{name: "read-only admin", token: readOnly, wantCode: exitOK, verdict: privilege.VerdictOK,
			want: []*regexp.Regexp{regexp.MustCompile(`(?m)^acme system_log +ok\n    needed: .*Read-only Administrator or Report Administrator\n    granted: the API token of ro@acme.example: roles not readable`)}},
		{name: "report admin", token: report, wantCode: exitOK, verdict: privilege.VerdictOK},
		{name: "super admin", wantCode: exitOK, verdict: privilege.VerdictExcess,
			want: []*regexp.Regexp{
				regexp.MustCompile(`(?m)^acme system_log +excess$`),
				regexp.MustCompile(`(?m)^    fix: +this API token belongs to a Super Administrator; a Read-only Administrator's token is enough for reading the System Log$`),
				regexp.MustCompile(`(?m)^\d+ warning\(s\)`),
			}},
		{name: "user without admin role", token: nobody, wantCode: exitRuntime, verdict: privilege.VerdictMissing,
			want: []*regexp.Regexp{
				checkLine("tenant acme", `FAIL  okta authentication failed: status 403: E0000006`),
				regexp.MustCompile(`(?m)^acme system_log +missing$`),
				regexp.MustCompile(`(?m)^    fix: +the API token's user nobody@acme.example may not do reading the System Log: assign the Read-only Administrator role`),
			}},
		{name: "read-only admin, response credential of an org admin", token: readOnly, respToken: orgAdmin, wantCode: exitOK, verdict: privilege.VerdictOK,
			want: []*regexp.Regexp{
				regexp.MustCompile(`(?m)^acme system_log +ok$`),
				regexp.MustCompile(`(?m)^acme identity_matching \(response.auth\) +ok\n    needed: .*\n    granted: the API token of org@acme.example`),
				regexp.MustCompile(`(?m)^acme response \(response.auth\) +unknown\n`),
			}},
		{name: "read-only admin, response credential without admin role", token: readOnly, respToken: nobody, wantCode: exitRuntime, verdict: privilege.VerdictOK,
			want: []*regexp.Regexp{
				regexp.MustCompile(`(?m)^acme system_log +ok$`),
				regexp.MustCompile(`(?m)^acme response \(response.auth\) +missing\n(    .*\n)*    fix: +the API token's user nobody@acme.example may not do response actions .*verified from the System Log: assign the Organization Administrator role`),
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := fl.tenants()
			if tc.token != "" {
				ts[0].token = tc.token
			}
			if tc.respToken != "" {
				ts[0].extra = "    response:\n      mode: approve\n      auth: {method: api_token, token: \"" + tc.respToken + "\"}\n"
			}
			cfg := writeConfig(t, cfgSpec{addr: srv.Addr(), db: db, tenants: ts})
			r := runCLI(context.Background(), "check", "--config", cfg, "--timeout", "20s")
			require.Equal(t, tc.wantCode, r.code, "%s", r)
			for _, re := range tc.want {
				require.Regexp(t, re, r.stdout, "%s", r)
			}
			// The OAuth tenants have what they need and no more.
			require.Regexp(t, `(?m)^globex system_log +ok$`, r.stdout)
			require.Regexp(t, `(?m)^initech system_log +ok$`, r.stdout)
			requireNoSecret(t, r, fl.keyLines()...)

			j := runCLI(context.Background(), "check", "--config", cfg, "--timeout", "20s", "--json")
			require.Equal(t, tc.wantCode, j.code, "%s", j)
			var rep checkReport
			require.NoError(t, json.Unmarshal([]byte(j.stdout), &rep), "--json prints one JSON document: %s", j.stdout)
			require.True(t, rep.ClickHouse.OK)
			require.Len(t, rep.Tenants, 3)
			require.Equal(t, "acme", rep.Tenants[0].Tenant)
			perms := rep.Tenants[0].Permissions
			if tc.respToken != "" {
				require.Len(t, perms, 3)
				for _, p := range perms[1:] {
					require.Equal(t, privilege.CredentialResponse, p.Credential)
				}
				require.Equal(t, []privilege.Feature{privilege.FeatureIdentity, privilege.FeatureResponse}, []privilege.Feature{perms[1].Feature, perms[2].Feature})
			} else {
				require.Len(t, perms, 1)
			}
			p := perms[0]
			require.Empty(t, p.Credential)
			require.Equal(t, privilege.FeatureSystemLog, p.Feature)
			require.Equal(t, tc.verdict, p.Verdict)
			require.NotEmpty(t, p.Needed)
			require.NotEmpty(t, p.Granted)
			require.NotEmpty(t, p.Evidence)
			require.Equal(t, tc.verdict != privilege.VerdictOK, p.Fix != "")
			requireNoSecret(t, j, fl.keyLines()...)
		})
	}

	r = runCLI(context.Background(), "check", "--config", writeFile(t, "bad.yaml", "tenants: 3\n"), "--json")
	require.Equal(t, exitUsage, r.code, "%s", r)
	require.Empty(t, r.stdout)
}
