package oktasim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// The org's directory: users with their status, sessions, OAuth tokens and
// admin roles, and groups with their members. It backs the users and
// groups API (users.go, groups.go) and emits the System Log events Okta
// writes for each change (directory_events.go). The user and role model
// lives here so that credentials' own admin roles (users/me, least
// privilege checks) can extend it.

// UserStatus is an Okta user's status.
type UserStatus string

// User statuses (Okta's user lifecycle).
const (
	StatusStaged          UserStatus = "STAGED"
	StatusProvisioned     UserStatus = "PROVISIONED"
	StatusActive          UserStatus = "ACTIVE"
	StatusRecovery        UserStatus = "RECOVERY"
	StatusPasswordExpired UserStatus = "PASSWORD_EXPIRED"
	StatusLockedOut       UserStatus = "LOCKED_OUT"
	StatusSuspended       UserStatus = "SUSPENDED"
	StatusDeprovisioned   UserStatus = "DEPROVISIONED"
)

var userStatuses = []UserStatus{StatusStaged, StatusProvisioned, StatusActive, StatusRecovery,
	StatusPasswordExpired, StatusLockedOut, StatusSuspended, StatusDeprovisioned}

// GroupType is an Okta group's type.
type GroupType string

// Group types. Only OKTA_GROUP memberships can be changed through the API.
const (
	GroupOkta    GroupType = "OKTA_GROUP"
	GroupApp     GroupType = "APP_GROUP" // imported from a directory (AD, LDAP) or app
	GroupBuiltIn GroupType = "BUILT_IN"  // Everyone
)

// User is one Okta user of the simulated directory.
type User struct {
	ID      string // 00u...
	Status  UserStatus
	Profile Profile
	Created time.Time // default: the org's start
	// AdminRoles are the standard admin role types assigned to the user
	// (SUPER_ADMIN, ORG_ADMIN, HELP_DESK_ADMIN...), listed by
	// GET /api/v1/users/{id}/roles.
	AdminRoles []string
	// Sessions, OAuthTokens and RememberedFactors count what clearing the
	// user's sessions revokes (the simulator's ground truth).
	Sessions, OAuthTokens, RememberedFactors int
}

