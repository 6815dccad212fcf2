package respond

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/privilege"
)

// Okta is what the Service needs from an org: okta.Writer implements it.
type Okta interface {
	ClearSessions(ctx context.Context, userID string, forgetDevices bool) (okta.Result, error)
	Suspend(ctx context.Context, userID string) (okta.Result, error)
	Unsuspend(ctx context.Context, userID string) (okta.Result, error)
	AddToGroup(ctx context.Context, groupID, userID string) (okta.Result, error)
	RemoveFromGroup(ctx context.Context, groupID, userID string) (okta.Result, error)
	User(ctx context.Context, idOrLogin string) (okta.User, error)
	Group(ctx context.Context, groupID string) (okta.Group, error)
	UserGroups(ctx context.Context, userID string) ([]okta.Group, error)
	AdminRoles(ctx context.Context, userID string) ([]string, error)
	SearchUsers(ctx context.Context, expr string, pageSize, max int) ([]okta.User, error)
	FindEvent(ctx context.Context, eventType, userID, groupID, requestID string, since time.Time) (*okta.LogEvent, error)
}

// Notifier is told what needs a person: the lead wires it to the
// notifications of the org's security contacts. Calls must not block long.
type Notifier interface {
	// PendingApproval: a proposal waits for approval (or for an identity).
	PendingApproval(ctx context.Context, a Action)
	// BudgetExhausted: the org's max_actions_per_hour is spent; actions wait.
	BudgetExhausted(ctx context.Context, tenant string, limit int)
}

// Settings are the Service's dependencies.
type Settings struct {
	Tenants  []config.Tenant
	Conn     driver.Conn // ClickHouse: response_actions, org_users, attack_factor_latest, risk_events
	Database string
	// NewOkta builds a tenant's Okta client (default: okta.NewWriter with
	// the tenant's write credential).
	NewOkta    func(config.Tenant) (Okta, error)
	Registerer prometheus.Registerer // nil: metrics are not registered
	Logger     *slog.Logger
	Notify     Notifier         // nil: log lines only
	Now        func() time.Time // default time.Now
	// Interval is how often Run sweeps (expiry, execution, verification,
	// auto-revert, rules); default 15s. Approvals wake it at once.
	Interval time.Duration
	Version  string // for the default Okta client's User-Agent
	// Permissions, when set, holds back Okta changes and users searches
	// while the tenant's credential lacks what they need (permission.go).
	Permissions Permissions
}

// Service owns the response actions of every tenant. Its constructor
// only builds; Run owns its goroutine.
type Service struct {
	s       Settings
	log     *slog.Logger
	audit   *audit
	metrics *metrics
	now     func() time.Time
	// tenants maps a name to its settings and Okta client; Apply (a
	// reload) replaces the map, never a tenant in it.
	tenants atomic.Pointer[map[string]*tenant]
	// searchPage is the page size of Okta's users search (default
	// okta.MaxUsersPage; tests shrink it to page through few users).
	searchPage int
	kick       chan struct{}

	sweepMu sync.Mutex // one sweep at a time: the only executor

	mu      sync.Mutex
	actions map[string]*Action
	open    map[openKey]string // → action id
	version uint64
	started bool

	// crash, set by tests, simulates kill -9 at a point of execution: when
	// it returns true the executor stops there, recording nothing more.
	crash func(point string) bool
}

type tenant struct {
	name      string
	cfg       config.Response
	src       config.Tenant // what cfg and okta were built from
	okta      Okta          // nil when response is off
	watermark time.Time
	exhausted bool
}

type openKey struct {
	tenant, user string // user: user id, or "identity:" + lower-cased identity
	action       config.ResponseAction
}

// Errors the API maps to statuses.
type (
	// InputError is a request that cannot be served as asked (400).
	InputError struct{ Msg string }
	// ConflictError is a transition the action's state does not allow (409).
	ConflictError struct {
		State State
		Msg   string
	}
	// ForbiddenError is refused by a guard rail: four eyes, a protected user (403).
	ForbiddenError struct{ Msg string }
	// OktaError is Okta refusing or failing a synchronous change (revert) (502).
	OktaError struct{ Err error }
)

