package config

import (
	"crypto"
	"slices"
	"time"
)

// Config is the whole riskpipe configuration, after ${VAR} expansion,
// defaults, per-tenant overrides and validation.
type Config struct {
	ClickHouse ClickHouse `yaml:"clickhouse"`
	// Poll holds the defaults every tenant inherits.
	Poll    Poll     `yaml:"poll"`
	Tenants []Tenant `yaml:"tenants"`
	HTTP    HTTP     `yaml:"http"`
	API     API      `yaml:"api"`
	// Score tunes the attack-factor model (docs/attack-factor.md).
	Score Score `yaml:"score"`
	// Memory bounds what all tenants together hold in memory.
	Memory Memory `yaml:"memory"`
	Log    Log    `yaml:"log"`
	// Reload: how a running riskpipe takes up a changed file (SIGHUP and
	// POST /-/reload always work).
	Reload Reload `yaml:"reload"`
	// Notify: channels and rules of notifications (notify.go).
	Notify Notify `yaml:"notify"`
	// Contacts are added to every tenant's own contacts.
	Contacts Contacts `yaml:"contacts"`
	// Privacy configures privacy requests; Retention how long tables keep
	// rows (docs/privacy.md).
	Privacy   Privacy   `yaml:"privacy"`
	Retention Retention `yaml:"retention"`
}

// Reload configures reloading the configuration while riskpipe runs.
type Reload struct {
	// Watch reloads when the config file changes (fsnotify), once it has
	// been quiet for Debounce. Default false.
	Watch bool `yaml:"watch"`
	// Debounce is how long the file must stay unchanged after a change
	// before it is reloaded (editors write in several steps). Default 1s.
	Debounce time.Duration `yaml:"debounce"`
}

// Memory bounds riskpipe's memory across all tenants, so that it does not
// grow with the number of orgs or their backlog (docs/operations in the
// README: "Memory").
type Memory struct {
	// PagesInFlight is how many System Log pages all tenants together may
	// hold at once between reading a response body and classifying it;
	// each holds a reusable buffer of about one page (~2.6 MB for 1000
	// events). Default 4.
	PagesInFlight int `yaml:"pages_in_flight"`
	// AttributionMiB is the memory of the ThreatInsight attribution tables
	// (recent transactions and their users), shared equally by the enabled
	// tenants. Default 8.
	AttributionMiB int `yaml:"attribution_mib"`
	// LimitMiB is Go's soft memory limit (GOMEMLIMIT) in MiB. 0 (the
	// default) derives it from the budgets above and the number of tenants
	// (SoftLimit); -1 sets none. GOMEMLIMIT in the environment, when set,
	// wins.
	LimitMiB int `yaml:"limit_mib"`
	// GCPercent is Go's GOGC: the heap may grow by this percentage of the
	// live heap before a collection. riskpipe's live heap is mostly the
	// fixed budgets above, so 50 halves the headroom for a few percent of
	// CPU. GOGC in the environment, when set, wins. Default 50.
	GCPercent int `yaml:"gc_percent"`
}

// ClickHouse is where everything lands (native protocol).
type ClickHouse struct {
	Addr     string `yaml:"addr"`     // host:port of the native protocol, default 127.0.0.1:9000
	Database string `yaml:"database"` // default okta_risk
	Username string `yaml:"username"` // default "default"
	Password Secret `yaml:"password"`
	// Managed: when nothing answers at Addr, riskpipe starts a private
	// clickhouse-server child process with its data under DataDir.
	Managed bool   `yaml:"managed"`
	DataDir string `yaml:"data_dir"` // default .data/clickhouse
	// DialTimeout bounds connecting; WriteTimeout bounds one batch insert.
	DialTimeout  time.Duration `yaml:"dial_timeout"`  // default 5s
	WriteTimeout time.Duration `yaml:"write_timeout"` // default 30s
	// Batch: the writer coalesces tenants' pages into one insert of at most
	// MaxRows rows, waiting at most MaxWait for more.
	BatchMaxRows int           `yaml:"batch_max_rows"` // default 10000
	BatchMaxWait time.Duration `yaml:"batch_max_wait"` // default 0: group commit, no linger
}

// Poll is the per-tenant polling behaviour. The top-level block holds the
// defaults; a tenant's poll block overrides any key it sets.
type Poll struct {
	Interval       time.Duration `yaml:"interval"`         // default 15s, min 1s
	PageLimit      int           `yaml:"page_limit"`       // default 1000, 1..1000
	RateLimitShare float64       `yaml:"rate_limit_share"` // default 0.5, (0,1]
	RequestTimeout time.Duration `yaml:"request_timeout"`  // default 60s (Okta times queries out at 30s)
	// ExtraEventTypes are kept in addition to the built-in risk categories.
	// A tenant's list is appended to the top-level list, not replacing it.
	ExtraEventTypes []string `yaml:"extra_event_types"`
}

// Tenant is one Okta org.
type Tenant struct {
	Name        string `yaml:"name"` // [a-z0-9-]{1,63}, unique
	Description string `yaml:"description"`
	BaseURL     string `yaml:"base_url"` // https://acme.okta.com; http only for loopback hosts
	Auth        Auth   `yaml:"auth"`
	// Poll is the effective polling config: defaults merged with this
	// tenant's overrides (after Load).
	Poll Poll `yaml:"poll"`
	// Enabled defaults to true; a disabled tenant is validated but not polled.
	Enabled *bool `yaml:"enabled"`
	// Contacts are the effective contacts: the top-level contacts followed
	// by the tenant's own (after Load).
	Contacts Contacts `yaml:"contacts"`
	// Response is what riskpipe may change in the org (response.go).
	Response Response `yaml:"response"`
}

