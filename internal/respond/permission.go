package respond

import (
	"cmp"
	"context"
	"errors"

	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/privilege"
)

// Permissions is the least-privilege verdict on a tenant's credential, as
// riskpipe run keeps it (internal/app): it is asked before every Okta
// write and users search, and told of every 403.
//
//   - While the response feature is proven lacking (a verdict "missing",
//     or Okta refused a change with 403 since the last check), approved
//     actions are not executed: they stay approved, their Waiting says
//     why, and they run once the permission is back. Proposals are still
//     recorded and may be approved.
//   - While identity_matching is lacking, the Okta users search is not
//     called: candidates come from org_users only, and a proposal's note
//     says so.
//   - "unknown" verdicts (Okta does not let riskpipe find out) do not
//     block: the request itself is the proof, and a 403 is reported
//     through Denied, which blocks the feature until the next periodic
//     check finds it granted (or unknown) again.
type Permissions interface {
	// Blocked returns why the tenant's credential may not be used for f
	// now, "" when it may.
	Blocked(tenant string, f privilege.Feature) string
	// Denied records that Okta refused a request of f with 403. It
	// reports whether f is now held back until the permission returns
	// (false: the credential is not judged, e.g. the tenant is not polled
	// here; the request then fails as any refused request does).
	Denied(tenant string, f privilege.Feature, err error) bool
}

// blocked asks the Permissions, if any.
func (s *Service) blocked(tenant string, f privilege.Feature) string {
	if s.s.Permissions == nil {
		return ""
	}
	return s.s.Permissions.Blocked(tenant, f)
}

// denied tells the Permissions of a 403 refusing err's request, and
// reports whether the feature is held back for it (the request is then
// made again when the permission returns, instead of failing).
func (s *Service) denied(tenant string, f privilege.Feature, err error) bool {
	if !forbidden(err) || s.s.Permissions == nil {
		return false
	}
	return s.s.Permissions.Denied(tenant, f, err)
}

// forbidden: Okta refused the request with 403 for want of a permission
// (E0000006, or an access token without the scope). A 403 for a group
// whose membership the API may not change never gets here: checkGroup
// refuses those groups before any call.
func forbidden(err error) bool {
	if err == nil {
		return false
	}
	if ae, ok := errors.AsType[*okta.AccessError](err); ok {
		return ae.Code == "" || ae.Code == "E0000006"
	}
	return okta.IsForbidden(err)
}

// waitFor sets (or, with why "", clears) the reason an approved or
// executing action is not executed now. It is not stored: it is the
// state of the credential, not of the action. s.mu must be held.
func (s *Service) waitFor(a *Action, why string) {
	if a.Waiting == why {
		return
	}
	a.Waiting = why
	if why != "" {
		s.log.Warn("response action waits: the credential lacks a permission", "tenant", a.Tenant, "action_id", a.ID,
			"reason", why)
	}
}

// gate reports whether a's tenant may make Okta changes now; when not, a
// waits with the reason. Dry runs never call Okta and are not held.
func (s *Service) gate(a *Action) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.DryRun {
		s.waitFor(a, "")
		return true
	}
	why := s.blocked(a.Tenant, privilege.FeatureResponse)
	if why != "" {
		why = "not executed while the credential lacks what response actions need: " + why
	}
	s.waitFor(a, why)
	return why == ""
}

// deniedWrite handles a 403 from an Okta change of the executing action a:
// the feature is reported denied and a stays executing with the error
// recorded, to be reconciled (Okta's state read first) and called again
// once the permission is back. s.mu must be held.
func (s *Service) deniedWrite(ctx context.Context, a *Action, err error) bool {
	if !s.denied(a.Tenant, privilege.FeatureResponse, err) {
		return false
	}
	s.waitFor(a, "not executed while the credential lacks what response actions need: "+
		cmp.Or(s.blocked(a.Tenant, privilege.FeatureResponse), err.Error()))
	if cerr := s.commit(ctx, a, func(c *Action) {
		// A call Okta refused for want of a permission is not an attempt:
		// it is made again once the permission is back.
		c.Error, c.Attempts = err.Error(), max(c.Attempts-1, 0)
	}); cerr != nil {
		s.log.Warn("response action: cannot record", "action_id", a.ID, "err", cerr)
	}
	return true
}

// searchNote is a proposal's note when the Okta users search was not
// called.
func searchNote(why string) string {
	if why == "" {
		return ""
	}
	return "candidates from org_users only: the Okta users search was not called (" + why + ")"
}

// Wake makes Run sweep now (e.g. when a permission is back).
func (s *Service) Wake() { s.wake() }
