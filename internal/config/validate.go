package config

import (
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	tenantNameRE = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)
	// databaseRE keeps clickhouse.database a plain identifier: the store
	// writes it into DDL.
	databaseRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// authKeys lists, per method, the auth keys it accepts. scopes and dpop
// belong to both OAuth methods.
var authKeys = map[string][]string{
	AuthAPIToken:      {"method", "token"},
	AuthClientSecret:  {"method", "client_id", "client_secret", "scopes", "dpop"},
	AuthPrivateKeyJWT: {"method", "client_id", "private_key_file", "private_key", "key_id", "scopes", "dpop"},
}

// authKeyOrder is the order foreign keys are reported in.
var authKeyOrder = []string{"method", "token", "client_id", "client_secret", "private_key_file", "private_key", "key_id", "scopes", "dpop"}

// validator checks a decoded Config: ranges, enumerations and cross-field
// rules. Its messages state the rule, never the value. It also normalises
// base_url, resolves private_key_file and parses private keys.
type validator struct {
	ps  *problems
	m   *meta
	dir string // relative private_key_file paths resolve against it
}

func validate(c *Config, m *meta, dir string, ps *problems) {
	v := &validator{ps: ps, m: m, dir: dir}
	v.clickHouse(c.ClickHouse, "clickhouse")
	v.poll(c.Poll, "poll", allPollKeys, c.Poll.ExtraEventTypes)
	firstByName := map[string]int{}
	for i := range c.Tenants {
		v.tenant(&c.Tenants[i], i, firstByName)
	}
	v.identityDomains(c.Tenants)
	if l := c.HTTP.Listen; l != "" && !isHostPort(l, 0) {
		ps.add("http.listen", "must be host:port, or empty to disable")
	}
	v.api(c.API, c.Tenants, "api")
	v.notify(c)
	v.score(c.Score)
	v.privacy(c.Privacy, c.API.Tokens)
	if c.Memory.PagesInFlight < 1 {
		ps.add("memory.pages_in_flight", "must be at least 1")
	}
	if c.Memory.AttributionMiB < 1 {
		ps.add("memory.attribution_mib", "must be at least 1")
	}
	if c.Memory.LimitMiB < -1 {
		ps.add("memory.limit_mib", "must be -1 (no limit), 0 (derived) or a size in MiB")
	}
	if c.Memory.GCPercent < 10 {
		ps.add("memory.gc_percent", "must be at least 10")
	}
	if c.Reload.Debounce < 10*time.Millisecond || c.Reload.Debounce > time.Minute {
		ps.add("reload.debounce", "must be between 10ms and 1m")
	}
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		ps.add("log.format", "must be text or json")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		ps.add("log.level", "must be debug, info, warn or error")
	}
}

func (v *validator) clickHouse(ch ClickHouse, path string) {
	at := func(key string) string { return keyPath(path, key) }
	if !isHostPort(ch.Addr, 1) {
		v.ps.add(at("addr"), "must be host:port")
	}
	if !databaseRE.MatchString(ch.Database) {
		v.ps.add(at("database"), "must be an identifier matching "+databaseRE.String())
	}
	if ch.Managed && ch.DataDir == "" {
		v.ps.add(at("data_dir"), "required when managed is true")
	}
	v.positive(at("dial_timeout"), ch.DialTimeout)
	v.positive(at("write_timeout"), ch.WriteTimeout)
	if ch.BatchMaxRows < 1 {
		v.ps.add(at("batch_max_rows"), "must be at least 1")
	}
	if ch.BatchMaxWait < 0 {
		v.ps.add(at("batch_max_wait"), "must not be negative")
	}
}

func (v *validator) positive(path string, d time.Duration) {
	if d <= 0 {
		v.ps.add(path, "must be positive")
	}
}

// allPollKeys makes poll check every key of the top-level block.
var allPollKeys = map[string]bool{"interval": true, "page_limit": true, "rate_limit_share": true, "request_timeout": true}

// poll checks the keys in set of a poll block: a tenant's check covers
// only the keys it overrides, so an invalid top-level value is reported
// once, at poll, not again at every tenant inheriting it. extra is the
// block's own extra_event_types.
func (v *validator) poll(p Poll, path string, set map[string]bool, extra []string) {
	check := func(key string) (string, bool) { return keyPath(path, key), set[key] }
	if at, ok := check("interval"); ok && p.Interval < time.Second {
		v.ps.add(at, "must be at least 1s")
	}
	if at, ok := check("page_limit"); ok && (p.PageLimit < 1 || p.PageLimit > 1000) {
		v.ps.add(at, "must be between 1 and 1000")
	}
	if at, ok := check("rate_limit_share"); ok && !(p.RateLimitShare > 0 && p.RateLimitShare <= 1) {
		v.ps.add(at, "must be greater than 0 and at most 1")
	}
	if at, ok := check("request_timeout"); ok && p.RequestTimeout < time.Second {
		v.ps.add(at, "must be at least 1s")
	}
	v.nonEmpty(keyPath(path, "extra_event_types"), extra)
}

