package oktasim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The users and groups API: Okta's paths, scopes, status codes and error
// bodies, with one rate-limit bucket (OrgOptions.ManagementPerMinute).

const (
	scopeUsersManage  = "okta.users.manage"
	scopeGroupsRead   = "okta.groups.read"
	scopeGroupsManage = "okta.groups.manage"

	defaultManagementPerMinute = 600
)

// userManagers are the admin roles that may change any user.
var userManagers = []string{RoleSuperAdmin, RoleOrgAdmin}

func (s *Server) directoryRoutes(m *http.ServeMux) {
	h := func(pattern string, f func(*Org, *recorder, *http.Request)) { m.HandleFunc(pattern, s.orgHandler(f)) }
	h("GET /o/{org}/api/v1/users", (*Org).serveListUsers)
	h("GET /o/{org}/api/v1/users/{id}", (*Org).serveGetUser)
	h("GET /o/{org}/api/v1/users/{id}/roles", (*Org).serveUserRoles)
	h("GET /o/{org}/api/v1/users/{id}/groups", (*Org).serveUserGroups)
	h("DELETE /o/{org}/api/v1/users/{id}/sessions", (*Org).serveClearSessions)
	h("POST /o/{org}/api/v1/users/{id}/lifecycle/suspend", (*Org).serveSuspend)
	h("POST /o/{org}/api/v1/users/{id}/lifecycle/unsuspend", (*Org).serveUnsuspend)
	h("GET /o/{org}/api/v1/groups/{gid}", (*Org).serveGetGroup)
	h("PUT /o/{org}/api/v1/groups/{gid}/users/{uid}", (*Org).serveAddMember)
	h("DELETE /o/{org}/api/v1/groups/{gid}/users/{uid}", (*Org).serveRemoveMember)
}

// admit runs what every management request goes through, in the order of
// /api/v1/logs: delay and failing faults, auth with scope, the bucket.
func (o *Org) admit(w *recorder, r *http.Request, scope string) (principal, time.Time, bool) {
	fx := o.faults.draw(EndpointManagement)
	o.countFaults(fx)
	if !applyDelay(r, fx.delay) {
		return principal{}, time.Time{}, false
	}
	now := o.now()
	if fx.fail != nil {
		o.failOn(w, fx.fail, now, o.mgmt)
		return principal{}, now, false
	}
	p, ok := o.authenticateScope(w, r, now, scope, o.mgmt)
	if !ok {
		return p, now, false
	}
	// Changing users and memberships takes an admin role allowing it (a
	// Read-only Administrator gets 403 E0000006, as in Okta's role matrix).
	if (scope == scopeUsersManage || scope == scopeGroupsManage) && !hasAny(o.people.roles(p), userManagers) {
		o.forbidden(w)
		return p, now, false
	}
	if !o.mgmt.opts.Disabled {
		st, ok := o.mgmt.take(p.key, now)
		setRateHeaders(w.Header(), st)
		if !ok {
			o.rateLimited(w)
			return p, now, false
		}
	}
	return p, now, true
}

// failOn is fail with the rate-limit headers of lim.
func (o *Org) failOn(w *recorder, f *Fault, now time.Time, lim *limiter) {
	if f.Kind == FaultRateLimited {
		st := lim.peek(now)
		st.remaining = 0
		if f.ResetIn > 0 {
			st.reset = now.Add(f.ResetIn)
		}
		setRateHeaders(w.Header(), st)
		o.rateLimited(w)
		return
	}
	o.fail(w, f, now)
}

