package config

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Response is a tenant's response-action settings (docs/response.md):
// what riskpipe may change in the org, who must approve it, and the guard
// rails. Defaults: DefaultResponse.
type Response struct {
	// Mode: off (default) | dry_run (record what would be done, never call
	// Okta) | approve (every action waits for a person) | auto (AutoActions
	// run without approval, the rest wait).
	Mode ResponseMode `yaml:"mode"`
	// Auth is the write credential, same shape as the tenant's auth; nil:
	// the tenant's auth. OAuth scopes default to ResponseScopes.
	Auth *Auth `yaml:"auth"`
	// RestrictedGroupID is the OKTA_GROUP add_to_group uses.
	RestrictedGroupID string `yaml:"restricted_group_id"`
	// ApprovalTTL: a proposal not approved by then expires.
	ApprovalTTL time.Duration `yaml:"approval_ttl"`
	// RevertAfter: 0 reverts only by hand; otherwise suspend and
	// add_to_group are undone automatically that long after they succeeded.
	RevertAfter time.Duration `yaml:"revert_after"`
	// MaxActionsPerHour caps the actions executed per org in any hour;
	// past it nothing runs, even approved or auto actions wait.
	MaxActionsPerHour int `yaml:"max_actions_per_hour"`
	// FourEyes: whoever proposed an action cannot approve it.
	FourEyes bool `yaml:"four_eyes"`
	// AutoActions run without approval in auto mode.
	AutoActions []ResponseAction `yaml:"auto_actions"`
	// ForgetDevices is sent with clear_sessions (forget remembered
	// factors); default false.
	ForgetDevices bool `yaml:"forget_devices"`
	// VerifyWithin: a succeeded action whose System Log event is not seen
	// by then is flagged; default 15m.
	VerifyWithin time.Duration  `yaml:"verify_within"`
	Protected    Protected      `yaml:"protected"`
	Rules        []ResponseRule `yaml:"rules"`
	// IdentityDomains are the directory domains whose identities belong to
	// this org: NetBIOS names (CORP of CORP\joren) and DNS or UPN suffixes
	// (corp.example of joren@corp.example), compared case-insensitively.
	// An identity whose domain another org claims gets no candidates here.
	// Default none; one domain belongs to at most one tenant.
	IdentityDomains []string `yaml:"identity_domains"`
}

// ResponseMode is a tenant's response mode. The set is closed.
type ResponseMode string

// Response modes.
const (
	ResponseOff     ResponseMode = "off"
	ResponseDryRun  ResponseMode = "dry_run"
	ResponseApprove ResponseMode = "approve"
	ResponseAuto    ResponseMode = "auto"
)

// ResponseAction is what riskpipe can do to an Okta user. The set is closed.
type ResponseAction string

// Response actions.
const (
	ActionClearSessions   ResponseAction = "clear_sessions"
	ActionSuspend         ResponseAction = "suspend"
	ActionUnsuspend       ResponseAction = "unsuspend"
	ActionAddToGroup      ResponseAction = "add_to_group"
	ActionRemoveFromGroup ResponseAction = "remove_from_group"
)

// ResponseActions is every action, in the order the docs list them.
var ResponseActions = []ResponseAction{ActionClearSessions, ActionSuspend, ActionUnsuspend, ActionAddToGroup, ActionRemoveFromGroup}

// ResponseScopes are the default OAuth scopes of a response credential:
// okta.users.manage (clear sessions, suspend, unsuspend; includes reading
// users), okta.groups.manage (restricted group membership; includes reading
// groups), okta.roles.read (protected.admins) and okta.logs.read
// (verification from the System Log).
var ResponseScopes = []string{"okta.users.manage", "okta.groups.manage", "okta.roles.read", "okta.logs.read"}

// Protected are never acted on, whatever a rule or a person asks.
type Protected struct {
	Users  []string `yaml:"users"`  // Okta user ids or logins (case-insensitive)
	Groups []string `yaml:"groups"` // members of these group ids
	Admins bool     `yaml:"admins"` // users holding any Okta admin role; default true
}

// ResponseRule proposes actions by itself when its condition holds.
type ResponseRule struct {
	Name    string           `yaml:"name"` // default rule-<index>; proposed_by of its actions
	When    RuleWhen         `yaml:"when"`
	Propose []ResponseAction `yaml:"propose"`
}