func (e *InputError) Error() string     { return e.Msg }
func (e *ConflictError) Error() string  { return e.Msg }
func (e *ForbiddenError) Error() string { return e.Msg }
func (e *OktaError) Error() string      { return e.Err.Error() }
func (e *OktaError) Unwrap() error      { return e.Err }

// ErrNotFound is an unknown action id.
var ErrNotFound = errors.New("no such action")

// errForgotten: the action was forgotten (a privacy deletion) while in
// flight; nothing more is recorded or done for it.
var errForgotten = fmt.Errorf("%w: it was forgotten by a privacy deletion", ErrNotFound)

// ErrStarting: the actions are not loaded from ClickHouse yet.
var ErrStarting = errors.New("response actions are still loading from ClickHouse")

func (s *Service) isStarted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// New builds the Service; it touches no network.
func New(s Settings) (*Service, error) {
	if s.Conn == nil {
		return nil, errors.New("respond: no clickhouse connection")
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Interval <= 0 {
		s.Interval = 15 * time.Second
	}
	if s.NewOkta == nil {
		s.NewOkta = func(t config.Tenant) (Okta, error) {
			return okta.NewWriter(okta.Settings{Tenant: t.Name, BaseURL: t.BaseURL, Auth: t.WriteAuth(),
				RequestTimeout: t.Poll.RequestTimeout, Logger: s.Logger.With("tenant", t.Name, "component", "respond"),
				UserAgent: "riskpipe/" + s.Version})
		}
	}
	m, err := newMetrics(s.Registerer)
	if err != nil {
		return nil, err
	}
	svc := &Service{
		s: s, log: s.Logger, metrics: m, now: s.Now,
		audit:      &audit{conn: s.Conn, db: "`" + s.Database + "`"},
		searchPage: okta.MaxUsersPage, kick: make(chan struct{}, 1),
		actions: map[string]*Action{}, open: map[openKey]string{},
	}
	tenants := map[string]*tenant{}
	for _, t := range s.Tenants {
		tn, err := svc.newTenant(t)
		if err != nil {
			return nil, err
		}
		tenants[t.Name] = tn
		m.initTenant(t.Name)
	}
	svc.tenants.Store(&tenants)
	return svc, nil
}

// Start loads every action from ClickHouse, checks each restricted group's
// type and reconciles actions found executing (reading Okta before any
// retry). Run calls it; tests may call it and Sweep directly.
func (s *Service) Start(ctx context.Context) error {
	s.sweepMu.Lock() // not during an Apply
	defer s.sweepMu.Unlock()
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started {
		return nil
	}
	names := make([]string, 0, len(s.tenantMap()))
	for n := range s.tenantMap() {
		names = append(names, n)
	}
	slices.Sort(names)
	list, err := s.audit.load(ctx, names)
	if err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	for _, a := range list {
		s.actions[a.ID] = a
		s.version = max(s.version, a.Version)
		if a.State.Open() {
			s.open[keyOf(a)] = a.ID
		}
	}
	for _, t := range s.tenantMap() {
		t.watermark = now.Add(-time.Hour)
		for _, a := range list {
			if a.Tenant == t.name && a.CreatedAt.After(t.watermark) && s.isRule(t, a.ProposedBy) {
				t.watermark = a.CreatedAt
			}
		}
	}
	s.started = true
	s.updatePending()
	s.mu.Unlock()
	for _, t := range s.sortedTenants() {
		if t.okta == nil || t.cfg.RestrictedGroupID == "" {
			continue
		}
		if err := s.checkGroup(ctx, t, t.cfg.RestrictedGroupID); err != nil {
			s.log.Error("restricted group unusable: add_to_group will fail", "tenant", t.name,
				"group", t.cfg.RestrictedGroupID, "err", err)
		}
	}
	s.log.Info("response actions loaded", "actions", len(list))
	return nil
}

func (s *Service) isRule(t *tenant, name string) bool {
	for _, r := range t.cfg.Rules {
		if r.Name == name {
			return true
		}
	}
	return false
}

// Run starts, then sweeps every Interval and whenever an action is
// approved, until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	for {
		err := s.Start(ctx)
		if err == nil {
			break
		}
		s.log.Warn("response actions: cannot load; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
		}
	}
	tick := time.NewTicker(s.s.Interval)
	defer tick.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			s.closeIdle()
			return nil
		case <-tick.C:
		case <-s.kick:
		}
	}
}

