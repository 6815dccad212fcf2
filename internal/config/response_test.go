package config

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestResponseConfig(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "response", "response.good.yaml"), MapEnv(nil))
	require.NoError(t, err)
	r := cfg.Tenants[0].Response
	require.Equal(t, ResponseAuto, r.Mode)
	require.Equal(t, 72*time.Hour, r.RevertAfter)
	require.Equal(t, 24*time.Hour, r.ApprovalTTL, "default")
	require.Equal(t, 10, r.MaxActionsPerHour, "default")
	require.True(t, r.FourEyes)
	require.True(t, r.Protected.Admins, "default true")
	require.Equal(t, []string{"breakglass@acme.example"}, r.Protected.Users)
	require.Equal(t, ResponseScopes, r.Auth.Scopes, "OAuth response credentials default to the write scopes")
	require.Equal(t, "rule-0", r.Rules[0].Name)
	require.Equal(t, "itp", r.Rules[1].Name)
	require.True(t, r.Automatic(ActionAddToGroup))
	require.False(t, r.Automatic(ActionSuspend))
	require.Equal(t, "client_secret", cfg.Tenants[0].WriteAuth().Method)
	require.Equal(t, []string{"CORP", "corp.example"}, r.IdentityDomains)
	require.Equal(t, []string{"GLOBEX"}, cfg.Tenants[1].Response.IdentityDomains)
	cfg.Tenants[1].Response.IdentityDomains = nil
	require.Equal(t, DefaultResponse(), cfg.Tenants[1].Response)
	require.False(t, cfg.Tenants[1].Response.Enabled())
	require.Equal(t, AuthAPIToken, cfg.Tenants[1].WriteAuth().Method, "default: the tenant's auth")
}

func TestResponseConfigBad(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "response", "response.bad.yaml"), MapEnv(nil))
	require.ElementsMatch(t, []string{
		"tenants[0].response.mode: must be off, dry_run, approve or auto",
		"tenants[0].response.auth.client_secret: required for method client_secret",
		"tenants[0].response.approval_ttl: must be at least 1m",
		"tenants[0].response.revert_after: must not be negative (0: revert by hand only)",
		"tenants[0].response.max_actions_per_hour: must be at least 1",
		`tenants[0].response.four_eyes: invalid boolean "maybe" (want true or false)`,
		"tenants[0].response.auto_actions[1]: must be one of [clear_sessions suspend unsuspend add_to_group remove_from_group]",
		"tenants[0].response.verify_within: must be at least 1m",
		"tenants[0].response.protected.users[0]: must be a non-empty string",
		"tenants[0].response.protected.everyone: unknown key",
		"tenants[0].response.rules[0].when.level: must be low, medium, high or critical",
		"tenants[0].response.rules[1].when: needs exactly one of level, category and event_type",
		"tenants[0].response.rules[1].propose: must list at least one action",
		"tenants[0].response.rules[2].when.risk_level: must be LOW, MEDIUM or HIGH, with event_type",
		"tenants[0].response.rules[2].propose[0]: must be one of [clear_sessions suspend add_to_group]",
		"tenants[0].response.rules[3].when.category: must be one of user_risk, entity_risk, threat_insight, leaked_credentials, high_risk, extra",
		"tenants[0].response.rules[3].bogus: unknown key",
		"tenants[0].response.restricted_group_id: required when a rule proposes add_to_group",
		`tenants[0].response.identity_domains[1]: must be a domain name such as CORP or corp.example (letters, digits, '.', '-', '_'; no '\' or '@')`,
		"tenants[0].response.identity_domains[2]: duplicate of tenants[0].response.identity_domains[0]",
		`tenants[0].response.identity_domains[3]: must be a domain name such as CORP or corp.example (letters, digits, '.', '-', '_'; no '\' or '@')`,
		"tenants[1].response.identity_domains[1]: claimed by tenants[0] too: a domain belongs to one org",
	}, problemLines(t, err))
}
