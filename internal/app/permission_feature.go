package app

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/riskpipe/riskpipe/internal/api"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/privilege"
	"github.com/riskpipe/riskpipe/internal/respond"
)

// VerdictDenied is a feature's verdict in status while Okta refuses its
// requests with 403 (a role or scope removed in Okta since the check).
const VerdictDenied = "permission_denied"

// denials are the features of a tenant whose requests Okta refused with
// 403 since the last check, with the reason (the fix first).
type denials struct {
	mu sync.Mutex
	m  map[privilege.Feature]string
}

func (d *denials) get(f privilege.Feature) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[f]
}

// set records a denial; it reports whether it is new.
func (d *denials) set(f privilege.Feature, why string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[privilege.Feature]string{}
	}
	_, had := d.m[f]
	d.m[f] = why
	return !had
}

// clear forgets the denial of f; it reports whether there was one.
func (d *denials) clear(f privilege.Feature) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, had := d.m[f]
	delete(d.m, f)
	return had
}

// keepOnly forgets the denials of features rs does not judge.
func (d *denials) keepOnly(rs []privilege.Result) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for f := range d.m {
		if !slices.ContainsFunc(rs, func(r privilege.Result) bool { return r.Feature == f }) {
			delete(d.m, f)
		}
	}
}

func (d *denials) any() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m) > 0
}

// tenantSet is the running tenants, nil before Run built them.
func (a *App) tenantSet() *tenantSet {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tenants
}

// runner returns the named tenant's runner and its config, nil when it
// runs none.
func (a *App) runner(tenant string) (*tenantRunner, config.Tenant) {
	ts := a.tenantSet()
	if ts == nil {
		return nil, config.Tenant{}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	r := ts.runners[tenant]
	if r == nil {
		return nil, config.Tenant{}
	}
	return r, r.cfg
}

// respondPermissions is the response service's view of the verdicts
// (respond.Permissions).
type respondPermissions struct{ a *App }

// Blocked: why tenant's credential may not be used for f now, "" when it
// may. Only a proven lack blocks (a verdict "missing" of the credential
// the feature uses — the tenant's auth, or a response.auth of its own —
// or a 403 since the last check); "unknown" does not. Until the first
// check of a running tenant has answered, nothing is done in its name
// either.
func (p respondPermissions) Blocked(tenant string, f privilege.Feature) string {
	r, _ := p.a.runner(tenant)
	if r == nil {
		return "" // not polled here (disabled): its credential is not checked
	}
	if why := r.denied.get(f); why != "" {
		return why
	}
	res := r.perms.Load()
	if res == nil {
		return "the credential's permissions are being checked"
	}
	for _, x := range *res {
		if x.Feature == f && x.Verdict.Blocks() && !x.CredentialRefused {
			return x.Fix
		}
	}
	return ""
}

// Denied records that Okta refused a request of f with 403; the periodic
// check clears it once the credential making f's requests (the tenant's
// auth, or a response.auth of its own) has, or may have, the permission
// again. A request for a tenant not polled here is not held (false): the
// action fails as Okta said.
func (p respondPermissions) Denied(tenant string, f privilege.Feature, err error) bool {
	r, t := p.a.runner(tenant)
	if r == nil {
		return false
	}
	judged := t // the tenant as the credential making f's requests sees it
	if !slices.Contains(privilege.Features(t), f) {
		rt, _, fs, ok := privilege.ResponseCredential(t, "")
		if !ok || !slices.Contains(fs, f) {
			return false
		}
		judged = rt
	}
	if r.denied.set(f, privilege.DeniedFix(judged, f)+": "+err.Error()) {
		p.a.log.Warn("Okta refuses the tenant's credential with 403: feature held back until the permission returns",
			"tenant", tenant, "feature", f, "err", err)
	}
	return true
}

var _ respond.Permissions = respondPermissions{}

// recheck checks the tenant's credential again every interval while one
// of its features lacks what it needs (verdict missing) or was refused
// with 403: the features recover by themselves when the permission
// returns. It returns when ctx ends.
func (s *tenantSet) recheck(ctx context.Context, r *tenantRunner, key string, every time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		if !r.lacking() {
			continue
		}
		s.mu.Lock()
		t := r.cfg
		s.mu.Unlock()
		results := s.check(ctx, r, t, key)
		if ctx.Err() != nil {
			return
		}
		s.record(r, t, results)
		s.a.wakeRespond()
	}
}

