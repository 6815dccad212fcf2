package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const diffBase = `
clickhouse: {addr: "127.0.0.1:9000"}
api:
  tokens:
    - {name: ops, token: abcdefghijklmnopqrstuvwxyz, tenants: ["*"], roles: [read, admin]}
tenants:
  - name: acme
    base_url: https://acme.okta.com
    auth: {method: api_token, token: t1}
  - name: globex
    base_url: https://globex.okta.com
    auth: {method: client_secret, client_id: c1, client_secret: s1}
  - name: initech
    base_url: https://initech.okta.com
    auth: {method: api_token, token: t3}
  - name: umbrella
    base_url: https://umbrella.okta.com
    auth: {method: api_token, token: t4}
    enabled: false
`

func TestCompare(t *testing.T) {
	parse := func(t *testing.T, s string) *Config {
		t.Helper()
		c, err := Parse([]byte(s), MapEnv(nil))
		require.NoError(t, err)
		return c
	}
	for _, tc := range []struct {
		name      string
		base      string // appended to diffBase for both files
		edit      func(string) string
		tenants   []TenantDiff
		unchanged []string
		global    []string
		refused   []string
	}{
		{name: "same file", edit: func(s string) string { return s }, unchanged: []string{"acme", "globex", "initech"}},
		{name: "rotated api token and client secret", edit: func(s string) string {
			s = replace(s, "token: t1", "token: t1-rotated")
			return replace(s, "client_secret: s1", "client_secret: s1-rotated")
		}, tenants: []TenantDiff{{Name: "acme", Change: TenantClient, Keys: []string{"auth"}},
			{Name: "globex", Change: TenantClient, Keys: []string{"auth"}}}, unchanged: []string{"initech"}},
		{name: "poll interval of one tenant", edit: func(s string) string {
			return replace(s, "auth: {method: api_token, token: t3}", "auth: {method: api_token, token: t3}\n    poll: {interval: 5s}")
		}, tenants: []TenantDiff{{Name: "initech", Change: TenantRestarted, Keys: []string{"poll.interval"}}},
			unchanged: []string{"acme", "globex"}},
		{name: "rate limit share is the client's", edit: func(s string) string {
			return replace(s, "auth: {method: api_token, token: t3}", "auth: {method: api_token, token: t3}\n    poll: {rate_limit_share: 0.2}")
		}, tenants: []TenantDiff{{Name: "initech", Change: TenantClient, Keys: []string{"poll.rate_limit_share"}}},
			unchanged: []string{"acme", "globex"}},
		{name: "added, removed, disabled, enabled", edit: func(s string) string {
			s = replace(s, "  - name: acme\n    base_url: https://acme.okta.com\n    auth: {method: api_token, token: t1}\n", "")
			s = replace(s, "auth: {method: api_token, token: t3}", "auth: {method: api_token, token: t3}\n    enabled: false")
			s = replace(s, "token: t4}\n    enabled: false", "token: t4}")
			return s + "  - name: hooli\n    base_url: https://hooli.okta.com\n    auth: {method: api_token, token: t5}\n"
		}, tenants: []TenantDiff{
			{Name: "initech", Change: TenantDisabled, Keys: []string{"enabled"}},
			{Name: "umbrella", Change: TenantEnabled, Keys: []string{"enabled"}},
			{Name: "hooli", Change: TenantAdded},
			{Name: "acme", Change: TenantRemoved},
		}, unchanged: []string{"globex"}},
		{name: "score restarts every poller", edit: func(s string) string {
			return s + "score: {half_life: 48h}\n"
		}, tenants: []TenantDiff{
			{Name: "acme", Change: TenantRestarted, Keys: []string{"score"}},
			{Name: "globex", Change: TenantRestarted, Keys: []string{"score"}},
			{Name: "initech", Change: TenantRestarted, Keys: []string{"score"}},
		}, global: []string{"score"}},
		{name: "api tokens and reload apply at once", edit: func(s string) string {
			return replace(s, "roles: [read, admin]", "roles: [read]") + "reload: {watch: true}\n"
		}, global: []string{"api.tokens", "reload.watch"}, unchanged: []string{"acme", "globex", "initech"}},
		{name: "base url to another org is refused", edit: func(s string) string {
			return replace(s, "https://acme.okta.com", "https://other.okta.com")
		}, refused: []string{"tenants[0].base_url"}, unchanged: []string{"globex", "initech"}},
		{name: "clickhouse, http, memory and log need a restart", edit: func(s string) string {
			s = replace(s, "127.0.0.1:9000", "127.0.0.1:9001")
			return s + "http: {listen: '127.0.0.1:9999'}\nmemory: {pages_in_flight: 2}\nlog: {level: debug}\n"
		}, refused: []string{"clickhouse.addr", "http.listen", "memory.pages_in_flight", "log.level"},
			unchanged: []string{"acme", "globex", "initech"}},
		{name: "notify and contacts apply at once: the notifier takes them", edit: func(s string) string {
			s = replace(s, "auth: {method: api_token, token: t3}",
				"auth: {method: api_token, token: t3}\n    contacts: {primary_security: [{name: SecOps, email: secops@initech.example}]}")
			s = replace(s, notifyOn, "notify: {smtp: {host: smtp2.example.com, from: riskpipe@example.com}, group_interval: 10m}\n")
			return s + "contacts: {primary_security: [{name: SOC, email: soc@mssp.example}]}\n"
		}, base: notifyOn, tenants: []TenantDiff{ // the top-level contacts are every tenant's
			{Name: "acme", Change: TenantSettings, Keys: []string{"contacts"}},
			{Name: "globex", Change: TenantSettings, Keys: []string{"contacts"}},
			{Name: "initech", Change: TenantSettings, Keys: []string{"contacts"}},
		}, global: []string{"notify.smtp", "notify.group_interval", "contacts.primary_security"}},
		{name: "turning notifications on needs a restart (no notifier runs)", edit: func(s string) string {
			return s + "notify: {webhooks: [{name: soc, url: 'https://hooks.example.com/x', format: slack}]}\n"
		}, refused: []string{"notify"}, global: []string{"notify.webhooks"}, unchanged: []string{"acme", "globex", "initech"}},
		{name: "turning notifications off needs a restart", base: notifyOn, edit: func(s string) string {
			return replace(s, notifyOn, "")
		}, refused: []string{"notify"}, global: []string{"notify.smtp"}, unchanged: []string{"acme", "globex", "initech"}},
		{name: "response applies at once: the response service takes it", edit: func(s string) string {
			s = replace(s, "auth: {method: api_token, token: t1}", "auth: {method: api_token, token: t1}\n    response: {mode: dry_run}")
			return replace(s, "client_secret: s1}", "client_secret: s1-rotated}\n    response: {mode: approve}")
		}, tenants: []TenantDiff{{Name: "acme", Change: TenantSettings, Keys: []string{"response"}},
			{Name: "globex", Change: TenantClient, Keys: []string{"auth", "response"}}},
			unchanged: []string{"initech"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := diffBase + tc.base
			cur, next := parse(t, base), parse(t, tc.edit(base))
			d := Compare(cur, next)
			require.Equal(t, tc.tenants, d.Tenants)
			require.Equal(t, tc.unchanged, d.Unchanged)
			require.Equal(t, tc.global, d.Global)
			var refused []string
			for _, p := range d.Refused {
				refused = append(refused, p.Path)
				require.NotContains(t, p.Msg, "other.okta.com", "messages state the rule, not the value")
			}
			require.Equal(t, tc.refused, refused)
			require.Equal(t, len(tc.refused) > 0, d.Err() != nil)
		})
	}
}

// notifyOn configures a channel (notifications on at start).
const notifyOn = "notify: {smtp: {host: smtp.example.com, from: riskpipe@example.com}}\n"

func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("diff test: " + old + " not in the base config")
	}
	return strings.Replace(s, old, new, 1)
}
