package config

import "slices"

// minAPITokenLen is the shortest API token accepted: long enough that
// guessing is hopeless when the token is random.
const minAPITokenLen = 16

// api checks the api block: stall_after positive; each token named
// (uniquely), long enough, distinct from the others, and listing the
// tenants it may read ("*" alone, or configured tenant names).
func (v *validator) api(a API, tenants []Tenant, path string) {
	v.positive(keyPath(path, "stall_after"), a.StallAfter)
	names := map[string]int{}
	values := map[Secret]int{}
	for i, t := range a.Tokens {
		p := indexPath(keyPath(path, "tokens"), i)
		at := func(key string) string { return keyPath(p, key) }
		switch first, dup := names[t.Name]; {
		case t.Name == "":
			v.ps.add(at("name"), "required")
		case dup:
			v.ps.add(at("name"), "duplicate of "+indexPath(keyPath(path, "tokens"), first))
		default:
			names[t.Name] = i
		}
		switch first, dup := values[t.Token]; {
		case t.Token == "":
			v.ps.add(at("token"), "required")
		case len(t.Token) < minAPITokenLen:
			v.ps.addf(at("token"), "must be at least %d characters", minAPITokenLen)
		case dup:
			v.ps.add(at("token"), "same token as "+indexPath(keyPath(path, "tokens"), first))
		default:
			values[t.Token] = i
		}
		v.tokenTenants(t.Tenants, tenants, at("tenants"))
		v.tokenRoles(t.Roles, at("roles"))
	}
}

// tokenRoles checks that every role is known and listed once. An absent
// or empty list means the default roles.
func (v *validator) tokenRoles(list []Role, path string) {
	if v.ps.has(path) {
		return
	}
	seen := map[Role]int{}
	for i, r := range list {
		p := indexPath(path, i)
		switch first, dup := seen[r]; {
		case !slices.Contains(Roles, r):
			v.ps.add(p, "must be one of read, respond, privacy, admin")
		case dup:
			v.ps.add(p, "duplicate of "+indexPath(path, first))
		default:
			seen[r] = i
		}
	}
}

func (v *validator) tokenTenants(list []string, tenants []Tenant, path string) {
	if v.ps.has(path) {
		return // already reported (wrong kind, unset variable)
	}
	if len(list) == 0 {
		v.ps.add(path, `required: tenant names, or ["*"] for every tenant`)
		return
	}
	for i, name := range list {
		p := indexPath(path, i)
		switch {
		case name == AllTenants && len(list) > 1:
			v.ps.add(p, `"*" must be the only entry`)
		case name == AllTenants:
		case !slices.ContainsFunc(tenants, func(t Tenant) bool { return t.Name == name }):
			v.ps.add(p, `must name a configured tenant, or be "*"`)
		}
	}
}
