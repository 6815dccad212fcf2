package config

import (
	"crypto"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskpipe/riskpipe/internal/score"

	"github.com/stretchr/testify/require"
)

// goodEnv is the environment the *.good.yaml files are loaded with.
func goodEnv(t testing.TB) map[string]string {
	return map[string]string{
		"ACME_OKTA_TOKEN":            "acme-token: not # yaml",
		"CLICKHOUSE_PASSWORD":        "ch-password\n- still one value",
		"INITECH_OKTA_CLIENT_SECRET": "initech-secret",
		"EC_PRIVATE_KEY":             string(sec1PEM(t, keys().ec)),
		"EMPTY":                      "",
		"RISKPIPE_API_TOKEN":         "scoring-token-from-env-0123",
	}
}

// goodWant holds the expected Config of each testdata/*.good.yaml, loaded
// from a copy in dir next to keys/rsa.pem.
var goodWant = map[string]func(t testing.TB, dir string) *Config{
	"empty.good.yaml": func(testing.TB, string) *Config {
		c := Default()
		return &c
	},
	"minimal.good.yaml": func(testing.TB, string) *Config {
		c := Default()
		c.Tenants = []Tenant{{
			Name:    "acme",
			BaseURL: "https://acme.okta.com",
			Auth:    Auth{Method: AuthAPIToken, Token: "acme-token: not # yaml"},
			Poll:    Poll{Interval: 15 * time.Second, PageLimit: 1000, RateLimitShare: 0.5, RequestTimeout: 60 * time.Second},
		}}
		return &c
	},
	"anchors.good.yaml": func(testing.TB, string) *Config {
		c := Default()
		slow := Poll{Interval: time.Minute, PageLimit: 100, RateLimitShare: 0.5, RequestTimeout: 60 * time.Second}
		tok := Auth{Method: AuthAPIToken, Token: "acme-token: not # yaml"}
		c.Tenants = []Tenant{
			{Name: "a", BaseURL: "http://localhost:8800/o/a", Auth: tok, Poll: slow},
			{Name: "b", BaseURL: "http://[::1]:8800/o/b", Auth: tok, Poll: slow},
		}
		return &c
	},
	"full.good.yaml": func(t testing.TB, dir string) *Config {
		return &Config{
			ClickHouse: ClickHouse{
				Addr:         "ch.internal:9440",
				Database:     "risk_test",
				Username:     "riskpipe",
				Password:     "ch-password\n- still one value",
				Managed:      true,
				DataDir:      "/var/lib/riskpipe/clickhouse",
				DialTimeout:  2 * time.Second,
				WriteTimeout: time.Minute,
				BatchMaxRows: 5000,
				BatchMaxWait: 0,
			},
			Poll: Poll{
				Interval:        30 * time.Second,
				PageLimit:       500,
				RateLimitShare:  0.75,
				RequestTimeout:  45 * time.Second,
				ExtraEventTypes: []string{"user.mfa.factor.deactivate"},
			},
			Tenants: []Tenant{
				{
					Name:        "acme",
					Description: "Acme: production (${NOT_A_VAR}, $5)",
					BaseURL:     "https://acme.okta.com",
					Auth:        Auth{Method: AuthAPIToken, Token: "acme-token: not # yaml"},
					Poll: Poll{
						Interval:        10 * time.Second, // overridden
						PageLimit:       500,              // inherited from the top level, not the default
						RateLimitShare:  0.75,
						RequestTimeout:  45 * time.Second,
						ExtraEventTypes: []string{"user.mfa.factor.deactivate", "app.oauth2.as.token.grant"},
					},
				},
				{
					Name:    "globex",
					BaseURL: "https://login.globex.example",
					Auth: Auth{
						Method:         AuthPrivateKeyJWT,
						ClientID:       "0oaglobex",
						PrivateKeyFile: filepath.Join(dir, "keys", "rsa.pem"),
						KeyID:          "kid-1",
						Scopes:         []string{"okta.logs.read", "okta.users.read"},
						DPoP:           DPoPAlways,
						Signer:         keys().rsa,
					},
					Poll: Poll{
						Interval:        30 * time.Second,
						PageLimit:       200,
						RateLimitShare:  1,
						RequestTimeout:  45 * time.Second,
						ExtraEventTypes: []string{"user.mfa.factor.deactivate"},
					},
					Enabled: ptr(false),
				},
				{
					Name:    "initech",
					BaseURL: "https://initech.okta-emea.com",
					Auth: Auth{
						Method:       AuthClientSecret,
						ClientID:     "0oainitech",
						ClientSecret: "initech-secret",
						Scopes:       []string{"okta.logs.read"},
						DPoP:         DPoPAuto,
					},
					Poll: Poll{
						Interval:        30 * time.Second,
						PageLimit:       500,
						RateLimitShare:  0.75,
						RequestTimeout:  45 * time.Second,
						ExtraEventTypes: []string{"user.mfa.factor.deactivate"},
					},
					Enabled: ptr(true),
				},
				{
					Name:        "sim-1",
					Description: "",
					BaseURL:     "http://127.0.0.1:8800/o/sim-1",
					Auth: Auth{
						Method:     AuthPrivateKeyJWT,
						ClientID:   "0oasim",
						PrivateKey: Secret(sec1PEM(t, keys().ec)),
						Scopes:     []string{"okta.logs.read"},
						DPoP:       DPoPNever,
						Signer:     keys().ec,
					},
					Poll: Poll{
						Interval:        30 * time.Second, // interval: (null) keeps the inherited value
						PageLimit:       500,
						RateLimitShare:  0.75,
						RequestTimeout:  5 * time.Second,
						ExtraEventTypes: []string{"user.mfa.factor.deactivate"},
					},
				},
			},
			HTTP: HTTP{Listen: ""},
			API: API{
				StallAfter: 30 * time.Minute,
				Tokens: []APIToken{
					{Name: "scoring-job", Token: "scoring-token-from-env-0123", Tenants: []string{AllTenants}, Roles: []Role{RoleRead}},
					{Name: "acme-analysts", Token: "acme-analysts-0123456789", Tenants: []string{"acme", "sim-1"},
						Roles: []Role{RoleRead, RoleRespond, RolePrivacy, RoleAdmin}},
				},
			},
			Score: func() score.Config {
				c := score.DefaultConfig()
				c.HalfLife = 7 * 24 * time.Hour
				c.RefreshEvery = 30 * time.Minute
				c.Weights = map[string]float64{"leaked_credentials": 50}
				return c
			}(),
			Memory:    Memory{PagesInFlight: 8, AttributionMiB: 32, LimitMiB: 512, GCPercent: 100},
			Log:       Log{Format: "json", Level: "debug"},
			Reload:    Reload{Watch: true, Debounce: 2 * time.Second},
			Notify:    Default().Notify,
			Privacy:   Privacy{HashKey: "privacy-hash-key-0123456789", SyncTimeout: 30 * time.Second, SuppressDeleted: true},
			Retention: Retention{"risk_events": 2 * Year, "dead_letters": 0, "event_type_counts": 36 * time.Hour},
		}
	},
}