func (s *Service) closeIdle() {
	for _, t := range s.tenantMap() {
		if c, ok := t.okta.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}

func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Service) sortedTenants() []*tenant {
	out := make([]*tenant, 0, len(s.tenantMap()))
	for _, t := range s.tenantMap() {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *tenant) int { return cmp.Compare(a.name, b.name) })
	return out
}

func keyOf(a *Action) openKey {
	user := a.UserID
	if user == "" {
		user = "identity:" + strings.ToLower(a.Identity)
	}
	return openKey{tenant: a.Tenant, user: user, action: a.Action}
}

// newID returns an action id that sorts in creation order: the next
// version (monotonic across restarts) and 4 random bytes. s.mu must be held.
func (s *Service) newID() string {
	s.version = max(s.version+1, uint64(s.now().UnixNano()))
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("act_%016x%s", s.version, hex.EncodeToString(b[:]))
}

// commit applies mutate to a copy of a, writes it to ClickHouse as the next
// version and, once confirmed, makes it the action. s.mu must be held.
func (s *Service) commit(ctx context.Context, a *Action, mutate func(*Action)) error {
	if !s.held(a) {
		return errForgotten
	}
	c := a.clone()
	mutate(&c)
	now := s.now().UTC()
	s.version = max(s.version+1, uint64(now.UnixNano()))
	c.Version, c.UpdatedAt = s.version, now.Truncate(time.Second)
	if c.State != a.State && a.State != "" && !canMove(a.State, c.State) {
		return fmt.Errorf("respond: internal error: %s → %s", a.State, c.State)
	}
	if err := s.audit.write(ctx, &c); err != nil {
		return err
	}
	prev := a.State
	*a = c
	if prev != c.State {
		s.metrics.transition(c.Tenant, c.Action, c.State)
		k := keyOf(a)
		if c.State.Open() {
			s.open[k] = a.ID
		} else if s.open[k] == a.ID {
			delete(s.open, k)
		}
		s.updatePending()
	}
	return nil
}

func (s *Service) updatePending() {
	counts := map[string]int{}
	for _, a := range s.actions {
		if a.State.Pending() {
			counts[a.Tenant]++
		}
	}
	for name := range s.tenantMap() {
		s.metrics.pending.WithLabelValues(name).Set(float64(counts[name]))
	}
}

// Proposal asks for an action on a user (by Okta id) or an identity.
type Proposal struct {
	Tenant   string
	Action   config.ResponseAction
	UserID   string
	Identity string // an external identity (CORP\joren, an email alias) instead of UserID
	GroupID  string // add/remove_from_group; default restricted_group_id
	Reason   string
	By       string // token or rule name
	Evidence Evidence
	rule     bool
}