// RuleWhen is one condition: the user's attack factor reached Level; or a
// kept event of Category; or a kept event of EventType (with RiskLevel,
// when set) concerning the user.
type RuleWhen struct {
	Level     string `yaml:"level"`      // low | medium | high | critical
	Category  string `yaml:"category"`   // risk_events.category
	EventType string `yaml:"event_type"` // e.g. user.risk.detect
	RiskLevel string `yaml:"risk_level"` // LOW | MEDIUM | HIGH, with event_type
}

// Enabled reports whether the tenant may act at all (dry_run included).
func (r Response) Enabled() bool { return r.Mode != "" && r.Mode != ResponseOff }

// Automatic reports whether a in auto mode runs without approval.
func (r Response) Automatic(a ResponseAction) bool {
	return r.Mode == ResponseAuto && slices.Contains(r.AutoActions, a)
}

// WriteAuth is the credential response actions use.
func (t Tenant) WriteAuth() Auth {
	if t.Response.Auth != nil {
		return *t.Response.Auth
	}
	return t.Auth
}

func (d *decoder) response(n *yaml.Node, path string, r *Response) (authKeys map[string]bool) {
	d.mapping(n, path, map[string]field{
		"mode": func(n *yaml.Node, p string) {
			var s string
			d.str(&s)(n, p)
			r.Mode = ResponseMode(s)
		},
		"auth": func(n *yaml.Node, p string) {
			a := Auth{}
			authKeys = d.auth(n, p, &a)
			r.Auth = &a
		},
		"restricted_group_id":  d.str(&r.RestrictedGroupID),
		"approval_ttl":         d.duration(&r.ApprovalTTL),
		"revert_after":         d.duration(&r.RevertAfter),
		"max_actions_per_hour": d.integer(&r.MaxActionsPerHour),
		"four_eyes":            d.boolean(&r.FourEyes),
		"auto_actions":         d.actions(&r.AutoActions),
		"forget_devices":       d.boolean(&r.ForgetDevices),
		"verify_within":        d.duration(&r.VerifyWithin),
		"identity_domains":     d.strings(&r.IdentityDomains),
		"protected": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{
				"users":  d.strings(&r.Protected.Users),
				"groups": d.strings(&r.Protected.Groups),
				"admins": d.boolean(&r.Protected.Admins),
			})
		},
		"rules": func(n *yaml.Node, p string) {
			if n.Kind != yaml.SequenceNode {
				d.ps.addf(p, "expected a list of rules, got %s", kindName(n))
				return
			}
			r.Rules = nil
			for i, item := range n.Content {
				var rule ResponseRule
				rp := indexPath(p, i)
				d.mapping(resolve(item), rp, map[string]field{
					"name": d.str(&rule.Name),
					"when": func(n *yaml.Node, p string) {
						d.mapping(n, p, map[string]field{
							"level":      d.str(&rule.When.Level),
							"category":   d.str(&rule.When.Category),
							"event_type": d.str(&rule.When.EventType),
							"risk_level": d.str(&rule.When.RiskLevel),
						})
					},
					"propose": d.actions(&rule.Propose),
				})
				r.Rules = append(r.Rules, rule)
			}
		},
	})
	return authKeys
}

func (d *decoder) actions(dst *[]ResponseAction) field {
	var names []string
	get := d.strings(&names)
	return func(n *yaml.Node, path string) {
		get(n, path)
		list := make([]ResponseAction, len(names))
		for i, s := range names {
			list[i] = ResponseAction(s)
		}
		*dst = list
	}
}