func TestLoadGood(t *testing.T) {
	files, err := filepath.Glob("testdata/*.good.yaml")
	require.NoError(t, err)
	require.Len(t, files, len(goodWant), "every good file needs an expected Config and vice versa")
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			wantFn, ok := goodWant[name]
			require.True(t, ok, "no expected Config for %s", name)
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			dir := t.TempDir()
			writeFile(t, dir, "keys/rsa.pem", pkcs1PEM(t, keys().rsa))
			path := writeFile(t, dir, name, data)

			got, err := Load(path, MapEnv(goodEnv(t)))
			require.NoError(t, err)
			want := wantFn(t, dir)
			for i := range want.Tenants {
				if want.Tenants[i].Response.Mode == "" { // files without a response block
					want.Tenants[i].Response = DefaultResponse()
				}
			}
			requireSameSigners(t, want, got)
			require.Equal(t, want, got)
		})
	}
}

// requireSameSigners checks each tenant's Signer is the expected private
// key, then clears both so the Configs can be compared with Equal.
func requireSameSigners(t *testing.T, want, got *Config) {
	t.Helper()
	require.Len(t, got.Tenants, len(want.Tenants))
	for i := range want.Tenants {
		w, g := want.Tenants[i].Auth.Signer, got.Tenants[i].Auth.Signer
		if w == nil {
			require.Nil(t, g, "tenants[%d] signer", i)
			continue
		}
		require.NotNil(t, g, "tenants[%d] signer", i)
		require.True(t, w.(interface{ Equal(crypto.PrivateKey) bool }).Equal(g), "tenants[%d] signer", i)
		want.Tenants[i].Auth.Signer, got.Tenants[i].Auth.Signer = nil, nil
	}
}

