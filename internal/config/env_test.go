package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestExpand(t *testing.T) {
	env := MapEnv(map[string]string{"A": "x", "B": "y", "EMPTY": "", "TRICKY": "${A}"})
	tests := []struct {
		give      string
		want      string
		wantUnset []string
		wantBad   bool
	}{
		{give: "plain", want: "plain"},
		{give: "${A}", want: "x"},
		{give: "${A}-${B}/${A}", want: "x-y/x"},
		{give: "pre${EMPTY}post", want: "prepost"},
		{give: "${TRICKY}", want: "${A}"}, // values are not expanded again
		{give: "$${A}", want: "${A}"},
		{give: "$${", want: "${"},
		{give: "a$${A}${B}", want: "a${A}y"},
		{give: "$5 and $A and $$ and $", want: "$5 and $A and $$ and $"},
		{give: "${_lower_1}", wantUnset: []string{"_lower_1"}},
		{give: "${NOPE}${A}${NOPE}${ALSO}", wantUnset: []string{"NOPE", "ALSO"}},
		{give: "${A", wantBad: true},
		{give: "${}", wantBad: true},
		{give: "${1A}", wantBad: true},
		{give: "${A-B}", wantBad: true},
		{give: "${A:-default}", wantBad: true},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, _, unset, ok := expand(tt.give, env)
			require.Equal(t, !tt.wantBad, ok)
			require.Equal(t, tt.wantUnset, unset)
			if ok && len(unset) == 0 {
				require.Equal(t, tt.want, got)
			}
		})
	}
}

func TestParseExpandsEnv(t *testing.T) {
	// Values that would break the document if expanded as raw text.
	const token = "tok: en\n- item # not a comment\n\"quoted'"
	env := MapEnv(map[string]string{
		"TOKEN":    token,
		"NAME":     "acme",
		"URL":      "https://acme.okta.com/",
		"INTERVAL": "20s",
		"LIMIT":    "250",
		"SHARE":    "0.25",
		"ENABLED":  "false",
		"TYPE":     "user.session.start",
	})
	cfg, err := Parse([]byte(`
tenants:
  - name: ${NAME}
    description: 'single ${NAME} and $${NAME}'
    base_url: "${URL}"
    auth:
      method: api_token
      token: ${TOKEN}
    poll:
      interval: ${INTERVAL}
      page_limit: ${LIMIT}
      rate_limit_share: "${SHARE}"
      extra_event_types: [ "${TYPE}", literal ]
    enabled: ${ENABLED}
`), env)
	require.NoError(t, err)
	tn := cfg.Tenants[0]
	require.Equal(t, "acme", tn.Name)
	require.Equal(t, "single acme and ${NAME}", tn.Description)
	require.Equal(t, "https://acme.okta.com", tn.BaseURL)
	require.Equal(t, token, tn.Auth.Token.Reveal())
	require.Equal(t, 20*time.Second, tn.Poll.Interval)
	require.Equal(t, 250, tn.Poll.PageLimit)
	require.InDelta(t, 0.25, tn.Poll.RateLimitShare, 0)
	require.Equal(t, []string{"user.session.start", "literal"}, tn.Poll.ExtraEventTypes)
	require.False(t, tn.IsEnabled())
}

func TestParseEnvProblems(t *testing.T) {
	env := MapEnv(map[string]string{"EMPTY": "", "BAD_INTERVAL": "soon", "SET": "x"})
	tests := []struct {
		name string
		give string
		want []string
	}{
		{
			name: "unset",
			give: "clickhouse:\n  password: ${CLICKHOUSE_PASSWORD}\n",
			want: []string{"clickhouse.password: environment variable CLICKHOUSE_PASSWORD is not set"},
		},
		{
			name: "two unset in one value",
			give: "clickhouse: {password: '${A}:${B}'}",
			want: []string{"clickhouse.password: environment variables A, B are not set"},
		},
		{
			name: "unset in a list item",
			give: "poll: {extra_event_types: [ok, '${NOPE}']}",
			want: []string{"poll.extra_event_types[1]: environment variable NOPE is not set"},
		},
		{
			name: "malformed",
			give: "clickhouse: {password: '${SET'}",
			want: []string{"clickhouse.password: malformed ${...} reference (write $${ for a literal ${)"},
		},
		{
			name: "empty counts as set, then required applies",
			give: tenantYAML("https://acme.okta.com") + "    enabled: true\n" + "  - {name: b, base_url: 'https://b.okta.com', auth: {method: api_token, token: '${EMPTY}'}}\n",
			want: []string{"tenants[1].auth.token: required for method api_token"},
		},
		{
			name: "unset is reported once, not also as required",
			give: "tenants:\n  - {name: b, base_url: 'https://b.okta.com', auth: {method: api_token, token: '${UNSET_TOKEN}'}}\n",
			want: []string{"tenants[0].auth.token: environment variable UNSET_TOKEN is not set"},
		},
		{
			name: "keys are not expanded",
			give: "${SET}: 1",
			want: []string{"${SET}: unknown key"},
		},
		{
			name: "a bad expanded value is not shown",
			give: "poll: {interval: '${BAD_INTERVAL}'}",
			want: []string{`poll.interval: invalid duration "${BAD_INTERVAL}" (expanded value not shown)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.give), env)
			require.Equal(t, tt.want, problemLines(t, err))
		})
	}
}

func TestParseNilEnvUsesProcessEnv(t *testing.T) {
	t.Setenv("RISKPIPE_CONFIG_TEST_TOKEN", "from-process-env")
	cfg, err := Parse([]byte("tenants:\n  - {name: a, base_url: 'https://a.okta.com', auth: {method: api_token, token: '${RISKPIPE_CONFIG_TEST_TOKEN}'}}\n"), nil)
	require.NoError(t, err)
	require.Equal(t, "from-process-env", cfg.Tenants[0].Auth.Token.Reveal())
}
