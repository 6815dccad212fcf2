package respond

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/privilege"
)

// maxAttempts bounds the Okta calls of one action whose calls keep failing
// with retryable errors (each attempt already retried by the client).
const maxAttempts = 5

// Sweep does the periodic work once: expire proposals, reconcile and
// execute, verify from the System Log, revert automatically, and run the
// rules. Run calls it; tests call it directly on a fake clock.
func (s *Service) Sweep(ctx context.Context) {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	s.expire(ctx)
	for _, id := range s.ids(func(a *Action) bool { return a.State == StateExecuting }) {
		if ctx.Err() != nil {
			return
		}
		s.reconcile(ctx, id)
	}
	for _, id := range s.ids(func(a *Action) bool { return a.State == StateApproved }) {
		if ctx.Err() != nil {
			return
		}
		s.execute(ctx, id)
	}
	for _, id := range s.ids(func(a *Action) bool {
		return a.State == StateSucceeded && !a.DryRun && !a.NoChange && a.VerifiedAt == nil && !a.Flagged
	}) {
		s.verify(ctx, id)
	}
	s.autoRevert(ctx)
	s.runRules(ctx)
	s.budgetGauge()
}

// budgetGauge sets riskpipe_response_budget_exhausted to whether each
// tenant's hourly budget is spent now; once it frees up, the next wait is
// told again.
func (s *Service) budgetGauge() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, t := range s.tenantMap() {
		if t.okta == nil {
			continue
		}
		spent := s.budgetLeft(t, now) <= 0
		if !spent {
			t.exhausted = false
		}
		v := 0.0
		if spent {
			v = 1
		}
		s.metrics.exhausted.WithLabelValues(t.name).Set(v)
	}
}

// ids lists the actions matching keep, oldest first.
func (s *Service) ids(keep func(*Action) bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*Action
	for _, a := range s.actions {
		if a.State != "" && keep(a) {
			list = append(list, a)
		}
	}
	slices.SortFunc(list, func(a, b *Action) int { return strings.Compare(a.ID, b.ID) }) // creation order
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.ID
	}
	return out
}

func (s *Service) expire(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, a := range s.actions {
		if a.State.Pending() && !now.Before(a.ExpiresAt) {
			if err := s.commit(ctx, a, func(c *Action) { c.State = StateExpired }); err != nil {
				s.log.Warn("response action: cannot record expiry", "action_id", a.ID, "err", err)
				continue
			}
			s.log.Info("response action expired", "tenant", a.Tenant, "action_id", a.ID)
		}
	}
}

// budgetLeft is how many actions the tenant may still execute in the hour
// before now. s.mu must be held.
func (s *Service) budgetLeft(t *tenant, now time.Time) int {
	n := 0
	for _, a := range s.actions {
		if a.Tenant == t.name && !a.DryRun && a.ExecutedAt != nil && now.Sub(*a.ExecutedAt) < time.Hour {
			n++
		}
	}
	return t.cfg.MaxActionsPerHour - n
}

// autoBudgetLeft is budgetLeft less the actions already approved and
// waiting to run: what auto mode may still approve without a person.
// s.mu must be held.
func (s *Service) autoBudgetLeft(t *tenant, now time.Time) int {
	n := s.budgetLeft(t, now)
	for _, a := range s.actions {
		if a.Tenant == t.name && !a.DryRun && a.State == StateApproved {
			n--
		}
	}
	return n
}

// budgetSpent records and tells that the tenant's budget is spent (once
// until it frees up). s.mu must be held.
func (s *Service) budgetSpent(ctx context.Context, t *tenant) {
	s.metrics.budgetWaits.WithLabelValues(t.name).Inc()
	if t.exhausted {
		return
	}
	t.exhausted = true
	s.metrics.exhausted.WithLabelValues(t.name).Set(1)
	s.log.Warn("response budget exhausted: actions wait", "tenant", t.name, "max_actions_per_hour", t.cfg.MaxActionsPerHour)
	if s.s.Notify != nil {
		s.s.Notify.BudgetExhausted(ctx, t.name, t.cfg.MaxActionsPerHour)
	}
}