func TestLoadBad(t *testing.T) {
	env := MapEnv(map[string]string{"ACME_OKTA_TOKEN": "acme-token"})
	tests := []struct {
		file         string
		wantProblems []string
	}{
		{
			file: "many.bad.yaml",
			wantProblems: []string{
				"clickhouse.password: environment variable CLICKHOUSE_PASSWORD is not set",
				"bogus: unknown key",
				"tenants[0].bogus: unknown key",
				`tenants[0].poll.interval: invalid duration "10x"`,
				"tenants[1].name: duplicate of tenants[0]",
				"tenants[1].base_url: http is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1); use https",
				"tenants[1].auth.token: not allowed with method private_key_jwt",
				"tenants[1].auth: private_key_file or private_key is required for method private_key_jwt",
				"tenants[2].name: must match ^[a-z0-9-]{1,63}$",
				"tenants[2].auth.token: required for method api_token",
				"log.level: must be debug, info, warn or error",
			},
		},
		{
			file:         "syntax.bad.yaml",
			wantProblems: []string{"yaml: line 2: found a tab character that violates indentation"},
		},
		{
			file: "kinds.bad.yaml",
			wantProblems: []string{
				"clickhouse: expected a mapping, got a list",
				"poll.interval: expected a duration, got a list",
				`poll.page_limit: invalid integer "many"`,
				`poll.rate_limit_share: invalid number "half"`,
				"poll.extra_event_types: expected a list of strings, got a scalar",
				"tenants[0].name: expected a string, got a mapping",
				`tenants[0].enabled: invalid boolean "yes" (want true or false)`,
				"tenants[0].auth.token: expected a string, got a mapping",
				"tenants[0].auth.scopes: expected a list of strings, got a scalar",
				"http: expected a mapping, got a scalar",
				"log.format: expected a string, got a list",
			},
		},
		{
			file: "api.bad.yaml",
			wantProblems: []string{
				"api.stall_after: must be positive",
				"api.tokens[0].name: required",
				"api.tokens[0].token: must be at least 16 characters",
				`api.tokens[0].tenants: required: tenant names, or ["*"] for every tenant`,
				"api.tokens[1].token: required",
				`api.tokens[1].tenants[0]: must name a configured tenant, or be "*"`,
				"api.tokens[2].name: duplicate of api.tokens[1]",
				`api.tokens[2].tenants[1]: "*" must be the only entry`,
				"api.tokens[3].token: same token as api.tokens[2]",
				"api.tokens[3].bogus: unknown key",
				"api.tokens[3].tenants: expected a list of strings, got a scalar",
				"api.tokens[4].token: environment variable RISKPIPE_UNSET_TOKEN is not set",
				"api.tokens[5].roles[1]: must be one of read, respond, privacy, admin",
				"api.tokens[5].roles[2]: duplicate of api.tokens[5].roles[0]",
				"api.tokens[6].roles: expected a list of strings, got a scalar",
			},
		},
		{
			file: "notify.bad.yaml",
			wantProblems: []string{
				"tenants[0].contacts.it[0].phone: unknown key",
				`notify.operational_after: invalid duration "soon"`,
				`notify.contacts_review_every: invalid duration "180 days" (e.g. 180d or 4320h)`,
				"notify.smtp.port: must be between 1 and 65535",
				"notify.smtp.from: not an email address (RFC 5322 addr-spec, e.g. riskpipe@example.com)",
				"notify.smtp.password: set username too (a password without username)",
				"notify.smtp.tls: none is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1)",
				"notify.webhooks[0].url: http is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1); use https",
				"notify.webhooks[0].secret: only used with format json (slack and teams URLs carry their own credential)",
				"notify.webhooks[1].name: duplicate of notify.webhooks[0]",
				"notify.webhooks[1].secret: required for format json (the HMAC-SHA256 key of the webhook-signature header)",
				"notify.webhooks[2].url: must be an https URL",
				"notify.webhooks[2].format: must be slack, teams or json",
				"notify.dashboard_url: http is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1); use https",
				"notify.group_interval: must be positive",
				"notify.max_per_hour: must be at least 1",
				"notify.critical_incident.critical_users: must be at least 1",
				"notify.critical_incident.within: must be positive",
				"tenants[0].contacts.primary_security[0].email: not an email address (RFC 5322 addr-spec, e.g. secops@acme.example)",
				"tenants[0].contacts.primary_security[1].email: not an email address (RFC 5322 addr-spec, e.g. secops@acme.example)",
				"tenants[0].contacts.primary_security[2].webhook: no webhook of that name in notify.webhooks",
				"tenants[0].contacts.primary_security[3]: duplicate of contacts.primary_security[0]",
				"tenants[0].contacts.primary_security[4]: needs an email, a webhook or both",
				"tenants[0].contacts.cio_ciso[1]: duplicate of tenants[0].contacts.cio_ciso[0]",
			},
		},
		{
			file: "score.bad.yaml",
			wantProblems: []string{
				`score.half_life: invalid duration "2 weeks"`,
				"score.bogus: unknown key",
				`score.weights.leaked_credentials: invalid number "lots"`,
				"score.weights.phishing: unknown key",
				"score: population_window: must not be negative, got -24h0m0s",
			},
		},
		{
			file: "privacy.bad.yaml",
			wantProblems: []string{
				"privacy.bogus: unknown key",
				`retention.risk_events: invalid age "400 days": want 0 (keep forever), days (400d), years (3y) or a duration (36h)`,
				"retention.users: unknown key",
				`retention.dead_letters: invalid age "-3d": want 0 (keep forever), days (400d), years (3y) or a duration (36h)`,
				"privacy.hash_key: must be at least 16 characters",
				"privacy.sync_timeout: must be positive",
			},
		},
		{
			file:         "tenants-kind.bad.yaml",
			wantProblems: []string{"tenants: expected a list of tenants, got a mapping"},
		},
		{
			file: "auth.bad.yaml",
			wantProblems: []string{
				"tenants[0].auth.method: required (api_token, private_key_jwt or client_secret)",
				"tenants[1].auth.method: must be api_token, private_key_jwt or client_secret",
				"tenants[2].auth.private_key: set only one of private_key_file and private_key",
				"tenants[3].auth.key_id: not allowed with method client_secret",
				"tenants[3].auth.client_id: required for method client_secret",
				"tenants[3].auth.client_secret: required for method client_secret",
				"tenants[3].auth.scopes: must list at least one scope",
				"tenants[3].auth.dpop: must be auto, always or never",
				"tenants[4].auth.client_secret: not allowed with method private_key_jwt",
				`tenants[4].auth.private_key_file: cannot read "testdata/missing.pem": no such file or directory`,
				"tenants[4].auth.scopes[0]: must be a non-empty string",
				"tenants[5].auth.client_id: not allowed with method api_token",
				"tenants[5].auth.dpop: not allowed with method api_token",
				"tenants[6].auth.method: required (api_token, private_key_jwt or client_secret)",
				"tenants[7].auth.client_id: required for method private_key_jwt",
				"tenants[7].auth: private_key_file or private_key is required for method private_key_jwt",
			},
		},
		{
			file: "ranges.bad.yaml",
			wantProblems: []string{
				"clickhouse.addr: must be host:port",
				"clickhouse.database: must be an identifier matching ^[A-Za-z_][A-Za-z0-9_]*$",
				"clickhouse.data_dir: required when managed is true",
				"clickhouse.dial_timeout: must be positive",
				"clickhouse.write_timeout: must be positive",
				"clickhouse.batch_max_rows: must be at least 1",
				"clickhouse.batch_max_wait: must not be negative",
				"poll.interval: must be at least 1s",
				"poll.page_limit: must be between 1 and 1000",
				"poll.rate_limit_share: must be greater than 0 and at most 1",
				"poll.request_timeout: must be at least 1s",
				"poll.extra_event_types[1]: must be a non-empty string",
				"tenants[0].poll.page_limit: must be between 1 and 1000",
				"tenants[0].poll.rate_limit_share: must be greater than 0 and at most 1",
				"tenants[0].poll.extra_event_types[0]: must be a non-empty string",
				"http.listen: must be host:port, or empty to disable",
				"memory.pages_in_flight: must be at least 1",
				"memory.attribution_mib: must be at least 1",
				"memory.limit_mib: must be -1 (no limit), 0 (derived) or a size in MiB",
				"memory.gc_percent: must be at least 10",
				"log.format: must be text or json",
			},
		},
		{
			file: "urls.bad.yaml",
			wantProblems: []string{
				"tenants[0].base_url: must not have a query",
				"tenants[1].base_url: must not have a fragment",
				"tenants[2].base_url: must not contain user info",
				"tenants[3].base_url: must be an absolute URL such as https://acme.okta.com",
				"tenants[4].base_url: must have a host",
				"tenants[5].base_url: required",
				"tenants[6].base_url: required",
				"tenants[7].base_url: scheme must be https (or http for a loopback host)",
				"tenants[8].base_url: not a valid URL",
			},
		},
		{
			file: "dupkeys.bad.yaml",
			wantProblems: []string{
				"log.level: duplicate key (first set on line 2)",
				"tenants[0].name: duplicate key (first set on line 5)",
			},
		},
		{
			file:         "root.bad.yaml",
			wantProblems: []string{"expected a mapping, got a list"},
		},
		{
			file:         "multidoc.bad.yaml",
			wantProblems: []string{"yaml: more than one document (remove the ---)"},
		},
	}
	files, err := filepath.Glob("testdata/*.bad.yaml")
	require.NoError(t, err)
	require.Len(t, files, len(tests), "every bad file needs a test case and vice versa")
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg, err := Load(filepath.Join("testdata", tt.file), env)
			require.Nil(t, cfg)
			require.ElementsMatch(t, tt.wantProblems, problemLines(t, err))
		})
	}
}