// Propose records a proposal, or adds its evidence to the open action for
// the same (org, user, action) (created false). A proposal naming an
// identity is needs_identity unless exactly one candidate matches exactly.
// In auto mode an auto_actions action is approved at once while the hourly
// budget lasts.
func (s *Service) Propose(ctx context.Context, p Proposal) (Action, bool, error) {
	t := s.tenant(p.Tenant)
	switch {
	case !s.isStarted():
		return Action{}, false, ErrStarting
	case t == nil:
		return Action{}, false, &InputError{Msg: fmt.Sprintf("unknown org %q", p.Tenant)}
	case t.okta == nil:
		return Action{}, false, &InputError{Msg: fmt.Sprintf("response actions are off for org %s (tenants[].response.mode)", p.Tenant)}
	case !slices.Contains(config.ResponseActions, p.Action):
		return Action{}, false, &InputError{Msg: fmt.Sprintf("action must be one of %v", config.ResponseActions)}
	case (p.UserID == "") == (p.Identity == ""):
		return Action{}, false, &InputError{Msg: "name exactly one of user_id and identity"}
	case len(p.Reason) > 2000:
		return Action{}, false, &InputError{Msg: "reason is longer than 2000 characters"}
	case p.By == "":
		return Action{}, false, &InputError{Msg: "proposer unknown"}
	}
	if usesGroup(p.Action) {
		if p.GroupID == "" {
			p.GroupID = t.cfg.RestrictedGroupID
		}
		if p.GroupID == "" {
			return Action{}, false, &InputError{Msg: "group_id is required: the org has no restricted_group_id"}
		}
	} else if p.GroupID != "" {
		return Action{}, false, &InputError{Msg: "group_id only applies to add_to_group and remove_from_group"}
	}
	a := &Action{Tenant: p.Tenant, Action: p.Action, GroupID: p.GroupID, ProposedBy: p.By,
		Reason: p.Reason, Evidence: p.Evidence, Identity: strings.TrimSpace(p.Identity), DryRun: t.cfg.Mode == config.ResponseDryRun}
	a.Evidence.Proposals = 1
	state := StateProposed
	if p.Identity != "" {
		m, err := s.matchIdentity(ctx, t, p.Identity)
		if err != nil {
			return Action{}, false, err
		}
		if m.Elsewhere {
			return Action{}, false, &InputError{Msg: fmt.Sprintf("identity %q: %s; propose it in the org that claims it", a.Identity, m.Note)}
		}
		cands := m.Candidates
		if m.Note != "" {
			a.Note = m.Note + "."
		}
		var exact []Candidate
		for _, c := range cands {
			if c.Exact {
				exact = append(exact, c)
			}
		}
		a.Note = strings.TrimSpace(a.Note + " " + searchNote(s.blocked(p.Tenant, privilege.FeatureIdentity)))
		if len(exact) == 1 {
			a.UserID, a.UserLogin = exact[0].UserID, exact[0].UserLogin
			a.Note = strings.TrimSpace(fmt.Sprintf("identity %q resolved by %s %s", a.Identity, strings.Join(exact[0].Reasons, ", "), a.Note))
		} else {
			state, a.Candidates = StateNeedsIdentity, cands
		}
	}
	if a.UserID == "" && state != StateNeedsIdentity {
		a.UserID = p.UserID
	}
	if a.UserID != "" {
		u, err := t.okta.User(ctx, a.UserID)
		if err != nil {
			if _, nf := errors.AsType[*okta.NotFoundError](err); nf {
				return Action{}, false, &InputError{Msg: fmt.Sprintf("no Okta user %q in org %s", a.UserID, p.Tenant)}
			}
			s.denied(p.Tenant, privilege.FeatureIdentity, err)
			return Action{}, false, fmt.Errorf("read okta user: %w", err)
		}
		a.UserID, a.UserLogin = u.ID, u.Profile.Login
		if why, err := s.protected(ctx, t, u.ID, u.Profile.Login); err != nil {
			return Action{}, false, err
		} else if why != "" {
			return Action{}, false, &ForbiddenError{Msg: "refused: " + why}
		}
	}
	now := s.now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tenant(p.Tenant) == nil { // removed by a reload meanwhile
		return Action{}, false, &InputError{Msg: fmt.Sprintf("unknown org %q", p.Tenant)}
	}
	if id, ok := s.open[keyOf(a)]; ok {
		open := s.actions[id]
		if p.rule && !open.Evidence.adds(p.Evidence) {
			return open.clone(), false, nil // a rule seeing the same rows again
		}
		note := fmt.Sprintf("proposed again by %s at %s", p.By, now.Format(time.RFC3339))
		if p.Reason != "" && p.Reason != open.Reason {
			note += ": " + p.Reason
		}
		if err := s.commit(ctx, open, func(c *Action) { c.Evidence.merge(p.Evidence, note) }); err != nil {
			return Action{}, false, err
		}
		s.log.Info("response action proposed again: evidence added", "tenant", open.Tenant, "action_id", open.ID,
			"by", p.By, "proposals", open.Evidence.Proposals)
		return open.clone(), false, nil
	}
	a.ID = s.newID()
	a.CreatedAt = now.Truncate(time.Second)
	a.ExpiresAt = a.CreatedAt.Add(t.cfg.ApprovalTTL)
	s.actions[a.ID] = &Action{ID: a.ID} // filled by commit
	stored := s.actions[a.ID]
	if err := s.commit(ctx, stored, func(c *Action) { *c = *a; c.State = state }); err != nil {
		delete(s.actions, a.ID)
		return Action{}, false, err
	}
	s.log.Info("response action proposed", "tenant", a.Tenant, "action_id", a.ID, "action", a.Action,
		"user", a.UserLogin, "identity", a.Identity, "state", state, "by", p.By)
	if state == StateProposed && t.cfg.Automatic(a.Action) {
		if s.autoBudgetLeft(t, now) > 0 {
			if err := s.commit(ctx, stored, func(c *Action) {
				c.State, c.DecidedBy, c.DecidedAt = StateApproved, "auto", tptr(now)
			}); err != nil {
				return Action{}, false, err
			}
			s.wake()
			return stored.clone(), true, nil
		}
		s.budgetSpent(ctx, t)
	}
	s.pending(ctx, stored)
	return stored.clone(), true, nil
}