// Profile is the part of an Okta user profile riskpipe reads.
type Profile struct {
	Login       string `json:"login"`
	Email       string `json:"email"`
	SecondEmail string `json:"secondEmail,omitempty"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	DisplayName string `json:"displayName,omitempty"`
}

// Group is one Okta group.
type Group struct {
	ID          string // 00g...
	Type        GroupType
	Name        string
	Description string
	Members     []string // user ids
}

// directory is an org's users and groups. Its methods lock.
type directory struct {
	mu      sync.Mutex
	users   map[string]*User
	order   []string // user ids in creation order (search results)
	groups  map[string]*Group
	members map[string]map[string]bool  // group id → user ids
	updated map[string]time.Time        // user id → lastUpdated
	writes  map[string]int64            // "METHOD /api/v1/..." template → write requests
	byUser  map[string]map[string]int64 // user id → template → write requests
}

func newDirectory(users []User, groups []Group, start time.Time) (*directory, error) {
	d := &directory{users: map[string]*User{}, groups: map[string]*Group{}, members: map[string]map[string]bool{},
		updated: map[string]time.Time{}, writes: map[string]int64{}, byUser: map[string]map[string]int64{}}
	for i, u := range users {
		if err := d.addUser(u, start); err != nil {
			return nil, fmt.Errorf("users[%d]: %w", i, err)
		}
	}
	for i, g := range groups {
		if err := d.addGroup(g); err != nil {
			return nil, fmt.Errorf("groups[%d]: %w", i, err)
		}
	}
	return d, nil
}

func (d *directory) addUser(u User, now time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case u.ID == "" || strings.ContainsAny(u.ID, "/?#"):
		return fmt.Errorf("user id %q: must be non-empty without / ? #", u.ID)
	case d.users[u.ID] != nil:
		return fmt.Errorf("duplicate user id %q", u.ID)
	case u.Profile.Login == "":
		return fmt.Errorf("user %s: empty login", u.ID)
	}
	for _, other := range d.users {
		if strings.EqualFold(other.Profile.Login, u.Profile.Login) {
			return fmt.Errorf("user %s: login %q already used by %s", u.ID, u.Profile.Login, other.ID)
		}
	}
	if u.Status == "" {
		u.Status = StatusActive
	}
	if !slices.Contains(userStatuses, u.Status) {
		return fmt.Errorf("user %s: unknown status %q", u.ID, u.Status)
	}
	if u.Created.IsZero() {
		u.Created = now
	}
	u.AdminRoles = slices.Clone(u.AdminRoles)
	d.users[u.ID] = &u
	d.order = append(d.order, u.ID)
	d.updated[u.ID] = u.Created
	return nil
}

func (d *directory) addGroup(g Group) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case g.ID == "" || strings.ContainsAny(g.ID, "/?#"):
		return fmt.Errorf("group id %q: must be non-empty without / ? #", g.ID)
	case d.groups[g.ID] != nil:
		return fmt.Errorf("duplicate group id %q", g.ID)
	}
	if g.Type == "" {
		g.Type = GroupOkta
	}
	if g.Type != GroupOkta && g.Type != GroupApp && g.Type != GroupBuiltIn {
		return fmt.Errorf("group %s: unknown type %q", g.ID, g.Type)
	}
	m := map[string]bool{}
	for _, uid := range g.Members {
		if d.users[uid] == nil {
			return fmt.Errorf("group %s: member %q is not a user", g.ID, uid)
		}
		m[uid] = true
	}
	g.Members = nil
	d.groups[g.ID] = &g
	d.members[g.ID] = m
	return nil
}

// lookupUser finds a user by id, login or unambiguous login short name
// (the part before @), as GET /api/v1/users/{idOrLogin} does.
func (d *directory) lookupUser(key string) (*User, bool) {
	if u := d.users[key]; u != nil {
		return u, true
	}
	var short *User
	n := 0
	for _, id := range d.order {
		u := d.users[id]
		if strings.EqualFold(u.Profile.Login, key) {
			return u, true
		}
		if local, _, ok := strings.Cut(u.Profile.Login, "@"); ok && strings.EqualFold(local, key) {
			short = u
			n++
		}
	}
	if n == 1 {
		return short, true
	}
	return nil, false
}

func (d *directory) countWrite(template, userID string) {
	d.writes[template]++
	if d.byUser[userID] == nil {
		d.byUser[userID] = map[string]int64{}
	}
	d.byUser[userID][template]++
}

// AddUser adds a user to the org's directory (tests and demos).
func (o *Org) AddUser(u User) error { return o.dir.addUser(u, o.now()) }

// AddGroup adds a group to the org's directory.
func (o *Org) AddGroup(g Group) error { return o.dir.addGroup(g) }

// User returns a copy of the user with this id.
func (o *Org) User(id string) (User, bool) {
	o.dir.mu.Lock()
	defer o.dir.mu.Unlock()
	u := o.dir.users[id]
	if u == nil {
		return User{}, false
	}
	c := *u
	c.AdminRoles = slices.Clone(u.AdminRoles)
	return c, true
}

// SetUserStatus changes a user's status without an API call or event
// (test set-up).
func (o *Org) SetUserStatus(id string, s UserStatus) bool {
	o.dir.mu.Lock()
	defer o.dir.mu.Unlock()
	u := o.dir.users[id]
	if u == nil {
		return false
	}
	u.Status = s
	return true
}

// Members returns the ids of a group's members, sorted.
func (o *Org) Members(groupID string) []string {
	o.dir.mu.Lock()
	defer o.dir.mu.Unlock()
	return slices.Sorted(maps.Keys(o.dir.members[groupID]))
}

// WriteCalls counts the write requests the users and groups API received
// (authenticated, whatever the answer), by "METHOD path template", e.g.
// "POST /api/v1/users/{id}/lifecycle/suspend".
func (o *Org) WriteCalls() map[string]int64 {
	o.dir.mu.Lock()
	defer o.dir.mu.Unlock()
	return maps.Clone(o.dir.writes)
}

// UserWriteCalls counts the write requests the users and groups API
// served for one user (path {id} or {uid}), by template as WriteCalls. A
// request held before it was applied and abandoned by its client is not
// counted (the org never looked at it).
func (o *Org) UserWriteCalls(userID string) map[string]int64 {
	o.dir.mu.Lock()
	defer o.dir.mu.Unlock()
	return maps.Clone(o.dir.byUser[userID])
}
