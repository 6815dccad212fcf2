// Package privilege is riskpipe's least-privilege model of Okta
// credentials: what each feature needs (OAuth scopes, or the admin roles
// of an API token's user), how to find out what a credential has (the
// scopes of the token response; /api/v1/users/me and its roles; harmless
// GETs where Okta does not say), and the verdict per feature: ok, missing,
// excess or unknown, with the exact fix.
//
// Adding a feature is a Need in Needs and a line in Features.
package privilege

import (
	"slices"
	"strings"

	"github.com/riskpipe/riskpipe/internal/config"
)

// Feature is something riskpipe does in an org with its credential. The
// set is closed.
type Feature string

const (
	// FeatureSystemLog reads the System Log (every enabled tenant).
	FeatureSystemLog Feature = "system_log"
	// FeatureIdentity matches external identities to Okta users.
	FeatureIdentity Feature = "identity_matching"
	// FeatureResponse runs response actions (suspend, clear sessions,
	// move to a restricted group).
	FeatureResponse Feature = "response"
)

// Admin role types, as Okta names them (a role assignment's type).
const (
	RoleSuperAdmin    = "SUPER_ADMIN"
	RoleOrgAdmin      = "ORG_ADMIN"
	RoleReadOnlyAdmin = "READ_ONLY_ADMIN"
	RoleReportAdmin   = "REPORT_ADMIN"
	RoleUserAdmin     = "USER_ADMIN"
	RoleHelpDeskAdmin = "HELP_DESK_ADMIN"
)

// roleNames are the names Okta's Admin Console shows.
var roleNames = map[string]string{
	RoleSuperAdmin:    "Super Administrator",
	RoleOrgAdmin:      "Organization Administrator",
	RoleReadOnlyAdmin: "Read-only Administrator",
	RoleReportAdmin:   "Report Administrator",
	RoleUserAdmin:     "Group Administrator",
	RoleHelpDeskAdmin: "Help Desk Administrator",
}

func roleName(r string) string {
	if n := roleNames[r]; n != "" {
		return n
	}
	return r
}

// roleLevel orders roles by breadth: Super Administrator above
// Organization Administrator above every narrower role.
func roleLevel(r string) int {
	switch r {
	case RoleSuperAdmin:
		return 3
	case RoleOrgAdmin:
		return 2
	}
	return 1
}

// Probe is a harmless request that proves a permission when Okta does not
// say what a credential has: a GET with limit=1, never a write.
type Probe struct {
	Path  string // relative to the org's base URL, e.g. "api/v1/logs"
	Query string // e.g. "limit=1"
}

func (p Probe) String() string { return "GET /" + p.Path + "?" + p.Query }

// Need is what one feature needs from a credential.
type Need struct {
	Feature Feature
	// What describes the feature in fixes ("reading the System Log").
	What string
	// Scopes an OAuth service app needs, every one of them.
	Scopes []string
	// Roles are the admin roles that are enough (any one); Least is the
	// narrowest of them, the one fixes recommend.
	Roles []string
	Least string
	// Probes prove the permission for a credential whose roles riskpipe
	// may not read. Provable is false when they can only disprove it (a
	// write cannot be proven by a GET): an API token whose roles are not
	// readable is then "unknown" at best.
	Probes   []Probe
	Provable bool
}

// ScopeRolesRead lets a service app read admin roles; riskpipe check uses
// it, when granted, to read the app's own roles (no feature needs it).
const ScopeRolesRead = "okta.roles.read"

// LogProbe is the System Log probe: one event.
var LogProbe = Probe{Path: "api/v1/logs", Query: "limit=1"}

// Needs is what every feature needs (see
// ../shared/research/response-privacy-notify-facts.md §3 and the System
// Log facts: Read-only and Report Administrators may read the log).
var Needs = map[Feature]Need{
	FeatureSystemLog: {
		Feature: FeatureSystemLog, What: "reading the System Log",
		Scopes:   []string{config.ScopeLogsRead},
		Roles:    []string{RoleSuperAdmin, RoleOrgAdmin, RoleReadOnlyAdmin, RoleReportAdmin},
		Least:    RoleReadOnlyAdmin,
		Probes:   []Probe{LogProbe},
		Provable: true,
	},
	FeatureIdentity: {
		Feature: FeatureIdentity, What: "matching identities to Okta users",
		Scopes:   []string{"okta.users.read"},
		Roles:    []string{RoleSuperAdmin, RoleOrgAdmin, RoleReadOnlyAdmin, RoleUserAdmin, RoleHelpDeskAdmin},
		Least:    RoleReadOnlyAdmin,
		Probes:   []Probe{{Path: "api/v1/users", Query: "limit=1"}},
		Provable: true,
	},
	FeatureResponse: {
		Feature: FeatureResponse, What: "response actions (suspend users, clear sessions, restrict group membership)",
		Scopes:   []string{"okta.users.manage", "okta.groups.manage", "okta.users.read"},
		Roles:    []string{RoleSuperAdmin, RoleOrgAdmin},
		Least:    RoleOrgAdmin,
		Probes:   []Probe{{Path: "api/v1/users", Query: "limit=1"}},
		Provable: false,
	},
}

// Features returns the features the tenant's own credential (auth) is
// used for, system_log first. Response actions (tenants[].response) match
// identities in every mode but off, and change users in approve and auto
// mode; with a response.auth of their own, those are judged against that
// credential instead (ResponseCredential).
func Features(t config.Tenant) []Feature {
	fs := []Feature{FeatureSystemLog}
	if t.Response.Auth != nil {
		return fs
	}
	return append(fs, responseFeatures(t)...)
}