// execute runs one approved action: budget, guard rails, then executing
// is recorded (confirmed by ClickHouse) before the one Okta call, and the
// answer after it.
func (s *Service) execute(ctx context.Context, id string) {
	s.mu.Lock()
	a := s.actions[id]
	if a == nil { // forgotten meanwhile
		s.mu.Unlock()
		return
	}
	t := s.tenant(a.Tenant)
	if a.State != StateApproved {
		s.mu.Unlock()
		return
	}
	if s.budgetLeft(t, s.now()) <= 0 {
		s.budgetSpent(ctx, t)
		s.mu.Unlock()
		return
	}
	// What the steps below read of a, copied under s.mu: commit replaces
	// *a under it (another goroutine may add evidence meanwhile).
	uid, login, tname, act, gid := a.UserID, a.UserLogin, a.Tenant, a.Action, a.GroupID
	s.mu.Unlock()

	fail := func(msg string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		// Refused by a guard rail before any Okta call.
		if err := s.commit(ctx, a, func(c *Action) { c.State, c.Error = StateFailed, msg }); err != nil {
			s.log.Warn("response action: cannot record", "action_id", id, "err", err)
		}
		s.log.Warn("response action refused", "tenant", tname, "action_id", id, "err", msg)
	}
	if t.okta == nil { // the mode went off after the approval (reload)
		fail("not executed: " + offReason)
		return
	}
	if t.cfg.Mode == config.ResponseDryRun && !dryRun(s, a) {
		s.mu.Lock()
		err := s.commit(ctx, a, func(c *Action) {
			c.DryRun, c.Note = true, strings.TrimSpace(c.Note+" the org's response mode was dry_run when it ran")
		})
		s.mu.Unlock()
		if err != nil {
			s.log.Warn("response action: cannot record", "action_id", id, "err", err)
			return
		}
	}
	if !s.gate(a) { // the credential lacks a permission: a waits, approved
		return
	}
	if refused, ok := s.guard(ctx, t, id, uid, login, act, gid); !ok {
		if refused != "" {
			fail(refused)
		}
		return
	}

	s.mu.Lock()
	now := s.now()
	err := s.commit(ctx, a, func(c *Action) {
		c.State, c.ExecutedAt, c.Attempts = StateExecuting, tptr(now), c.Attempts+1
	})
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("response action: cannot record executing; not calling Okta", "action_id", id, "err", err)
		return
	}
	if s.crashed("before_call") {
		return
	}
	s.call(ctx, t, a)
}

// guard checks the guard rails that read Okta before a call: the user is
// not protected and the action's group may be changed. ok: the call may be
// made; else refused says why the action fails, or is "" when the check
// itself failed and is tried again later.
func (s *Service) guard(ctx context.Context, t *tenant, id, uid, login string, act config.ResponseAction, gid string) (refused string, ok bool) {
	why, err := s.protected(ctx, t, uid, login)
	if err != nil {
		s.log.Warn("response action: cannot check guard rails; will retry", "action_id", id, "err", err)
		return "", false
	}
	if why != "" {
		return "refused: " + why, false
	}
	if usesGroup(act) {
		if err := s.checkGroup(ctx, t, gid); err != nil {
			if okta.IsRetryable(err) {
				return "", false
			}
			return err.Error(), false
		}
	}
	return "", true
}

// dryRun reads a.DryRun under s.mu.
func dryRun(s *Service, a *Action) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return a.DryRun
}

func (s *Service) crashed(point string) bool { return s.crash != nil && s.crash(point) }