func (o *Org) notFoundUser(w http.ResponseWriter, id string) {
	writeOktaError(w, o.srv.newID("oae", 22), http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (User)")
}

func (o *Org) notFoundGroup(w http.ResponseWriter, id string) {
	writeOktaError(w, o.srv.newID("oae", 22), http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (UserGroup)")
}

func (o *Org) serveGetUser(w *recorder, r *http.Request) {
	if _, _, ok := o.admit(w, r, scopeUsersRead); !ok {
		return
	}
	o.dir.mu.Lock()
	u, found := o.dir.lookupUser(r.PathValue("id"))
	var body map[string]any
	if found {
		body = o.userJSON(u)
	}
	o.dir.mu.Unlock()
	if !found {
		o.notFoundUser(w, r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (o *Org) serveUserRoles(w *recorder, r *http.Request) {
	// The owners of API tokens (principal.go, the least-privilege checks)
	// are people of their own, with the Super-Administrator-only rule.
	o.people.mu.Lock()
	_, owner := o.people.byID[r.PathValue("id")]
	o.people.mu.Unlock()
	if owner {
		o.serveOwnerRoles(w, r)
		return
	}
	if _, _, ok := o.admit(w, r, scopeRolesRead); !ok {
		return
	}
	o.dir.mu.Lock()
	u := o.dir.users[r.PathValue("id")]
	var roles []map[string]any
	if u != nil {
		for i, t := range u.AdminRoles {
			roles = append(roles, map[string]any{
				"id": "ra1" + strconv.FormatUint(hashString(u.ID+"/"+t), 36), "label": roleLabel(t), "type": t,
				"status": "ACTIVE", "created": okTime(u.Created), "lastUpdated": okTime(u.Created),
				"assignmentType": "USER", "_links": map[string]any{"assignee": map[string]string{"href": "/api/v1/users/" + u.ID}},
				"index": i,
			})
		}
	}
	o.dir.mu.Unlock()
	if u == nil {
		o.notFoundUser(w, r.PathValue("id"))
		return
	}
	for _, m := range roles {
		delete(m, "index")
	}
	if roles == nil {
		roles = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, roles)
}

func (o *Org) serveUserGroups(w *recorder, r *http.Request) {
	if _, _, ok := o.admit(w, r, scopeUsersRead); !ok {
		return
	}
	o.dir.mu.Lock()
	u := o.dir.users[r.PathValue("id")]
	out := []map[string]any{}
	if u != nil {
		for _, gid := range sortedKeys(o.dir.groups) {
			if o.dir.members[gid][u.ID] {
				out = append(out, groupJSON(o.dir.groups[gid]))
			}
		}
	}
	o.dir.mu.Unlock()
	if u == nil {
		o.notFoundUser(w, r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// serveClearSessions is DELETE /api/v1/users/{id}/sessions: revokes the
// user's IdP sessions; OAuth tokens with oauthTokens=true (default false);
// remembered factors unless forgetDevices=false (Identity Engine default
// true). 204 even when there was nothing to clear; user.session.clear.
func (o *Org) serveClearSessions(w *recorder, r *http.Request) {
	p, now, ok := o.admit(w, r, scopeUsersManage)
	if !ok {
		return
	}
	q := r.URL.Query()
	oauth, err1 := boolParam(q.Get("oauthTokens"), false)
	forget, err2 := boolParam(q.Get("forgetDevices"), true)
	o.dir.mu.Lock()
	o.dir.countWrite("DELETE /api/v1/users/{id}/sessions", r.PathValue("id"))
	u := o.dir.users[r.PathValue("id")]
	if u == nil || err1 != nil || err2 != nil {
		o.dir.mu.Unlock()
		if u == nil {
			o.notFoundUser(w, r.PathValue("id"))
			return
		}
		writeOktaError(w, o.srv.newID("oae", 22), http.StatusBadRequest, "E0000001", "Api validation failed: oauthTokens, forgetDevices",
			"oauthTokens and forgetDevices must be true or false")
		return
	}
	u.Sessions = 0
	if oauth {
		u.OAuthTokens = 0
	}
	if forget {
		u.RememberedFactors = 0
	}
	ev := o.directoryEvent(now, p, w, r, "user.session.clear", "Clear user session", "core.user.session.clear", u, nil)
	o.dir.mu.Unlock()
	o.Inject(ev)
	w.WriteHeader(http.StatusNoContent)
}

func (o *Org) serveSuspend(w *recorder, r *http.Request) {
	o.lifecycle(w, r, StatusActive, StatusSuspended, "suspend", "user.lifecycle.suspend", "Suspend Okta user",
		"core.user.config.user_status.suspended", "Cannot suspend a user that is not active")
}

func (o *Org) serveUnsuspend(w *recorder, r *http.Request) {
	o.lifecycle(w, r, StatusSuspended, StatusActive, "unsuspend", "user.lifecycle.unsuspend", "Unsuspend Okta user",
		"core.user.config.user_status.unsuspended", "Cannot unsuspend a user that is not suspended")
}

// lifecycle is a POST /api/v1/users/{id}/lifecycle/{op}: from → to, or 400
// E0000001 when the user is not in from. 200 with an empty object.
func (o *Org) lifecycle(w *recorder, r *http.Request, from, to UserStatus, op, eventType, display, legacy, conflict string) {
	p, now, ok := o.admit(w, r, scopeUsersManage)
	if !ok {
		return
	}
	o.dir.mu.Lock()
	o.dir.countWrite("POST /api/v1/users/{id}/lifecycle/"+op, r.PathValue("id"))
	u := o.dir.users[r.PathValue("id")]
	switch {
	case u == nil:
		o.dir.mu.Unlock()
		o.notFoundUser(w, r.PathValue("id"))
		return
	case u.Status != from:
		o.dir.mu.Unlock()
		writeOktaError(w, o.srv.newID("oae", 22), http.StatusBadRequest, "E0000001", "Api validation failed: "+conflict, conflict)
		return
	}
	u.Status = to
	o.dir.updated[u.ID] = now
	if to == StatusSuspended {
		u.Sessions = 0 // a suspended user cannot sign in
	}
	ev := o.directoryEvent(now, p, w, r, eventType, display, legacy, u, nil)
	o.dir.mu.Unlock()
	o.Inject(ev)
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (o *Org) serveGetGroup(w *recorder, r *http.Request) {
	if _, _, ok := o.admit(w, r, scopeGroupsRead); !ok {
		return
	}
	o.dir.mu.Lock()
	g := o.dir.groups[r.PathValue("gid")]
	var body map[string]any
	if g != nil {
		body = groupJSON(g)
	}
	o.dir.mu.Unlock()
	if g == nil {
		o.notFoundGroup(w, r.PathValue("gid"))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (o *Org) serveAddMember(w *recorder, r *http.Request)    { o.membership(w, r, true) }
func (o *Org) serveRemoveMember(w *recorder, r *http.Request) { o.membership(w, r, false) }

// membership is PUT or DELETE /api/v1/groups/{gid}/users/{uid}: 204, or 403
// E0000006 for APP_GROUP and BUILT_IN groups (even for a super admin).
// Adding a member or removing a non-member changes nothing and emits no
// event (Okta's behaviour here is undocumented).
func (o *Org) membership(w *recorder, r *http.Request, add bool) {
	p, now, ok := o.admit(w, r, scopeGroupsManage)
	if !ok {
		return
	}
	method := "DELETE"
	if add {
		method = "PUT"
	}
	o.dir.mu.Lock()
	o.dir.countWrite(method+" /api/v1/groups/{gid}/users/{uid}", r.PathValue("uid"))
	g := o.dir.groups[r.PathValue("gid")]
	u := o.dir.users[r.PathValue("uid")]
	switch {
	case g == nil:
		o.dir.mu.Unlock()
		o.notFoundGroup(w, r.PathValue("gid"))
		return
	case u == nil:
		o.dir.mu.Unlock()
		o.notFoundUser(w, r.PathValue("uid"))
		return
	case g.Type != GroupOkta:
		o.dir.mu.Unlock()
		o.forbidden(w)
		return
	}
	m := o.dir.members[g.ID]
	var ev []byte
	switch {
	case add && !m[u.ID]:
		m[u.ID] = true
		ev = o.directoryEvent(now, p, w, r, "group.user_membership.add", "Add user to group membership", "core.user_group_member.user_add", u, g)
	case !add && m[u.ID]:
		delete(m, u.ID)
		ev = o.directoryEvent(now, p, w, r, "group.user_membership.remove", "Remove user from group membership", "core.user_group_member.user_remove", u, g)
	}
	o.dir.mu.Unlock()
	if ev != nil {
		o.Inject(ev)
	}
	w.WriteHeader(http.StatusNoContent)
}

func boolParam(s string, def bool) (bool, error) {
	if s == "" {
		return def, nil
	}
	return strconv.ParseBool(strings.ToLower(s))
}

func okTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// userJSON is Okta's User object; d.mu must be held.
func (o *Org) userJSON(u *User) map[string]any {
	created := okTime(u.Created)
	return map[string]any{
		"id": u.ID, "status": string(u.Status), "created": created, "activated": created,
		"statusChanged": okTime(o.dir.updated[u.ID]), "lastLogin": nil, "lastUpdated": okTime(o.dir.updated[u.ID]),
		"passwordChanged": created, "type": map[string]string{"id": "oty1simdefault"},
		"profile":     u.Profile,
		"credentials": map[string]any{"provider": map[string]string{"type": "OKTA", "name": "OKTA"}},
		"_links":      map[string]any{"self": map[string]string{"href": "/api/v1/users/" + u.ID}},
	}
}

func groupJSON(g *Group) map[string]any {
	oc := "okta:user_group"
	if g.Type == GroupApp {
		oc = "okta:windows_security_principal"
	}
	return map[string]any{
		"id": g.ID, "type": string(g.Type), "objectClass": []string{oc},
		"profile": map[string]string{"name": g.Name, "description": g.Description},
		"_links":  map[string]any{"users": map[string]string{"href": "/api/v1/groups/" + g.ID + "/users"}},
	}
}

func roleLabel(t string) string {
	if l, ok := roleLabels[t]; ok {
		return l
	}
	return t
}