// check judges every credential of t for what it is used for: its auth,
// and a response.auth of its own.
func (s *tenantSet) check(ctx context.Context, r *tenantRunner, t config.Tenant, key string) []privilege.Result {
	results := privilege.Check(ctx, t, key, privilege.Features(t), r.src.current(), privilege.Options{})
	return append(results, s.responsePermissions(ctx, t, key)...)
}

// record makes results r's verdicts and forgets the 403 denials they no
// longer support: of features no longer enabled, and of features granted
// again or of which Okta does not say (the next request is the proof; a
// 403 marks it denied again).
func (s *tenantSet) record(r *tenantRunner, t config.Tenant, results []privilege.Result) {
	r.perms.Store(&results)
	r.denied.keepOnly(results)
	for _, x := range results {
		if x.Verdict.Blocks() && !x.CredentialRefused {
			continue
		}
		if r.denied.clear(x.Feature) {
			s.a.log.Info("tenant's permission may be back: feature resumes", "tenant", t.Name, "feature", x.Feature,
				"verdict", x.Verdict)
		}
	}
}

// wakeRespond has the response service sweep now: approved actions that
// waited for a permission run at once when it is back.
func (a *App) wakeRespond() {
	a.mu.Lock()
	rs := a.respond
	a.mu.Unlock()
	if rs != nil {
		rs.Wake()
	}
}

// lacking reports whether a feature of r is held back.
func (r *tenantRunner) lacking() bool {
	if r.denied.any() {
		return true
	}
	if p := r.perms.Load(); p != nil {
		for _, x := range *p {
			if x.Verdict.Blocks() && !x.CredentialRefused {
				return true
			}
		}
	}
	return false
}

// featureStatus is the verdict on each feature of r's credential as status
// shows it.
func (r *tenantRunner) featureStatus(t config.Tenant) []api.FeaturePermission {
	p := r.perms.Load()
	if p == nil {
		return nil
	}
	denied := r.poller.Status().State == poll.StatePermissionDenied
	out := make([]api.FeaturePermission, 0, len(*p))
	for _, x := range *p {
		fp := api.FeaturePermission{Feature: string(x.Feature), Verdict: string(x.Verdict), OK: true,
			Needed: x.Needed, Granted: x.Granted, Reason: x.Fix}
		if x.Verdict.Blocks() && !x.CredentialRefused {
			fp.OK = false
		}
		why := r.denied.get(x.Feature)
		if x.Feature == privilege.FeatureSystemLog && denied {
			why = privilege.DeniedFix(t, x.Feature) + ": " + r.poller.Status().LastError
		}
		if why != "" {
			fp.Verdict, fp.OK, fp.Reason = VerdictDenied, false, why
		}
		out = append(out, fp)
	}
	return out
}

// FeaturePermissions returns the verdict on every feature of each running
// tenant's credential, by tenant (GET /api/v1/orgs, GET /-/permissions).
func (a *App) FeaturePermissions() map[string][]api.FeaturePermission {
	ts := a.tenantSet()
	if ts == nil {
		return nil
	}
	ts.mu.Lock()
	runners := make(map[string]*tenantRunner, len(ts.runners))
	cfgs := make(map[string]config.Tenant, len(ts.runners))
	for n, r := range ts.runners {
		runners[n], cfgs[n] = r, r.cfg
	}
	ts.mu.Unlock()
	out := make(map[string][]api.FeaturePermission, len(runners))
	for n, r := range runners {
		if fs := r.featureStatus(cfgs[n]); fs != nil {
			out[n] = fs
		}
	}
	return out
}

// servePermissions is GET /-/permissions on the HTTP listener, for
// `riskpipe status`: each tenant's features, verdicts and reasons (not
// what the credential was granted: that is in the authenticated GET
// /api/v1/orgs).
func (a *App) servePermissions(w http.ResponseWriter, _ *http.Request) {
	all := a.FeaturePermissions()
	for _, fs := range all {
		for i := range fs {
			fs[i].Granted = ""
		}
	}
	if all == nil {
		all = map[string][]api.FeaturePermission{}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(all)
}