// identityDomainRE is a NetBIOS or DNS domain name.
var identityDomainRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252}[A-Za-z0-9_])?$`)

// identityDomains reports a domain claimed by two tenants: its identities
// would belong to both.
func (v *validator) identityDomains(ts []Tenant) {
	owner := map[string]int{}
	for i, t := range ts {
		for j, dom := range t.Response.IdentityDomains {
			k := strings.ToLower(dom)
			if first, ok := owner[k]; ok && first != i {
				v.ps.addf(indexPath(keyPath(indexPath("tenants", i), "response.identity_domains"), j),
					"claimed by %s too: a domain belongs to one org", indexPath("tenants", first))
				continue
			}
			owner[k] = i
		}
	}
}

var (
	ruleLevels     = []string{"low", "medium", "high", "critical"}
	ruleCategories = []string{"user_risk", "entity_risk", "threat_insight", "leaked_credentials", "high_risk", "extra"}
	riskLevels     = []string{"LOW", "MEDIUM", "HIGH"}
	// proposable are the actions a rule may propose (containment, not
	// its undoing).
	proposable = []ResponseAction{ActionClearSessions, ActionSuspend, ActionAddToGroup}
)

func (v *validator) response(t *Tenant, path string, authPresent map[string]bool) {
	r := &t.Response
	at := func(key string) string { return keyPath(path, key) }
	if !slices.Contains([]ResponseMode{ResponseOff, ResponseDryRun, ResponseApprove, ResponseAuto}, r.Mode) {
		v.ps.add(at("mode"), "must be off, dry_run, approve or auto")
	}
	if r.Auth != nil {
		v.auth(r.Auth, at("auth"), authPresent)
	}
	if r.ApprovalTTL < time.Minute {
		v.ps.add(at("approval_ttl"), "must be at least 1m")
	}
	if r.RevertAfter < 0 {
		v.ps.add(at("revert_after"), "must not be negative (0: revert by hand only)")
	}
	if r.MaxActionsPerHour < 1 {
		v.ps.add(at("max_actions_per_hour"), "must be at least 1")
	}
	if r.VerifyWithin < time.Minute {
		v.ps.add(at("verify_within"), "must be at least 1m")
	}
	v.actionList(at("auto_actions"), r.AutoActions, ResponseActions)
	seen := map[string]int{}
	for i, dom := range r.IdentityDomains {
		p := indexPath(at("identity_domains"), i)
		switch first, dup := seen[strings.ToLower(dom)]; {
		case !identityDomainRE.MatchString(dom):
			v.ps.add(p, `must be a domain name such as CORP or corp.example (letters, digits, '.', '-', '_'; no '\' or '@')`)
		case dup:
			v.ps.add(p, "duplicate of "+indexPath(at("identity_domains"), first))
		default:
			seen[strings.ToLower(dom)] = i
		}
	}
	v.nonEmpty(at("protected.users"), r.Protected.Users)
	v.nonEmpty(at("protected.groups"), r.Protected.Groups)
	needsGroup := false
	for i, rule := range r.Rules {
		rp := indexPath(at("rules"), i)
		w := rule.When
		set := 0
		for _, s := range []string{w.Level, w.Category, w.EventType} {
			if s != "" {
				set++
			}
		}
		switch {
		case set != 1:
			v.ps.add(keyPath(rp, "when"), "needs exactly one of level, category and event_type")
		case w.Level != "" && !slices.Contains(ruleLevels, w.Level):
			v.ps.add(keyPath(rp, "when.level"), "must be low, medium, high or critical")
		case w.Category != "" && !slices.Contains(ruleCategories, w.Category):
			v.ps.add(keyPath(rp, "when.category"), "must be one of user_risk, entity_risk, threat_insight, leaked_credentials, high_risk, extra")
		}
		if w.RiskLevel != "" && (w.EventType == "" || !slices.Contains(riskLevels, w.RiskLevel)) {
			v.ps.add(keyPath(rp, "when.risk_level"), "must be LOW, MEDIUM or HIGH, with event_type")
		}
		if len(rule.Propose) == 0 {
			v.ps.add(keyPath(rp, "propose"), "must list at least one action")
		}
		v.actionList(keyPath(rp, "propose"), rule.Propose, proposable)
		if slices.Contains(rule.Propose, ActionAddToGroup) {
			needsGroup = true
		}
	}
	if needsGroup && r.RestrictedGroupID == "" {
		v.ps.add(at("restricted_group_id"), "required when a rule proposes add_to_group")
	}
}

func (v *validator) actionList(path string, list, allowed []ResponseAction) {
	for i, a := range list {
		if !slices.Contains(allowed, a) {
			names := make([]string, len(allowed))
			for j, x := range allowed {
				names[j] = string(x)
			}
			v.ps.addf(indexPath(path, i), "must be one of %v", names)
		}
	}
}

// applyResponseDefaults names unnamed rules and gives OAuth response
// credentials the default scopes.
func (c *Config) applyResponseDefaults() {
	for i := range c.Tenants {
		r := &c.Tenants[i].Response
		for j := range r.Rules {
			if r.Rules[j].Name == "" {
				r.Rules[j].Name = "rule-" + strconv.Itoa(j)
			}
		}
		if a := r.Auth; a != nil && (a.Method == AuthPrivateKeyJWT || a.Method == AuthClientSecret) {
			if len(a.Scopes) == 0 {
				a.Scopes = slices.Clone(ResponseScopes)
			}
			if a.DPoP == "" {
				a.DPoP = DPoPAuto
			}
		}
	}
}
