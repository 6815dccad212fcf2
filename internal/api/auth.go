package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/riskpipe/riskpipe/internal/config"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// token is a configured bearer token: its hash (compared in constant
// time) and the orgs it may read.
type token struct {
	name  string
	hash  [sha256.Size]byte
	orgs  []string // sorted, never empty of meaning: "*" is expanded
	roles []config.Role
}

func newTokens(list []config.APIToken, known []string) ([]token, error) {
	out := make([]token, 0, len(list))
	for i, t := range list {
		if t.Token.IsZero() {
			return nil, fmt.Errorf("api: token %d (%s) is empty", i, t.Name)
		}
		tk := token{name: t.Name, hash: sha256.Sum256([]byte(t.Token.Reveal())), roles: t.Roles}
		if len(tk.roles) == 0 {
			tk.roles = config.DefaultRoles
		}
		for _, org := range t.Tenants {
			switch {
			case org == config.AllTenants:
				tk.orgs = append(tk.orgs, known...)
			case slices.Contains(known, org):
				tk.orgs = append(tk.orgs, org)
			default:
				return nil, fmt.Errorf("api: token %s names unknown tenant %q", t.Name, org)
			}
		}
		slices.Sort(tk.orgs)
		tk.orgs = slices.Compact(tk.orgs)
		out = append(out, tk)
	}
	return out, nil
}

// principal is who made a request: a token, the orgs it may read and
// what it may do there.
type principal struct {
	name  string
	orgs  []string // sorted
	roles []config.Role
}

// has reports whether the principal holds role r.
func (p *principal) has(r config.Role) bool { return slices.Contains(p.roles, r) }

// Principal describes who made an authenticated request, for handlers and
// packages that record who did something (response actions, privacy
// requests).
type Principal struct {
	Name  string        // the token's name
	Orgs  []string      // the orgs it may use, sorted
	Roles []config.Role // what it may do there
}

// PrincipalFrom returns who made the request of ctx, or false outside an
// authenticated request.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p := principalFrom(ctx)
	if p == nil {
		return Principal{}, false
	}
	return Principal{Name: p.name, Orgs: p.orgs, Roles: p.roles}, true
}

func (p *principal) may(org string) bool {
	_, ok := slices.BinarySearch(p.orgs, org)
	return ok
}

type principalKey struct{}

func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	return p
}

var (
	errNoToken  = errors.New("missing bearer token (Authorization: Bearer <token>)")
	errBadToken = errors.New("invalid token")
)

// authenticate finds the token of r. Every configured token is compared,
// in constant time, whatever matches first.
func (a *API) authenticate(r *http.Request) (*principal, error) {
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(value) == "" {
		return nil, errNoToken
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(value)))
	found := -1
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].hash[:]) == 1 && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return nil, errBadToken
	}
	t := a.tokens[found]
	return &principal{name: t.name, orgs: t.orgs, roles: t.roles}, nil
}

// authenticated answers 401 without a valid token, 403 naming the role
// when the token lacks role, and otherwise runs h with the principal in
// the request's context.
func (a *API) authenticated(role config.Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="riskpipe"`)
			writeError(w, http.StatusUnauthorized, err.Error())
			return
		}
		if !p.has(role) {
			writeError(w, http.StatusForbidden, errMissingRole(role).Error())
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// errMissingRole is the answer to a token without the role an endpoint
// needs.
func errMissingRole(role config.Role) error {
	return fmt.Errorf("this token lacks the role %q (config api.tokens[].roles)", role)
}

// errForbiddenOrg is the answer for any org a token may not read, whether
// or not it exists, so a token learns nothing about other orgs.
func errForbiddenOrg(org string) *httpError {
	return &httpError{status: http.StatusForbidden, msg: fmt.Sprintf("this token may not read org %q", org)}
}

// pathOrg is the {org} of the request's path, if the principal may read it.
func pathOrg(r *http.Request) (string, error) {
	org := r.PathValue("org")
	if !principalFrom(r.Context()).may(org) {
		return "", errForbiddenOrg(org)
	}
	return org, nil
}

// queryOrgs are the orgs named by ?org= (repeated, or comma-separated),
// all of which the principal must be allowed to read; none named: every
// org the principal may read.
func queryOrgs(r *http.Request) ([]string, error) {
	p := principalFrom(r.Context())
	var named []string
	for _, v := range r.URL.Query()["org"] {
		for _, org := range strings.Split(v, ",") {
			if org = strings.TrimSpace(org); org != "" {
				named = append(named, org)
			}
		}
	}
	if len(named) == 0 {
		return p.orgs, nil
	}
	for _, org := range named {
		if !p.may(org) {
			return nil, errForbiddenOrg(org)
		}
	}
	slices.Sort(named)
	return slices.Compact(named), nil
}