// pending tells people an action waits for them. s.mu must be held.
func (s *Service) pending(ctx context.Context, a *Action) {
	s.log.Info("response action pending approval", "tenant", a.Tenant, "action_id", a.ID, "action", a.Action,
		"user", a.UserLogin, "identity", a.Identity, "state", a.State, "expires_at", a.ExpiresAt,
		"approve", "POST /api/v1/actions/"+a.ID+"/approve")
	if s.s.Notify != nil {
		s.s.Notify.PendingApproval(ctx, a.clone())
	}
}

// Approve approves a proposal (or, for needs_identity, picks the user from
// its candidates and approves). The executor runs it next.
func (s *Service) Approve(ctx context.Context, id, by, userID string) (Action, error) {
	s.mu.Lock()
	a, err := s.lookup(id)
	if err != nil {
		s.mu.Unlock()
		return Action{}, err
	}
	t := s.tenant(a.Tenant)
	if err := s.expireIfDue(ctx, a, t); err != nil {
		s.mu.Unlock()
		return Action{}, err
	}
	if !a.State.Pending() {
		s.mu.Unlock()
		return Action{}, &ConflictError{State: a.State, Msg: fmt.Sprintf("action %s is %s: only needs_identity and proposed actions can be approved", id, a.State)}
	}
	if t.okta == nil {
		s.mu.Unlock()
		return Action{}, &ConflictError{State: a.State, Msg: fmt.Sprintf("action %s cannot be approved now: %s; it stays open until it is rejected, "+
			"expires or the mode is turned on again", id, offReason)}
	}
	if t.cfg.FourEyes && by == a.ProposedBy {
		s.mu.Unlock()
		return Action{}, &ForbiddenError{Msg: fmt.Sprintf("four eyes: %s proposed action %s and cannot approve it", by, id)}
	}
	uid, login := a.UserID, a.UserLogin
	if a.State == StateNeedsIdentity {
		i := slices.IndexFunc(a.Candidates, func(c Candidate) bool { return c.UserID == userID })
		if userID == "" || i < 0 {
			s.mu.Unlock()
			return Action{}, &InputError{Msg: "this action needs an identity: approve with user_id set to one of its candidates"}
		}
		uid, login = a.Candidates[i].UserID, a.Candidates[i].UserLogin
	} else if userID != "" && userID != a.UserID {
		s.mu.Unlock()
		return Action{}, &InputError{Msg: "user_id differs from the action's user"}
	}
	s.mu.Unlock()

	why, err := s.protected(ctx, t, uid, login)
	if err != nil {
		return Action{}, err
	}
	if why != "" {
		return Action{}, &ForbiddenError{Msg: "refused: " + why}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !a.State.Pending() { // changed meanwhile
		return Action{}, &ConflictError{State: a.State, Msg: fmt.Sprintf("action %s is %s", id, a.State)}
	}
	if a.State == StateNeedsIdentity {
		if other, ok := s.open[openKey{tenant: a.Tenant, user: uid, action: a.Action}]; ok {
			return Action{}, &ConflictError{State: a.State, Msg: fmt.Sprintf("action %s is already open for this user and action", other)}
		}
	}
	if err := s.commit(ctx, a, func(c *Action) {
		if c.State == StateNeedsIdentity {
			c.Note = strings.TrimSpace(c.Note + fmt.Sprintf(" identity %q chosen by %s: %s", c.Identity, by, login))
		}
		c.UserID, c.UserLogin = uid, login
		c.State, c.DecidedBy, c.DecidedAt = StateApproved, by, tptr(now)
	}); err != nil {
		return Action{}, err
	}
	s.log.Info("response action approved", "tenant", a.Tenant, "action_id", a.ID, "by", by)
	s.wake()
	return a.clone(), nil
}

// Reject closes a proposal without acting.
func (s *Service) Reject(ctx context.Context, id, by, reason string) (Action, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookup(id)
	if err != nil {
		return Action{}, err
	}
	if err := s.expireIfDue(ctx, a, s.tenant(a.Tenant)); err != nil {
		return Action{}, err
	}
	if !a.State.Pending() {
		return Action{}, &ConflictError{State: a.State, Msg: fmt.Sprintf("action %s is %s: only needs_identity and proposed actions can be rejected", id, a.State)}
	}
	if len(reason) > 2000 {
		return Action{}, &InputError{Msg: "reason is longer than 2000 characters"}
	}
	now := s.now()
	if err := s.commit(ctx, a, func(c *Action) {
		c.State, c.DecidedBy, c.DecidedAt = StateRejected, by, tptr(now)
		if reason != "" {
			c.Note = strings.TrimSpace(c.Note + " rejected: " + reason)
		}
	}); err != nil {
		return Action{}, err
	}
	return a.clone(), nil
}

// expireIfDue moves a pending action past its expiry to expired and
// reports the conflict. s.mu must be held.
func (s *Service) expireIfDue(ctx context.Context, a *Action, t *tenant) error {
	if !a.State.Pending() || s.now().Before(a.ExpiresAt) {
		return nil
	}
	if err := s.commit(ctx, a, func(c *Action) { c.State = StateExpired }); err != nil {
		return err
	}
	return &ConflictError{State: StateExpired, Msg: fmt.Sprintf("action %s expired at %s", a.ID, a.ExpiresAt.Format(time.RFC3339))}
}

func (s *Service) lookup(id string) (*Action, error) {
	if !s.started {
		return nil, ErrStarting
	}
	a := s.actions[id]
	if a == nil || a.State == "" {
		return nil, ErrNotFound
	}
	return a, nil
}

// Get returns one action.
func (s *Service) Get(id string) (Action, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookup(id)
	if err != nil {
		return Action{}, false
	}
	return a.clone(), true
}

// Filter selects actions for List.
type Filter struct {
	Tenants []string // required: the orgs the caller may see
	State   State
	UserID  string
	After   string // the last id of the previous page
	Limit   int
}

// List returns actions newest first and the id to continue after ("" on
// the last page).
func (s *Service) List(f Filter) ([]Action, string) {
	s.mu.Lock()
	var out []Action
	for _, a := range s.actions {
		if a.State == "" || !slices.Contains(f.Tenants, a.Tenant) || (f.State != "" && a.State != f.State) ||
			(f.UserID != "" && a.UserID != f.UserID) {
			continue
		}
		out = append(out, a.clone())
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Action) int { return cmp.Compare(b.ID, a.ID) }) // ids sort in creation order
	if f.After != "" {
		if i := slices.IndexFunc(out, func(a Action) bool { return a.ID == f.After }); i >= 0 {
			out = out[i+1:]
		}
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next
}

// Match returns the candidates for an external identity in an org.
func (s *Service) Match(ctx context.Context, tenant, identity string) (Matches, error) {
	t := s.tenant(tenant)
	if t == nil {
		return Matches{}, &InputError{Msg: fmt.Sprintf("unknown org %q", tenant)}
	}
	return s.matchIdentity(ctx, t, identity)
}

// Enabled reports whether response actions are on (dry_run included) for
// the tenant.
func (s *Service) Enabled(tenant string) bool {
	t := s.tenant(tenant)
	return t != nil && t.okta != nil
}