// call makes the Okta call of an executing action and records the answer:
// succeeded, failed (by meaning), or still executing when the error may
// pass (retried by the next sweep after reading Okta's state).
func (s *Service) call(ctx context.Context, t *tenant, a *Action) {
	s.mu.Lock()
	if !s.held(a) { // forgotten by a privacy deletion: no call for it
		s.mu.Unlock()
		return
	}
	act, uid, gid, dry := a.Action, a.UserID, a.GroupID, a.DryRun
	s.mu.Unlock()
	var (
		res okta.Result
		err error
	)
	if !dry {
		res, err = s.doAction(ctx, t, act, uid, gid)
	}
	if s.crashed("after_call") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && a.Attempts < maxAttempts && s.deniedWrite(ctx, a, err) {
		return // executing: reconciled and called again once the permission is back
	}
	if err != nil && retryable(ctx, err) {
		if a.Attempts < maxAttempts {
			s.log.Warn("response action: okta call failed; will reconcile and retry", "tenant", a.Tenant, "action_id", a.ID,
				"attempt", a.Attempts, "err", err)
			if cerr := s.commit(ctx, a, func(c *Action) { c.Error = err.Error() }); cerr != nil {
				s.log.Warn("response action: cannot record", "action_id", a.ID, "err", cerr)
			}
			return
		}
	}
	if cerr := s.commit(ctx, a, func(c *Action) {
		c.OktaStatus, c.OktaRequestID = res.Status, res.RequestID
		switch {
		case dry:
			c.State, c.Note = StateSucceeded, strings.TrimSpace(c.Note+" dry run: Okta was not called")
		case err != nil:
			c.State, c.Error = StateFailed, err.Error()
			c.OktaRequestID = cmp.Or(c.OktaRequestID, requestID(err))
		default:
			c.State, c.Error = StateSucceeded, ""
			if res.AlreadyDone {
				c.NoChange, c.Note = true, strings.TrimSpace(c.Note+" no change: "+res.Detail)
			}
		}
	}); cerr != nil {
		s.log.Warn("response action: cannot record the answer (reconciled at the next sweep)", "action_id", a.ID, "err", cerr)
		return
	}
	s.log.Info("response action executed", "tenant", a.Tenant, "action_id", a.ID, "action", a.Action, "user", a.UserLogin,
		"state", a.State, "okta_request_id", a.OktaRequestID, "err", a.Error)
}

func requestID(err error) string {
	if e, ok := errors.AsType[*okta.AccessError](err); ok {
		return e.RequestID
	}
	if e, ok := errors.AsType[*okta.NotFoundError](err); ok {
		return e.RequestID
	}
	if e, ok := errors.AsType[*okta.StateError](err); ok {
		return e.RequestID
	}
	return ""
}

// retryable: errors that may pass on a later attempt (5xx, network, a 429
// not waited out, our own context ending).
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	_, limited := okta.IsRateLimited(err)
	return okta.IsRetryable(err) || limited
}

func (s *Service) doAction(ctx context.Context, t *tenant, act config.ResponseAction, uid, gid string) (okta.Result, error) {
	switch act {
	case config.ActionClearSessions:
		return t.okta.ClearSessions(ctx, uid, t.cfg.ForgetDevices)
	case config.ActionSuspend:
		return t.okta.Suspend(ctx, uid)
	case config.ActionUnsuspend:
		return t.okta.Unsuspend(ctx, uid)
	case config.ActionAddToGroup:
		return t.okta.AddToGroup(ctx, gid, uid)
	case config.ActionRemoveFromGroup:
		return t.okta.RemoveFromGroup(ctx, gid, uid)
	}
	return okta.Result{}, fmt.Errorf("unknown action %q", act)
}

