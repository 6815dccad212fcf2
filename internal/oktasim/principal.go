package oktasim

import (
	"net/http"
	"slices"
	"sync"
	"time"
)

// Admin role types, as Okta names them in a role assignment's `type`.
const (
	RoleSuperAdmin           = "SUPER_ADMIN"
	RoleOrgAdmin             = "ORG_ADMIN"
	RoleAppAdmin             = "APP_ADMIN"
	RoleUserAdmin            = "USER_ADMIN" // Group Administrator
	RoleHelpDeskAdmin        = "HELP_DESK_ADMIN"
	RoleReadOnlyAdmin        = "READ_ONLY_ADMIN"
	RoleReportAdmin          = "REPORT_ADMIN"
	RoleGroupMembershipAdmin = "GROUP_MEMBERSHIP_ADMIN"
	RoleAPIAccessMgmtAdmin   = "API_ACCESS_MANAGEMENT_ADMIN"
)

// roleLabels are the labels Okta shows for the standard roles.
var roleLabels = map[string]string{
	RoleSuperAdmin:           "Super Administrator",
	RoleOrgAdmin:             "Organizational Administrator",
	RoleAppAdmin:             "Application Administrator",
	RoleUserAdmin:            "Group Administrator",
	RoleHelpDeskAdmin:        "Help Desk Administrator",
	RoleReadOnlyAdmin:        "Read-only Administrator",
	RoleReportAdmin:          "Report Administrator",
	RoleGroupMembershipAdmin: "Group Membership Administrator",
	RoleAPIAccessMgmtAdmin:   "API Access Management Administrator",
}

// logReaders are the roles the simulator lets read the System Log: the
// roles Okta documents as able to (Read-only and Report Administrators)
// and those above them. Okta's role matrix ticks a few more; the simulator
// keeps to the documented ones.
var logReaders = []string{RoleSuperAdmin, RoleOrgAdmin, RoleReadOnlyAdmin, RoleReportAdmin}

// Scopes of the management API the simulator knows.
const (
	scopeUsersRead = "okta.users.read"
	scopeRolesRead = "okta.roles.read"
)

// TokenOwner is the admin user an SSWS API token was created by: Okta
// gives a token its creator's permissions, and they change with the
// creator's roles.
type TokenOwner struct {
	Token  string
	UserID string // default: derived from the token
	Login  string // default: admin-<n>@<org>.example
	// Roles are the user's admin role types; nil means [SUPER_ADMIN] (an
	// org's first admin), an empty non-nil slice a user without an admin
	// role.
	Roles []string
}

// people are the org's API-token owners and service apps' admin roles;
// they may change while the simulator runs (SetRoles, RevokeToken).
type people struct {
	mu          sync.Mutex
	owners      map[string]*owner // by SSWS token
	byID        map[string]*owner
	clientRoles map[string][]string
	grants      map[string][]string // SetClientScopes; absent: the Client's Scopes
	revoked     map[string]bool
}

type owner struct {
	id, login string
	roles     []string
}

func newPeople(oo OrgOptions) *people {
	p := &people{owners: map[string]*owner{}, byID: map[string]*owner{}, clientRoles: map[string][]string{}, grants: map[string][]string{}, revoked: map[string]bool{}}
	for _, t := range oo.Tokens {
		p.add(oo.Name, TokenOwner{Token: t})
	}
	for _, to := range oo.TokenOwners {
		p.add(oo.Name, to)
	}
	for _, c := range oo.Clients {
		p.clientRoles[c.ID] = defaultRoles(c.Roles)
	}
	return p
}

func defaultRoles(r []string) []string {
	if r == nil {
		return []string{RoleSuperAdmin}
	}
	return slices.Clone(r)
}

