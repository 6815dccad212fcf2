package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const examplePath = "../../configs/example.yaml"

// TestExampleConfig keeps configs/example.yaml valid, documenting the
// defaults, and showing every key.
func TestExampleConfig(t *testing.T) {
	cfg, err := Load(examplePath, MapEnv(map[string]string{
		"CLICKHOUSE_PASSWORD":        "ch-password",
		"ACME_OKTA_TOKEN":            "acme-token",
		"GLOBEX_OKTA_PRIVATE_KEY":    string(pkcs8PEM(t, keys().rsa)),
		"INITECH_OKTA_CLIENT_SECRET": "initech-secret",
		"RISKPIPE_API_TOKEN":         "scoring-job-token-0123456789",
		"ACME_ANALYSTS_API_TOKEN":    "acme-analysts-token-0123456789",
		"SMTP_PASSWORD":              "smtp-password",
		"SIEM_WEBHOOK_SECRET":        "whsec_c2llbS1zZWNyZXQ=",
		"RISKPIPE_PRIVACY_HASH_KEY":  "privacy-hash-key-0123456789",
	}))
	require.NoError(t, err)
	require.NoError(t, cfg.RequireTenants())

	// The top-level values shown are the defaults.
	def := Default()
	ch := cfg.ClickHouse
	ch.Password = ""
	require.Equal(t, def.ClickHouse, ch)
	require.Equal(t, def.Poll, cfg.Poll)
	require.Equal(t, def.HTTP, cfg.HTTP)
	require.Equal(t, def.Log, cfg.Log)
	// The retention shown is the recommended one, not the default (0).
	require.Equal(t, []string{"attack_factor_updates", "dead_letters", "notifications", "privacy_requests", "risk_events"}, cfg.Retention.Tables())
	require.Equal(t, def.Privacy.SyncTimeout, cfg.Privacy.SyncTimeout)
	require.Equal(t, def.API.StallAfter, cfg.API.StallAfter)
	n := cfg.Notify
	n.SMTP, n.Webhooks = def.Notify.SMTP, nil
	require.Equal(t, def.Notify, n)
	require.Equal(t, def.Notify.SMTP.Port, cfg.Notify.SMTP.Port)
	require.Equal(t, def.Notify.SMTP.TLS, cfg.Notify.SMTP.TLS)
	require.Len(t, cfg.Tenants[0].Contacts.PrimarySecurity, 2, "the top-level contact, then acme's own")
	require.Equal(t, "soc@mssp.example", cfg.Tenants[1].Contacts.PrimarySecurity[0].Email)
	require.Equal(t, []APIToken{
		{Name: "scoring-job", Token: "scoring-job-token-0123456789", Tenants: []string{AllTenants}, Roles: DefaultRoles},
		{Name: "acme-analysts", Token: "acme-analysts-token-0123456789", Tenants: []string{"acme"}, Roles: []Role{RoleRead, RoleRespond}},
	}, cfg.API.Tokens)

	// One tenant per auth method.
	var methods []string
	for _, tn := range cfg.Tenants {
		methods = append(methods, tn.Auth.Method)
	}
	require.Equal(t, []string{AuthAPIToken, AuthPrivateKeyJWT, AuthClientSecret}, methods)
	require.True(t, keys().rsa.Equal(cfg.Tenants[1].Auth.Signer))
	acme := cfg.Tenants[0].Poll
	require.Equal(t, 10*time.Second, acme.Interval)
	require.Equal(t, def.Poll.PageLimit, acme.PageLimit)
	require.Equal(t, []string{"user.account.privilege.grant"}, acme.ExtraEventTypes)
	require.False(t, cfg.Tenants[2].IsEnabled())
}

func TestExampleConfigShowsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	require.NoError(t, err)
	keys := yamlKeys(reflect.TypeFor[Config]())
	require.Contains(t, keys, "private_key_file")
	for _, key := range keys {
		// The key at the start of a line, maybe commented out or a list item.
		if !regexp.MustCompile(`(?m)^[ #-]*` + key + `:`).Match(data) {
			t.Errorf("configs/example.yaml does not show %s", key)
		}
	}
}

// yamlKeys lists the yaml keys of a struct type and of the structs it holds.
func yamlKeys(typ reflect.Type) []string {
	var keys []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || name == "" {
			continue
		}
		keys = append(keys, name)
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Duration]() {
			keys = append(keys, yamlKeys(ft)...)
		}
	}
	return keys
}