func TestBadSecretsStayOutOfProblems(t *testing.T) {
	for _, file := range []string{"testdata/many.bad.yaml", "testdata/urls.bad.yaml", "testdata/kinds.bad.yaml", "testdata/api.bad.yaml", "testdata/notify.bad.yaml"} {
		_, err := Load(file, MapEnv(map[string]string{"ACME_OKTA_TOKEN": "acme-token-from-env"}))
		require.Error(t, err)
		for _, secret := range []string{"acme-token-from-env", "inline-token-value", "hunter2", "not-a-string", "short-secret", "hunter2-url", "hunter2-smtp", "hunter2-secret"} {
			require.NotContains(t, err.Error(), secret, file)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), MapEnv(nil))
	require.ErrorIs(t, err, fs.ErrNotExist)
	var cfgErr *Error
	require.NotErrorAs(t, err, &cfgErr)
}

func TestDefault(t *testing.T) {
	want := Config{
		ClickHouse: ClickHouse{
			Addr:         "127.0.0.1:9000",
			Database:     "okta_risk",
			Username:     "default",
			DataDir:      ".data/clickhouse",
			DialTimeout:  5 * time.Second,
			WriteTimeout: 30 * time.Second,
			BatchMaxRows: 10000,
			BatchMaxWait: 0,
		},
		Poll:   Poll{Interval: 15 * time.Second, PageLimit: 1000, RateLimitShare: 0.5, RequestTimeout: 60 * time.Second},
		HTTP:   HTTP{Listen: "127.0.0.1:8080"},
		API:    API{StallAfter: time.Hour},
		Score:  score.DefaultConfig(),
		Memory: Memory{PagesInFlight: 4, AttributionMiB: 8, GCPercent: 50},
		Log:    Log{Format: "text", Level: "info"},
		Reload: Reload{Debounce: time.Second},
		Notify: Notify{
			SMTP:                SMTP{Port: 587, TLS: "starttls"},
			GroupInterval:       5 * time.Minute,
			MaxPerHour:          20,
			CriticalIncident:    CriticalIncident{CriticalUsers: 5, Within: time.Hour},
			OperationalAfter:    30 * time.Minute,
			ContactsReviewEvery: 180 * 24 * time.Hour,
		},
		Privacy:   Privacy{SyncTimeout: time.Minute},
		Retention: DefaultRetention(),
	}
	require.Equal(t, want, Default())
}