func (p *people) add(org string, to TokenOwner) {
	key := tokenKey(to.Token)
	o := &owner{id: to.UserID, login: to.Login, roles: defaultRoles(to.Roles)}
	if o.id == "" {
		o.id = "00u" + key
	}
	if o.login == "" {
		o.login = "admin-" + key + "@" + org + ".example"
	}
	if old := p.owners[to.Token]; old != nil {
		delete(p.byID, old.id)
	}
	p.owners[to.Token] = o
	p.byID[o.id] = o
	delete(p.revoked, to.Token)
}

// tokenValid reports whether an SSWS token is accepted: configured or
// added, and not revoked.
func (p *people) tokenValid(tok string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.owners[tok] != nil && !p.revoked[tok]
}

// roles returns the admin roles of who made a request (nil: none).
func (p *people) roles(pr principal) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case pr.ssws:
		if o := p.owners[pr.token]; o != nil {
			return slices.Clone(o.roles)
		}
		return nil
	case pr.clientID != "":
		return slices.Clone(p.clientRoles[pr.clientID])
	}
	return []string{RoleSuperAdmin} // an org without auth
}

// AddToken makes the org accept another API token (a rotation's new
// token) created by owner (owner.Token is set to tok). An org configured
// without tokens and clients stays open to everyone.
func (o *Org) AddToken(tok string, owner TokenOwner) {
	owner.Token = tok
	o.people.mu.Lock()
	defer o.people.mu.Unlock()
	o.people.add(o.name, owner)
}

// RevokeToken makes the org refuse an API token (401 E0000011) from now on.
func (o *Org) RevokeToken(tok string) {
	o.people.mu.Lock()
	defer o.people.mu.Unlock()
	o.people.revoked[tok] = true
}

// SetTokenRoles replaces the admin roles of the user who created an API
// token: the token's permissions follow at once (an empty list removes
// every admin role).
func (o *Org) SetTokenRoles(tok string, roles ...string) {
	o.people.mu.Lock()
	defer o.people.mu.Unlock()
	if ow := o.people.owners[tok]; ow != nil {
		ow.roles = slices.Clone(roles)
		if ow.roles == nil {
			ow.roles = []string{}
		}
	}
}

// SetClientRoles replaces the admin roles assigned to a service app.
func (o *Org) SetClientRoles(clientID string, roles ...string) {
	o.people.mu.Lock()
	defer o.people.mu.Unlock()
	o.people.clientRoles[clientID] = append([]string{}, roles...)
}

// SetClientScopes replaces the scopes granted to a service app: token
// requests from now on are checked against them (tokens already issued
// keep theirs until they expire, as in Okta).
func (o *Org) SetClientScopes(clientID string, scopes ...string) {
	o.people.mu.Lock()
	defer o.people.mu.Unlock()
	o.people.grants[clientID] = append([]string{}, scopes...)
}

// grantedScopes are the scopes a client may request now.
func (p *people) grantedScopes(clientID string, configured []string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if g, ok := p.grants[clientID]; ok {
		return g
	}
	return configured
}

// mayReadLog answers 403 E0000006 and returns false when the principal's
// admin roles do not let it read the System Log.
func (o *Org) mayReadLog(w http.ResponseWriter, p principal) bool {
	if hasAny(o.people.roles(p), logReaders) {
		return true
	}
	o.forbidden(w)
	return false
}

func (o *Org) forbidden(w http.ResponseWriter) {
	writeOktaError(w, o.srv.newID("oae", 22), http.StatusForbidden, "E0000006",
		"You do not have permission to perform the requested action")
}

func hasAny(have, want []string) bool {
	for _, r := range have {
		if slices.Contains(want, r) {
			return true
		}
	}
	return false
}

// userJSON is the part of Okta's User object the simulator serves.
type userJSON struct {
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Created     time.Time         `json:"created"`
	LastUpdated time.Time         `json:"lastUpdated"`
	Profile     map[string]string `json:"profile"`
	Links       map[string]any    `json:"_links"`
}