// reconcile resolves an action found executing (after a restart, or after a
// retryable failure): Okta's state says whether the change was applied; only
// when it was not is the call made (again).
func (s *Service) reconcile(ctx context.Context, id string) {
	s.mu.Lock()
	a := s.actions[id]
	if a == nil {
		s.mu.Unlock()
		return
	}
	t := s.tenant(a.Tenant)
	if a.State != StateExecuting {
		s.mu.Unlock()
		return
	}
	c := a.clone()
	s.mu.Unlock()
	if t.okta == nil {
		// Mode off: no client, so Okta is not read either.
		s.mu.Lock()
		err := s.commit(ctx, a, func(c *Action) {
			c.State, c.Error = StateFailed, offReason+"; whether Okta applied it is not known: look at the user in Okta"
		})
		s.mu.Unlock()
		if err != nil {
			s.log.Warn("response action: cannot record", "action_id", id, "err", err)
		}
		return
	}
	if c.DryRun {
		s.call(ctx, t, a)
		return
	}
	if !s.gate(a) {
		return
	}
	applied, how, err := s.applied(ctx, t, &c)
	if err != nil {
		s.log.Warn("response action: cannot read okta state to reconcile; will retry", "action_id", id, "err", err)
		return
	}
	if !applied && t.cfg.Mode == config.ResponseDryRun {
		s.mu.Lock()
		_ = s.commit(ctx, a, func(c *Action) {
			c.State, c.Error = StateFailed, "not called again: the org's response mode was changed to dry_run"
		})
		s.mu.Unlock()
		return
	}
	if applied {
		s.mu.Lock()
		if err := s.commit(ctx, a, func(c *Action) {
			c.State, c.Error = StateSucceeded, ""
			c.Note = strings.TrimSpace(c.Note + " reconciled: " + how + "; Okta was not called again")
		}); err != nil {
			s.log.Warn("response action: cannot record", "action_id", id, "err", err)
		}
		s.mu.Unlock()
		s.log.Info("response action reconciled: already applied in okta", "action_id", id, "how", how)
		return
	}
	// Called again, perhaps long after the approval (a permission was
	// missing, a restart): the guard rails as they are now.
	if refused, ok := s.guard(ctx, t, id, c.UserID, c.UserLogin, c.Action, c.GroupID); !ok {
		if refused != "" {
			s.mu.Lock()
			if err := s.commit(ctx, a, func(c *Action) { c.State, c.Error = StateFailed, refused }); err != nil {
				s.log.Warn("response action: cannot record", "action_id", id, "err", err)
			}
			s.mu.Unlock()
			s.log.Warn("response action refused", "tenant", c.Tenant, "action_id", id, "err", refused)
		}
		return
	}
	s.mu.Lock()
	if a.Attempts >= maxAttempts {
		err := s.commit(ctx, a, func(c *Action) {
			c.State = StateFailed
			c.Error = fmt.Sprintf("gave up after %d attempts: %s", c.Attempts, c.Error)
		})
		s.mu.Unlock()
		if err != nil {
			s.log.Warn("response action: cannot record", "action_id", id, "err", err)
		}
		return
	}
	now := s.now()
	err = s.commit(ctx, a, func(c *Action) { c.Attempts++; c.ExecutedAt = tptr(now) })
	s.mu.Unlock()
	if err != nil {
		return
	}
	s.log.Info("response action reconciled: not applied in okta; calling", "action_id", id, "how", how)
	s.call(ctx, t, a)
}

// applied reads Okta to learn whether an executing action took effect.
func (s *Service) applied(ctx context.Context, t *tenant, a *Action) (bool, string, error) {
	switch a.Action {
	case config.ActionSuspend, config.ActionUnsuspend:
		u, err := t.okta.User(ctx, a.UserID)
		if err != nil {
			return false, "", err
		}
		want := "SUSPENDED"
		if a.Action == config.ActionUnsuspend {
			want = "ACTIVE"
		}
		return u.Status == want, "the user is " + u.Status, nil
	case config.ActionAddToGroup, config.ActionRemoveFromGroup:
		gs, err := t.okta.UserGroups(ctx, a.UserID)
		if err != nil {
			return false, "", err
		}
		member := slices.ContainsFunc(gs, func(g okta.Group) bool { return g.ID == a.GroupID })
		if a.Action == config.ActionAddToGroup {
			return member, fmt.Sprintf("member of %s: %v", a.GroupID, member), nil
		}
		return !member, fmt.Sprintf("member of %s: %v", a.GroupID, member), nil
	case config.ActionClearSessions:
		// No API lists a user's sessions: the System Log says whether
		// they were cleared since the call was recorded.
		ev, err := t.okta.FindEvent(ctx, eventTypes[a.Action], a.UserID, "", "", dt(a.ExecutedAt).Add(-2*time.Second))
		if err != nil {
			return false, "", err
		}
		if ev != nil {
			return true, "user.session.clear " + ev.UUID + " in the System Log", nil
		}
		return false, "no user.session.clear in the System Log since the call", nil
	}
	return false, "", fmt.Errorf("unknown action %q", a.Action)
}

