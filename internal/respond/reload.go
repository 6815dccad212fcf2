package respond

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
)

// What a reload (Apply) does to response actions, tenant by tenant (the
// tenants whose response settings, write credential, base_url and
// request_timeout are the same are not touched at all):
//
//   - New settings take effect between two sweeps (Apply waits for a sweep
//     in progress), so one action never runs half under the old settings.
//     The hourly budget, protected users and groups, four_eyes,
//     revert_after, verify_within and forget_devices are read when they
//     are used: they apply to the actions already open too. approval_ttl
//     applies to new proposals (an open one keeps the expiry it was
//     given). Changed rules run from where the old ones stopped: the next
//     matching row proposes per the new rules, rows already seen are not
//     proposed again. A rule removed leaves its open proposals open.
//   - A changed write credential (response.auth, or the tenant's auth when
//     response.auth is not set), base_url or request_timeout: the next Okta
//     call uses a new client.
//   - mode off: nothing reaches Okta any more. Open proposals stay (they
//     can be rejected, and expire as usual) but cannot be approved while
//     the mode is off; approved actions not yet started fail ("response
//     actions were turned off") at the next sweep; an action found
//     executing is failed without reading Okta (its error says that
//     whether the call took effect is not known). Turning the mode on
//     again makes the open proposals approvable again.
//   - mode dry_run: an approved action not yet started runs as a dry run
//     (recorded, Okta not called); a proposal made in dry_run stays a dry
//     run whatever the mode later.
//   - A tenant added gets its actions (those of an earlier life of the same
//     name) loaded from ClickHouse and its rules look back one hour, as at
//     a start; a tenant removed has its actions dropped from memory (they
//     stay in response_actions; nothing of it executes) and its Okta
//     client closed.

// tenant returns the named tenant's settings (nil: unknown).
func (s *Service) tenant(name string) *tenant { return (*s.tenants.Load())[name] }

// tenantMap is every tenant (read-only: Apply replaces the map).
func (s *Service) tenantMap() map[string]*tenant { return *s.tenants.Load() }

// newTenant builds a tenant's settings and, unless response is off, its
// Okta client.
func (s *Service) newTenant(t config.Tenant) (*tenant, error) {
	tn := &tenant{name: t.Name, cfg: t.Response, src: t}
	if t.Response.Enabled() {
		o, err := s.s.NewOkta(t)
		if err != nil {
			return nil, fmt.Errorf("respond: tenant %s: %w", t.Name, err)
		}
		tn.okta = o
	}
	return tn, nil
}

// sameClient reports whether a and b reach Okta the same way (the writer's
// base_url, credential and timeout).
func sameClient(a, b config.Tenant) bool {
	return a.BaseURL == b.BaseURL && a.Poll.RequestTimeout == b.Poll.RequestTimeout && config.SameAuth(a.WriteAuth(), b.WriteAuth())
}

// sameResponse reports whether two tenants' response settings are equal
// (a credential compared as config.Compare does).
func sameResponse(a, b config.Tenant) bool {
	ra, rb := a.Response, b.Response
	ra.Auth, rb.Auth = nil, nil
	return reflect.DeepEqual(ra, rb) && sameClient(a, b)
}

// Apply makes tenants (the whole list of the new configuration, as
// Settings.Tenants) the Service's tenants, by difference; see above. It
// returns the names of the tenants whose response settings changed, in
// the order of tenants, then the removed ones. On an error (an Okta client
// that cannot be built, ClickHouse unreadable for an added tenant) nothing
// is changed.
func (s *Service) Apply(ctx context.Context, tenants []config.Tenant) ([]string, error) {
	s.sweepMu.Lock() // between two sweeps
	defer s.sweepMu.Unlock()
	cur := s.tenantMap()
	next := make(map[string]*tenant, len(tenants))
	var changed, added []string
	for _, t := range tenants {
		old := cur[t.Name]
		if old != nil && sameResponse(old.src, t) {
			next[t.Name] = old
			continue
		}
		tn := &tenant{name: t.Name, cfg: t.Response, src: t}
		switch {
		case !t.Response.Enabled():
		case old != nil && old.okta != nil && sameClient(old.src, t):
			tn.okta = old.okta
		default:
			var err error
			if tn, err = s.newTenant(t); err != nil {
				return nil, err
			}
		}
		next[t.Name] = tn
		changed = append(changed, t.Name)
		if old == nil {
			added = append(added, t.Name)
		}
	}
	var removed []string
	for name := range cur {
		if next[name] == nil {
			removed = append(removed, name)
		}
	}
	slices.Sort(removed)
	changed = append(changed, removed...)
	if len(changed) == 0 {
		return nil, nil
	}

	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	var loaded []*Action
	if started && len(added) > 0 {
		var err error
		if loaded, err = s.audit.load(ctx, added); err != nil {
			return nil, fmt.Errorf("respond: load the actions of %v: %w", added, err)
		}
	}

	now := s.now()
	var retired []Okta
	var checks []*tenant
	s.mu.Lock()
	for name, tn := range next {
		old := cur[name]
		if old == tn {
			continue
		}
		switch {
		case old == nil:
			tn.watermark = now.Add(-time.Hour) // as at a start
			for _, a := range loaded {
				if a.Tenant == name && a.CreatedAt.After(tn.watermark) && s.isRule(tn, a.ProposedBy) {
					tn.watermark = a.CreatedAt
				}
			}
			s.metrics.initTenant(name)
		default:
			tn.watermark, tn.exhausted = old.watermark, old.exhausted
			if !rulesRan(old) && rulesRan(tn) {
				// The rules start now: they look back one hour, as at a
				// start, not over everything since they last ran.
				tn.watermark = latest(tn.watermark, now.Add(-time.Hour))
			}
			if old.okta != nil && old.okta != tn.okta {
				retired = append(retired, old.okta)
			}
		}
		if tn.okta != nil && tn.cfg.RestrictedGroupID != "" && (old == nil || old.cfg.RestrictedGroupID != tn.cfg.RestrictedGroupID || old.okta != tn.okta) {
			checks = append(checks, tn)
		}
	}
	for _, a := range loaded {
		s.actions[a.ID] = a
		s.version = max(s.version, a.Version)
		if a.State.Open() {
			s.open[keyOf(a)] = a.ID
		}
	}
	for _, name := range removed {
		for id, a := range s.actions {
			if a.Tenant == name {
				delete(s.actions, id)
			}
		}
		for k := range s.open {
			if k.tenant == name {
				delete(s.open, k)
			}
		}
		if o := cur[name].okta; o != nil {
			retired = append(retired, o)
		}
		s.metrics.pending.DeleteLabelValues(name)
		s.metrics.exhausted.DeleteLabelValues(name)
	}
	s.tenants.Store(&next)
	s.updatePending()
	s.mu.Unlock()

	for _, o := range retired {
		if c, ok := o.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
	for _, t := range checks {
		if err := s.checkGroup(ctx, t, t.cfg.RestrictedGroupID); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("restricted group unusable: add_to_group will fail", "tenant", t.name,
				"group", t.cfg.RestrictedGroupID, "err", err)
		}
	}
	s.log.Info("response settings applied", "changed", changed, "added", added, "removed", removed)
	s.wake()
	return changed, nil
}

// rulesRan reports whether the sweep runs the tenant's rules.
func rulesRan(t *tenant) bool { return t.okta != nil && len(t.cfg.Rules) > 0 }

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// offReason is why an action of a tenant whose mode is off is not run.
const offReason = "response actions were turned off for the org (tenants[].response.mode: off)"
