package privilege

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/okta"
)

// Prober is how a check asks Okta what a credential may do (implemented
// by *okta.Client). It only ever reads.
type Prober interface {
	Get(ctx context.Context, path string, query url.Values, v any) error
	GrantedScopes(ctx context.Context) ([]string, error)
}

// Options tune a check.
type Options struct {
	// Probe sends the features' harmless GETs when Okta does not say what
	// a credential has (riskpipe check). Off, the verdict is unknown
	// instead: at run time the poller's own first request is the proof,
	// and a 403 then is reported the same way.
	Probe bool
	// Scoped returns a client of the same credential that requests only
	// scopes, so that riskpipe check asks Okta for each feature's (and
	// each configured) scope separately and names exactly what is not
	// granted. nil: only the configured scopes' token is read.
	Scoped func(scopes []string) (Prober, error)
	// Response: the credential is tenants[].response.auth (the tenant of
	// ResponseCredential): results name it, and response actions need
	// the System Log too (verification).
	Response bool
}

// Check finds out what t's credential (p) may do and judges every feature
// in features. key is the tenant's key path in the config
// ("tenants[2]"), for fixes.
func Check(ctx context.Context, t config.Tenant, key string, features []Feature, p Prober, o Options) []Result {
	c := &checker{t: t, key: key, p: p, o: o}
	if t.Auth.Method == config.AuthAPIToken {
		return c.apiToken(ctx, features)
	}
	return c.oauth(ctx, features)
}

type checker struct {
	t   config.Tenant
	key string
	p   Prober
	o   Options
}

func (c *checker) need(f Feature) Need { return need(c.t, f, c.o.Response) }

// rolesHint follows a fix naming okta.roles.read: what it is for, and
// how to do without it.
func (c *checker) rolesHint(scopes []string) string {
	if !slices.Contains(scopes, ScopeRolesRead) {
		return ""
	}
	return fmt.Sprintf("; okta.roles.read lets riskpipe refuse to act on administrators (protected.admins): "+
		"without it, set %s.response.protected.admins: false and list them under protected.users",
		strings.TrimSuffix(c.key, ".response"))
}

func (c *checker) result(f Feature) Result {
	n := c.need(f)
	r := Result{Tenant: c.t.Name, Feature: f}
	if c.o.Response {
		r.Credential = CredentialResponse
	}
	if c.t.Auth.Method == config.AuthAPIToken {
		r.Needed = neededRoles(n)
	} else {
		r.Needed = "scopes " + joinScopes(n.Scopes) + " and an admin role allowing " + n.What
	}
	return r
}

// apiToken judges an SSWS token by its user's admin roles
// (/api/v1/users/me, /api/v1/users/{id}/roles) or, where Okta does not let
// the token read its roles, by the features' probes.
func (c *checker) apiToken(ctx context.Context, features []Feature) []Result {
	var me struct {
		ID      string `json:"id"`
		Profile struct {
			Login string `json:"login"`
		} `json:"profile"`
	}
	out := make([]Result, 0, len(features))
	err := c.p.Get(ctx, "api/v1/users/me", nil, &me)
	if err != nil {
		for _, f := range features {
			r := c.result(f)
			r.Evidence = []string{"GET /api/v1/users/me: " + err.Error()}
			if okta.IsAuth(err) && !okta.IsForbidden(err) {
				r.Verdict, r.Granted, r.CredentialRefused = VerdictMissing, "nothing: Okta refuses the API token", true
				r.Fix = fmt.Sprintf("create a new API token as %s and set it in %s.auth.token", withArticle(roleName(c.need(f).Least)), c.key)
			} else {
				r.Verdict, r.Granted = VerdictUnknown, "unknown: the token's user could not be read"
			}
			out = append(out, r)
		}
		return out
	}
	who := me.Profile.Login
	if who == "" {
		who = me.ID
	}
	var assigned []struct {
		Type   string `json:"type"`
		Status string `json:"status"`
	}
	rolesErr := c.p.Get(ctx, "api/v1/users/"+url.PathEscape(me.ID)+"/roles", nil, &assigned)
	rolesEvidence := "GET /api/v1/users/{id}/roles: "
	var held []string
	if rolesErr == nil {
		for _, a := range assigned {
			if a.Status == "" || a.Status == "ACTIVE" {
				held = append(held, a.Type)
			}
		}
		rolesEvidence += "200 " + strings.Join(held, " ")
	} else {
		rolesEvidence += rolesErr.Error()
	}
	granted := "the API token of " + who + ": " + roleList(held)
	if rolesErr != nil {
		granted = "the API token of " + who + ": roles not readable"
		if okta.IsForbidden(rolesErr) {
			granted += " (Okta lets only Super Administrators list roles)"
		}
	}

	for _, f := range features {
		n := c.need(f)
		r := c.result(f)
		r.Granted = granted
		r.Evidence = []string{"GET /api/v1/users/me: 200", rolesEvidence}
		switch {
		case rolesErr == nil && hasAny(held, n.Roles):
			r.Verdict = VerdictOK
		case rolesErr == nil && len(held) == 0:
			r.Verdict = VerdictMissing
			r.Fix = fmt.Sprintf("the API token belongs to %s, a user without an admin role: assign the %s role to that user, "+
				"or create the token as %s and set it in %s.auth.token", who, roleName(n.Least), withArticle(roleName(n.Least)), c.key)
		default:
			// Roles unknown, or none of the roles known to suffice: the
			// probes decide.
			c.probe(ctx, n, &r)
			if r.Verdict == VerdictMissing {
				r.Fix = fmt.Sprintf("the API token's user %s may not do %s: assign the %s role to that user, "+
					"or create the token as %s", who, n.What, roleName(n.Least), withArticle(roleName(n.Least)))
			}
		}
		out = append(out, r)
	}
	if rolesErr == nil {
		c.roleExcess(out, held)
	}
	return out
}