// IsEnabled reports whether the tenant is polled.
func (t Tenant) IsEnabled() bool { return t.Enabled == nil || *t.Enabled }

// EnabledTenants counts the tenants that are polled.
func (c *Config) EnabledTenants() int {
	n := 0
	for _, t := range c.Tenants {
		if t.IsEnabled() {
			n++
		}
	}
	return n
}

// Auth methods.
const (
	AuthAPIToken      = "api_token"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthClientSecret  = "client_secret"
)

// DPoP modes.
const (
	DPoPAuto   = "auto"   // default: turned on when the token endpoint asks for it
	DPoPAlways = "always" // always send DPoP proofs
	DPoPNever  = "never"
)

// Auth is how riskpipe authenticates to one org.
type Auth struct {
	Method         string   `yaml:"method"` // api_token | private_key_jwt | client_secret
	Token          Secret   `yaml:"token"`  // api_token
	ClientID       string   `yaml:"client_id"`
	ClientSecret   Secret   `yaml:"client_secret"`
	PrivateKeyFile string   `yaml:"private_key_file"` // relative: to the config file's directory (Load)
	PrivateKey     Secret   `yaml:"private_key"`      // inline PEM
	KeyID          string   `yaml:"key_id"`
	Scopes         []string `yaml:"scopes"` // OAuth methods; default [okta.logs.read]
	DPoP           string   `yaml:"dpop"`   // OAuth methods; auto | always | never, default auto

	// Signer is the parsed private key of private_key_jwt, set by Load and
	// Parse: an *rsa.PrivateKey (at least 2048 bits) or an *ecdsa.PrivateKey
	// (P-256, P-384 or P-521), so go-jose can sign with it directly.
	// fmt prints it as an address inside an Auth, and JSON and YAML skip
	// it; never format or log the Signer itself.
	Signer crypto.Signer `yaml:"-" json:"-"`
}

// HTTP is the API, dashboard and metrics listener.
type HTTP struct {
	Listen string `yaml:"listen"` // default 127.0.0.1:8080; empty string disables
}

// API is the JSON API (/api/v1/...) and the dashboard, served on
// http.listen.
type API struct {
	// Tokens may read the API, each only the tenants it lists. Without
	// tokens every data endpoint answers 401; the health endpoints never
	// need one.
	Tokens []APIToken `yaml:"tokens"`
	// StallAfter: a tenant whose poller has received no event for longer
	// is flagged stalled in the status API and the dashboard.
	StallAfter time.Duration `yaml:"stall_after"` // default 1h
}

// AllTenants in APIToken.Tenants lets a token read every configured tenant.
const AllTenants = "*"

// APIToken is one bearer token of the API.
type APIToken struct {
	Name  string `yaml:"name"`  // who uses it; shown in logs instead of the token
	Token Secret `yaml:"token"` // at least 16 characters
	// Tenants the token may read: configured tenant names, or ["*"] for
	// every configured tenant.
	Tenants []string `yaml:"tenants"`
	// Roles are what the token may do in those tenants; default [read].
	// Roles are independent: admin does not imply read.
	Roles []Role `yaml:"roles"`
}

// Role is what an API token may do. The set is closed.
type Role string

const (
	// RoleRead reads risk data: orgs, users, events, factors, activity.
	RoleRead Role = "read"
	// RoleRespond proposes, approves, rejects and reverts response actions.
	RoleRespond Role = "respond"
	// RolePrivacy answers privacy access and deletion requests.
	RolePrivacy Role = "privacy"
	// RoleAdmin manages contacts, notification history, test messages
	// and configuration reloads.
	RoleAdmin Role = "admin"
)

// Roles is every role, in the order the docs list them.
var Roles = []Role{RoleRead, RoleRespond, RolePrivacy, RoleAdmin}

// DefaultRoles are the roles of a token that lists none: what every token
// could do before roles existed.
var DefaultRoles = []Role{RoleRead}

// HasRole reports whether the token holds r.
func (t APIToken) HasRole(r Role) bool { return slices.Contains(t.Roles, r) }

// Log configures slog.
type Log struct {
	Format string `yaml:"format"` // text | json, default text
	Level  string `yaml:"level"`  // debug | info | warn | error, default info
}

// SoftLimit is the soft memory limit in bytes for a process polling
// tenants (0: none): LimitMiB when set, else 40 MiB for the runtime, the
// HTTP server and ClickHouse inserts, 3 MiB per page buffer, the
// attribution budget and 1 MiB per tenant (its poller's pages waiting to be
// written and its attack-factor state). The runtime collects more often
// near it rather than let freed memory pile up; it is soft, so a heap that
// needs more still gets it.
func (m Memory) SoftLimit(tenants int) int64 {
	switch {
	case m.LimitMiB > 0:
		return int64(m.LimitMiB) << 20
	case m.LimitMiB < 0:
		return 0
	}
	return int64(40+3*m.PagesInFlight+m.AttributionMiB+tenants) << 20
}