// verify looks for the System Log event of a succeeded action; past
// verify_within without it, the action is flagged.
func (s *Service) verify(ctx context.Context, id string) {
	s.mu.Lock()
	a := s.actions[id]
	if a == nil {
		s.mu.Unlock()
		return
	}
	t := s.tenant(a.Tenant)
	c := a.clone()
	s.mu.Unlock()
	if t.okta == nil || c.ExecutedAt == nil {
		return
	}
	gid := ""
	if usesGroup(c.Action) {
		gid = c.GroupID
	}
	ev, err := t.okta.FindEvent(ctx, eventTypes[c.Action], c.UserID, gid, c.OktaRequestID, c.ExecutedAt.Add(-2*time.Second))
	if err != nil {
		s.log.Warn("response action: cannot read the System Log to verify", "action_id", id, "err", err)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case ev != nil:
		note := "verified by " + ev.EventType + " " + ev.UUID
		if c.OktaRequestID != "" && ev.Transaction.ID == c.OktaRequestID {
			note += " of our request " + c.OktaRequestID
		}
		if tok := ev.APITokenID(); tok != "" {
			note += " (API token " + tok + ")"
		}
		if err := s.commit(ctx, a, func(c *Action) {
			c.VerifiedAt, c.VerifyEventID = tptr(ev.Published), ev.UUID
			c.Note = strings.TrimSpace(c.Note + " " + note)
		}); err != nil {
			s.log.Warn("response action: cannot record verification", "action_id", id, "err", err)
			return
		}
		s.metrics.verified.WithLabelValues(a.Tenant, "verified").Inc()
	case now.Sub(*c.ExecutedAt) >= t.cfg.VerifyWithin:
		if err := s.commit(ctx, a, func(c *Action) {
			c.Flagged = true
			c.Note = strings.TrimSpace(c.Note + fmt.Sprintf(" flagged: no %s in the System Log within %s", eventTypes[c.Action], t.cfg.VerifyWithin))
		}); err != nil {
			return
		}
		s.metrics.verified.WithLabelValues(a.Tenant, "flagged").Inc()
		s.log.Warn("response action not seen in the System Log: flagged", "tenant", a.Tenant, "action_id", id,
			"event_type", eventTypes[c.Action], "within", t.cfg.VerifyWithin)
	}
}