// probe runs n's probes: every one 200 proves the permission (when a GET
// can), a 403 disproves it, anything else leaves it unknown.
func (c *checker) probe(ctx context.Context, n Need, r *Result) {
	if !c.o.Probe || len(n.Probes) == 0 {
		r.Verdict = VerdictUnknown
		return
	}
	for _, pr := range n.Probes {
		q, _ := url.ParseQuery(pr.Query)
		err := c.p.Get(ctx, pr.Path, q, nil)
		switch {
		case err == nil:
			r.Evidence = append(r.Evidence, pr.String()+": 200")
		case okta.IsForbidden(err):
			r.Evidence = append(r.Evidence, pr.String()+": "+err.Error())
			r.Verdict = VerdictMissing
			return
		default:
			r.Evidence = append(r.Evidence, pr.String()+": "+err.Error())
			r.Verdict = VerdictUnknown
			r.Fix = "Okta did not answer " + pr.String() + " with 200 or 403: check again later, or verify in Okta that the credential allows " + n.What
			return
		}
	}
	if n.Provable {
		r.Verdict = VerdictOK
		r.Granted += "; " + n.What + " proven by a harmless request"
		return
	}
	r.Verdict = VerdictUnknown
	r.Fix = "reads are allowed, but " + n.What + " cannot be proven without a write: make sure the user is " +
		withArticle(roleName(n.Least)) + " (riskpipe can check it with the token of a Super Administrator, which may read roles)"
}

// roleExcess turns ok into excess when the credential's broadest role is
// broader than every enabled feature together needs.
func (c *checker) roleExcess(out []Result, held []string) {
	c.roleExcessFor(out, held, "this API token belongs to")
}

// roleExcessFor is roleExcess for a credential described by who ("this
// API token belongs to", "the service app X is").
func (c *checker) roleExcessFor(out []Result, held []string, who string) {
	top := ""
	for _, r := range held {
		if top == "" || roleLevel(r) > roleLevel(top) {
			top = r
		}
	}
	least, whats := "", []string{}
	for _, r := range out {
		n := c.need(r.Feature)
		if least == "" || roleLevel(n.Least) > roleLevel(least) {
			least = n.Least
		}
		whats = append(whats, n.What)
	}
	if top == "" || roleLevel(top) <= roleLevel(least) {
		return
	}
	for i := range out {
		if out[i].Verdict == VerdictOK {
			out[i].Verdict = VerdictExcess
			if strings.HasPrefix(who, "this API token") {
				out[i].Fix = fmt.Sprintf("%s %s; %s's token is enough for %s",
					who, withArticle(roleName(top)), withArticle(roleName(least)), strings.Join(whats, " and "))
			} else {
				out[i].Fix = fmt.Sprintf("%s %s; the %s role is enough for %s: assign it instead",
					who, withArticle(roleName(top)), roleName(least), strings.Join(whats, " and "))
			}
		}
	}
}