// roleJSON is Okta's role assignment.
type roleJSON struct {
	ID             string    `json:"id"`
	Label          string    `json:"label"`
	Type           string    `json:"type"`
	Status         string    `json:"status"`
	Created        time.Time `json:"created"`
	LastUpdated    time.Time `json:"lastUpdated"`
	AssignmentType string    `json:"assignmentType"`
}

// serveUsersMe is GET /api/v1/users/me: the user an API token belongs to.
// An OAuth service app acts as no user: 404.
func (o *Org) serveUsersMe(w *recorder, r *http.Request) {
	if r.Method != http.MethodGet {
		o.methodNotAllowed(w)
		return
	}
	now := o.now()
	p, ok := o.authenticateFor(w, r, now, scopeUsersRead)
	if !ok {
		return
	}
	o.people.mu.Lock()
	ow := o.people.owners[p.token]
	var u userJSON
	if ow != nil {
		u = userJSON{ID: ow.id, Status: "ACTIVE", Created: now.Add(-90 * 24 * time.Hour), LastUpdated: now.Add(-24 * time.Hour),
			Profile: map[string]string{"login": ow.login, "email": ow.login, "firstName": "Admin", "lastName": ow.id},
			Links:   map[string]any{"self": map[string]string{"href": requestURL(r)[:len(requestURL(r))-len("me")] + ow.id}}}
	}
	o.people.mu.Unlock()
	if ow == nil {
		writeOktaError(w, o.srv.newID("oae", 22), http.StatusNotFound, "E0000007", "Not found: Resource not found: me (User)")
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// serveOwnerRoles is GET /api/v1/users/{id}/roles of an API token's
// owner (serveUserRoles sends it those). Listing administrators
// is a Super Administrator's right in Okta's role matrix, so any other
// caller, the user itself included, gets 403 E0000006. OAuth callers also
// need okta.roles.read.
func (o *Org) serveOwnerRoles(w *recorder, r *http.Request) {
	o.serveRoles(w, r, "User", func(id string) ([]string, bool) {
		ow := o.people.byID[id]
		if ow == nil {
			return nil, false
		}
		return ow.roles, true
	})
}

// serveClientRoles is GET /oauth2/v1/clients/{id}/roles: a service
// app's admin roles, readable by Super Administrators (OAuth: with
// okta.roles.read).
func (o *Org) serveClientRoles(w *recorder, r *http.Request) {
	o.serveRoles(w, r, "AppInstance", func(id string) ([]string, bool) {
		roles, ok := o.people.clientRoles[id]
		return roles, ok
	})
}

// serveRoles answers a roles listing for a Super Administrator: the roles
// of the principal lookup finds (under people.mu) by the path's last id.
func (o *Org) serveRoles(w *recorder, r *http.Request, kind string, lookup func(id string) ([]string, bool)) {
	if r.Method != http.MethodGet {
		o.methodNotAllowed(w)
		return
	}
	now := o.now()
	p, ok := o.authenticateFor(w, r, now, scopeRolesRead)
	if !ok {
		return
	}
	if !slices.Contains(o.people.roles(p), RoleSuperAdmin) {
		o.forbidden(w)
		return
	}
	id := r.PathValue("id")
	o.people.mu.Lock()
	roles, found := lookup(id)
	roles = slices.Clone(roles)
	o.people.mu.Unlock()
	if !found {
		writeOktaError(w, o.srv.newID("oae", 22), http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" ("+kind+")")
		return
	}
	writeJSON(w, http.StatusOK, roleList(roles, now))
}

func roleList(roles []string, now time.Time) []roleJSON {
	out := make([]roleJSON, 0, len(roles))
	for _, t := range roles {
		label := roleLabels[t]
		if label == "" {
			label = t
		}
		out = append(out, roleJSON{ID: "ra1" + tokenKey(t), Label: label, Type: t, Status: "ACTIVE",
			Created: now.Add(-30 * 24 * time.Hour), LastUpdated: now.Add(-30 * 24 * time.Hour), AssignmentType: "USER"})
	}
	return out
}