// Revert undoes a succeeded suspend (unsuspend) or add_to_group (remove
// from the group) now. The inverse calls are idempotent in meaning (an
// ACTIVE user or a non-member is success), so a revert interrupted before
// it was recorded is safely asked again.
func (s *Service) Revert(ctx context.Context, id, by string) (Action, error) {
	s.mu.Lock()
	a, err := s.lookup(id)
	if err != nil {
		s.mu.Unlock()
		return Action{}, err
	}
	inverse, ok := revertible[a.Action]
	switch {
	case a.State != StateSucceeded:
		s.mu.Unlock()
		return Action{}, &ConflictError{State: a.State, Msg: fmt.Sprintf("action %s is %s: only succeeded actions can be reverted", id, a.State)}
	case !ok:
		s.mu.Unlock()
		return Action{}, &ConflictError{State: a.State, Msg: fmt.Sprintf("%s cannot be reverted (only suspend and add_to_group)", a.Action)}
	}
	t := s.tenant(a.Tenant)
	uid, gid, dry := a.UserID, a.GroupID, a.DryRun
	s.mu.Unlock()
	if t.okta == nil {
		return Action{}, &InputError{Msg: "response actions are off for org " + a.Tenant}
	}
	if why := s.blocked(a.Tenant, privilege.FeatureResponse); why != "" && !dry {
		return Action{}, &ConflictError{State: StateSucceeded, Msg: fmt.Sprintf("action %s cannot be reverted now: "+
			"the credential lacks what response actions need: %s", id, why)}
	}
	var res okta.Result
	if !dry {
		res, err = s.doAction(ctx, t, inverse, uid, gid)
		if err != nil {
			s.denied(a.Tenant, privilege.FeatureResponse, err)
			return Action{}, &OktaError{Err: fmt.Errorf("revert %s: %w", id, err)}
		}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.State != StateSucceeded {
		return Action{}, &ConflictError{State: a.State, Msg: fmt.Sprintf("action %s is %s", id, a.State)}
	}
	if err := s.commit(ctx, a, func(c *Action) {
		c.State, c.RevertedAt, c.RevertedBy = StateReverted, tptr(now), by
		note := fmt.Sprintf("reverted by %s (%s, okta request %s)", by, inverse, res.RequestID)
		if dry {
			note = "reverted by " + by + " (dry run: Okta was not called)"
		}
		c.Note = strings.TrimSpace(c.Note + " " + note)
	}); err != nil {
		return Action{}, err
	}
	s.log.Info("response action reverted", "tenant", a.Tenant, "action_id", id, "by", by)
	return a.clone(), nil
}

func (s *Service) autoRevert(ctx context.Context) {
	now := s.now()
	for _, id := range s.ids(func(a *Action) bool {
		t := s.tenant(a.Tenant)
		_, ok := revertible[a.Action]
		return ok && a.State == StateSucceeded && t.cfg.RevertAfter > 0 && a.ExecutedAt != nil &&
			now.Sub(*a.ExecutedAt) >= t.cfg.RevertAfter
	}) {
		if _, err := s.Revert(ctx, id, "auto-revert (revert_after)"); err != nil {
			s.log.Warn("response action: automatic revert failed; will retry", "action_id", id, "err", err)
		}
	}
}

// protected says why the user may not be acted on ("" if it may): listed
// in protected.users, a member of a protected group, or (protected.admins)
// holding an Okta admin role. A failure to find out is an error: riskpipe
// never acts on a user it could not check.
func (s *Service) protected(ctx context.Context, t *tenant, uid, login string) (string, error) {
	p := t.cfg.Protected
	for _, u := range p.Users {
		if strings.EqualFold(u, uid) || strings.EqualFold(u, login) {
			return fmt.Sprintf("user %s is protected (protected.users)", cmp.Or(login, uid)), nil
		}
	}
	if len(p.Groups) > 0 {
		gs, err := t.okta.UserGroups(ctx, uid)
		if err != nil {
			return "", fmt.Errorf("check protected groups: %w", err)
		}
		for _, g := range gs {
			if slices.Contains(p.Groups, g.ID) {
				return fmt.Sprintf("user %s is a member of protected group %s", cmp.Or(login, uid), g.ID), nil
			}
		}
	}
	if p.Admins {
		roles, err := t.okta.AdminRoles(ctx, uid)
		if err != nil {
			return "", fmt.Errorf("check admin roles (protected.admins needs okta.roles.read): %w", err)
		}
		if len(roles) > 0 {
			return fmt.Sprintf("user %s holds Okta admin roles %v (protected.admins)", cmp.Or(login, uid), roles), nil
		}
	}
	return "", nil
}

// checkGroup refuses groups whose membership Okta does not let the API
// change (APP_GROUP, BUILT_IN: 403 even for a super admin).
func (s *Service) checkGroup(ctx context.Context, t *tenant, gid string) error {
	g, err := t.okta.Group(ctx, gid)
	if err != nil {
		return err
	}
	if g.Type != "OKTA_GROUP" {
		return fmt.Errorf("group %s (%s) is %s: Okta only lets the API change OKTA_GROUP memberships", gid, g.Profile.Name, g.Type)
	}
	return nil
}