func TestRequireTenants(t *testing.T) {
	cfg, err := Parse(nil, MapEnv(nil))
	require.NoError(t, err)
	require.Equal(t, []string{"tenants: no tenant configured"}, problemLines(t, cfg.RequireTenants()))

	cfg, err = Parse([]byte(tenantYAML("https://acme.okta.com")), MapEnv(nil))
	require.NoError(t, err)
	require.NoError(t, cfg.RequireTenants())
}

func TestTenantIsEnabled(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{give: "", want: true},
		{give: "    enabled: true\n", want: true},
		{give: "    enabled: false\n", want: false},
		{give: "    enabled:\n", want: true},
	}
	for _, tt := range tests {
		cfg, err := Parse([]byte(tenantYAML("https://acme.okta.com")+tt.give), MapEnv(nil))
		require.NoError(t, err, tt.give)
		require.Equal(t, tt.want, cfg.Tenants[0].IsEnabled(), tt.give)
	}
}

func TestProblemString(t *testing.T) {
	require.Equal(t, "a.b: bad", Problem{Path: "a.b", Msg: "bad"}.String())
	require.Equal(t, "bad", Problem{Msg: "bad"}.String())
	require.Equal(t, "a: x\nb: y", (&Error{Problems: []Problem{{"a", "x"}, {"b", "y"}}}).Error())
}

func TestSlogLevel(t *testing.T) {
	for _, level := range []string{"debug", "info", "warn", "error"} {
		require.Equal(t, level, strings.ToLower(Log{Level: level}.SlogLevel().String()))
	}
}