// nonEmpty reports each blank item of list.
func (v *validator) nonEmpty(path string, list []string) {
	for i, s := range list {
		if strings.TrimSpace(s) == "" {
			v.ps.add(indexPath(path, i), "must be a non-empty string")
		}
	}
}

func (v *validator) tenant(t *Tenant, i int, firstByName map[string]int) {
	path := indexPath("tenants", i)
	tm := v.m.tenants[i]
	at := func(key string) string { return keyPath(path, key) }
	switch first, dup := firstByName[t.Name]; {
	case t.Name == "":
		v.ps.add(at("name"), "required")
	case !tenantNameRE.MatchString(t.Name):
		v.ps.add(at("name"), "must match "+tenantNameRE.String())
	case dup:
		v.ps.add(at("name"), "duplicate of "+indexPath("tenants", first))
	default:
		firstByName[t.Name] = i
	}
	if u, msg := checkBaseURL(t.BaseURL); msg != "" {
		v.ps.add(at("base_url"), msg)
	} else {
		t.BaseURL = u
	}
	v.auth(&t.Auth, at("auth"), tm.auth)
	v.poll(t.Poll, at("poll"), tm.poll, tm.extra)
	v.response(t, at("response"), tm.responseAuth)
}

func (v *validator) auth(a *Auth, path string, present map[string]bool) {
	at := func(key string) string { return keyPath(path, key) }
	allowed, known := authKeys[a.Method]
	switch {
	case a.Method == "":
		v.ps.add(at("method"), "required (api_token, private_key_jwt or client_secret)")
		return
	case !known:
		v.ps.add(at("method"), "must be api_token, private_key_jwt or client_secret")
		return
	}
	for _, k := range authKeyOrder {
		if present[k] && !slices.Contains(allowed, k) {
			v.ps.add(at(k), "not allowed with method "+a.Method)
		}
	}
	required := func(key string, missing bool) {
		if missing {
			v.ps.add(at(key), "required for method "+a.Method)
		}
	}
	switch a.Method {
	case AuthAPIToken:
		required("token", a.Token == "")
		return
	case AuthClientSecret:
		required("client_id", a.ClientID == "")
		required("client_secret", a.ClientSecret == "")
	case AuthPrivateKeyJWT:
		required("client_id", a.ClientID == "")
		v.privateKey(a, path)
	}
	if present["scopes"] && len(a.Scopes) == 0 {
		v.ps.add(at("scopes"), "must list at least one scope")
	}
	v.nonEmpty(at("scopes"), a.Scopes)
	if present["dpop"] && !slices.Contains([]string{DPoPAuto, DPoPAlways, DPoPNever}, a.DPoP) {
		v.ps.add(at("dpop"), "must be auto, always or never")
	}
}

// privateKey checks that exactly one of private_key_file and private_key is
// set, resolves a relative private_key_file against v.dir, and parses the
// key into a.Signer.
func (v *validator) privateKey(a *Auth, path string) {
	filePath, inlinePath := keyPath(path, "private_key_file"), keyPath(path, "private_key")
	if v.ps.has(filePath) || v.ps.has(inlinePath) {
		return // already reported (unset variable, wrong kind)
	}
	switch {
	case a.PrivateKeyFile != "" && a.PrivateKey != "":
		v.ps.add(inlinePath, "set only one of private_key_file and private_key")
	case a.PrivateKeyFile == "" && a.PrivateKey == "":
		v.ps.add(path, "private_key_file or private_key is required for method private_key_jwt")
	case a.PrivateKey != "":
		signer, err := parsePrivateKey([]byte(a.PrivateKey.Reveal()))
		if err != nil {
			v.ps.add(inlinePath, err.Error())
			return
		}
		a.Signer = signer
	default:
		if !filepath.IsAbs(a.PrivateKeyFile) && v.dir != "" {
			a.PrivateKeyFile = filepath.Join(v.dir, a.PrivateKeyFile)
		}
		data, err := readKeyFile(a.PrivateKeyFile)
		if err != nil {
			if _, fromEnv := v.m.expanded[filePath]; fromEnv {
				v.ps.add(filePath, "cannot read file: "+readErrText(err))
			} else {
				v.ps.addf(filePath, "cannot read %s: %s", strconv.Quote(a.PrivateKeyFile), readErrText(err))
			}
			return
		}
		signer, err := parsePrivateKey(data)
		if err != nil {
			v.ps.add(filePath, err.Error())
			return
		}
		a.Signer = signer
	}
}

// isHostPort reports whether s is host:port with a numeric port of at
// least minPort. The host may be empty (all interfaces).
func isHostPort(s string, minPort uint64) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && n >= minPort
}