func responseFeatures(t config.Tenant) []Feature {
	if !t.Response.Enabled() {
		return nil
	}
	fs := []Feature{FeatureIdentity}
	if t.Response.Mode == config.ResponseApprove || t.Response.Mode == config.ResponseAuto {
		fs = append(fs, FeatureResponse)
	}
	return fs
}

// CredentialResponse names the tenants[].response.auth credential in
// Result.Credential ("" is the tenant's auth).
const CredentialResponse = "response.auth"

// ResponseCredential returns, for a tenant whose response actions have a
// credential of their own (tenants[].response.auth, response not off), the
// tenant as that credential sees it (Auth replaced: Check judges it), the
// key under which it is configured (key + ".response", for fixes) and the
// features judged against it: identity matching, and response actions in
// approve and auto mode. ok is false when there is no such credential.
func ResponseCredential(t config.Tenant, key string) (rt config.Tenant, rkey string, features []Feature, ok bool) {
	if t.Response.Auth == nil || !t.Response.Enabled() {
		return config.Tenant{}, "", nil, false
	}
	rt = t
	rt.Auth = *t.Response.Auth
	return rt, key + ".response", responseFeatures(t), true
}

// need is what f needs from the credential judged. With
// response.protected.admins (the default) response actions read the
// user's admin roles before acting, which needs okta.roles.read. A
// response.auth credential also reads the System Log (each action is
// verified from the event Okta writes), so the response feature needs
// okta.logs.read there; with the tenant's own auth, system_log already
// needs it.
func need(t config.Tenant, f Feature, response bool) Need {
	n := Needs[f]
	if f == FeatureResponse && t.Response.Protected.Admins {
		n.Scopes = append(slices.Clone(n.Scopes), ScopeRolesRead)
		n.What += ", refusing administrators (protected.admins)"
	}
	if response && f == FeatureResponse {
		n.Scopes = append(slices.Clone(n.Scopes), config.ScopeLogsRead)
		n.What += ", verified from the System Log"
		n.Probes = append(slices.Clone(n.Probes), LogProbe)
	}
	return n
}

// Verdict is the outcome for one feature. The set is closed.
type Verdict string

const (
	// VerdictOK: the credential has what the feature needs, and no more
	// than the enabled features need.
	VerdictOK Verdict = "ok"
	// VerdictMissing: the feature cannot work; the fix says what to grant.
	VerdictMissing Verdict = "missing"
	// VerdictExcess: the feature works, but the credential may do more
	// than every enabled feature together needs (a warning).
	VerdictExcess Verdict = "excess"
	// VerdictUnknown: Okta did not let riskpipe find out, and no harmless
	// request could prove it (a warning).
	VerdictUnknown Verdict = "unknown"
)

// Blocks reports whether the verdict keeps the feature from starting.
func (v Verdict) Blocks() bool { return v == VerdictMissing }

// Result is the verdict for one tenant and feature.
type Result struct {
	Tenant  string  `json:"tenant"`
	Feature Feature `json:"feature"`
	// Needed and Granted describe the scopes or roles in words.
	Needed  string  `json:"needed"`
	Granted string  `json:"granted"`
	Verdict Verdict `json:"verdict"`
	// Fix is what to change, empty when nothing needs to be.
	Fix string `json:"fix,omitempty"`
	// Evidence is how riskpipe found out (requests and answers).
	Evidence []string `json:"evidence,omitempty"`
	// Credential is the credential judged: "" for the tenant's auth,
	// CredentialResponse for tenants[].response.auth.
	Credential string `json:"credential,omitempty"`
	// CredentialRefused: Okta refused the credential itself (401,
	// invalid_client), not a permission. riskpipe run leaves that to the
	// poller, which reports and retries it as an authentication error.
	CredentialRefused bool `json:"-"`
}

func joinScopes(s []string) string {
	if len(s) == 0 {
		return "no scope"
	}
	return strings.Join(s, " ")
}

func roleList(rs []string) string {
	if len(rs) == 0 {
		return "no admin role"
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = roleName(r) + " (" + r + ")"
	}
	return strings.Join(names, ", ")
}

// neededRoles describes the roles of n in words.
func neededRoles(n Need) string {
	var names []string
	for _, r := range n.Roles {
		if roleLevel(r) == 1 || n.Least == r {
			names = append(names, roleName(r))
		}
	}
	return "an admin role allowing " + n.What + ": " + strings.Join(names, " or ")
}

// missingScopes returns the scopes of need not in have.
func missingScopes(need, have []string) []string {
	var out []string
	for _, s := range need {
		if !slices.Contains(have, s) {
			out = append(out, s)
		}
	}
	return out
}

// DeniedFix is what to do when Okta answers a feature's requests with
// 403 while riskpipe runs (a role or grant removed in Okta): no request
// is needed to say it.
func DeniedFix(t config.Tenant, f Feature) string {
	n := need(t, f, false)
	if t.Auth.Method == config.AuthAPIToken {
		return "Okta refuses this API token with 403: the user who created it has no admin role allowing " + n.What +
			" any more; assign the " + roleName(n.Least) + " role to that user (riskpipe retries and recovers by itself)"
	}
	return "Okta refuses the service app " + t.Auth.ClientID + " with 403: make sure it is granted " + joinScopes(n.Scopes) +
		" and has the " + roleName(n.Least) + " role (riskpipe retries and recovers by itself)"
}