// oauth judges a service app by the scopes Okta grants its token requests
// and, where Okta lets it read them, its admin roles.
func (c *checker) oauth(ctx context.Context, features []Feature) []Result {
	configured := c.t.Auth.Scopes
	if len(configured) == 0 {
		configured = []string{config.ScopeLogsRead}
	}
	client := c.t.Auth.ClientID
	out := make([]Result, 0, len(features))

	// The token riskpipe actually requests: the configured scopes.
	granted, tokErr := c.p.GrantedScopes(ctx)
	refused := []string(nil) // configured scopes Okta does not grant
	pinned := false          // refused names exactly the scopes Okta does not grant
	switch {
	case tokErr == nil || okta.AuthCode(tokErr) != "invalid_scope":
	case len(configured) == 1:
		refused, pinned = configured, true
	case c.o.Scoped != nil:
		for _, s := range configured {
			if ok, _ := c.grants(ctx, []string{s}); !ok {
				refused = append(refused, s)
			}
		}
		pinned = true
	}
	needed := []string{}
	for _, f := range features {
		n := c.need(f)
		r := c.result(f)
		r.Granted = "service app " + client + ": scopes " + joinScopes(granted)
		r.Evidence = []string{"token request for " + joinScopes(configured) + ": " + errText(tokErr, "granted "+joinScopes(granted))}
		needed = append(needed, n.Scopes...)
		notConfigured := missingScopes(n.Scopes, configured)
		var notGranted []string
		switch {
		case len(notConfigured) > 0:
			r.Verdict = VerdictMissing
			r.Fix = fmt.Sprintf("add %s to %s.auth.scopes (and grant %s to the service app %s)",
				strings.Join(notConfigured, " "), c.key, strings.Join(notConfigured, " "), client) + c.rolesHint(notConfigured)
		case tokErr != nil && okta.AuthCode(tokErr) == "invalid_scope":
			r.Verdict = VerdictMissing
			r.Granted = "service app " + client + ": the token request is refused (invalid_scope)"
			if pinned {
				for _, s := range n.Scopes {
					if slices.Contains(refused, s) {
						notGranted = append(notGranted, s)
					}
				}
			}
			switch {
			case len(notGranted) > 0:
				r.Fix = fmt.Sprintf("grant %s to the service app %s (Okta Admin Console: Applications, the app, Okta API Scopes)",
					strings.Join(notGranted, " "), client) + c.rolesHint(notGranted)
			case len(refused) > 0:
				r.Fix = fmt.Sprintf("%s.auth.scopes asks for %s, which the service app %s is not granted, so no token is issued: "+
					"remove it from the config (no enabled feature needs it) or grant it", c.key, strings.Join(refused, " "), client)
			default:
				r.Fix = fmt.Sprintf("the service app %s is not granted every scope of %s.auth.scopes (%s): grant them, "+
					"or remove those no feature needs; 'riskpipe check' names them", client, c.key, joinScopes(configured))
			}
		case tokErr != nil && okta.IsAuth(tokErr):
			r.Verdict = VerdictMissing
			r.Granted = "service app " + client + ": nothing: the token endpoint refuses the app"
			r.CredentialRefused = true
			r.Fix = fmt.Sprintf("check %s.auth (client_id, key or secret) against the service app in Okta", c.key)
		case tokErr != nil:
			r.Verdict = VerdictUnknown
			r.Granted = "service app " + client + ": unknown (no token)"
		case len(missingScopes(n.Scopes, granted)) > 0:
			r.Verdict = VerdictMissing
			r.Fix = fmt.Sprintf("grant %s to the service app %s", strings.Join(missingScopes(n.Scopes, granted), " "), client)
		default:
			// Scopes are there; the admin role shows in the probes.
			r.Verdict = VerdictOK
			if c.o.Probe {
				c.probe(ctx, n, &r)
				if r.Verdict == VerdictMissing {
					r.Fix = fmt.Sprintf("the service app %s has %s but no admin role allowing %s: assign the %s role to the app",
						client, joinScopes(n.Scopes), n.What, roleName(n.Least))
				}
			}
		}
		out = append(out, r)
	}
	// The app's admin roles, where Okta lets it read them (okta.roles.read,
	// and only Super Administrators may list roles).
	if tokErr == nil && slices.Contains(granted, ScopeRolesRead) {
		var assigned []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		}
		err := c.p.Get(ctx, "oauth2/v1/clients/"+url.PathEscape(client)+"/roles", nil, &assigned)
		ev := "GET /oauth2/v1/clients/{id}/roles: "
		if err == nil {
			var held []string
			for _, a := range assigned {
				if a.Status == "" || a.Status == "ACTIVE" {
					held = append(held, a.Type)
				}
			}
			ev += "200 " + strings.Join(held, " ")
			for i := range out {
				out[i].Granted += "; admin roles: " + roleList(held)
			}
			c.roleExcessFor(out, held, "the service app "+client+" is")
		} else {
			ev += err.Error()
		}
		for i := range out {
			out[i].Evidence = append(out[i].Evidence, ev)
		}
	}
	// More scopes than the enabled features need (okta.roles.read, which
	// lets riskpipe check the app's roles, aside).
	if extra := missingScopes(missingScopes(configured, []string{ScopeRolesRead}), needed); len(extra) > 0 {
		for i := range out {
			if out[i].Verdict == VerdictOK {
				out[i].Verdict = VerdictExcess
				out[i].Fix = fmt.Sprintf("%s is granted to the service app %s but no enabled feature needs it: "+
					"remove it from %s.auth.scopes and revoke the grant in Okta", strings.Join(extra, " "), client, c.key)
			}
		}
	}
	return out
}

// grants reports whether Okta issues a token for exactly scopes.
func (c *checker) grants(ctx context.Context, scopes []string) (bool, error) {
	p, err := c.o.Scoped(scopes)
	if err != nil {
		return false, err
	}
	_, err = p.GrantedScopes(ctx)
	return err == nil, err
}

// withArticle puts "a" or "an" before a role's name.
func withArticle(name string) string {
	if name != "" && strings.ContainsRune("AEIOU", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

func errText(err error, ok string) string {
	if err != nil {
		return err.Error()
	}
	return ok
}

func hasAny(have, want []string) bool {
	for _, r := range have {
		if slices.Contains(want, r) {
			return true
		}
	}
	return false
}
