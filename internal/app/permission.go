package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/privilege"
)

// DefaultPermissionRecheck is how often a tenant whose credential lacks
// what reading the System Log needs is checked again.
const DefaultPermissionRecheck = time.Minute

// permissionCheckTimeout bounds the check of a rotated credential during a
// reload.
const permissionCheckTimeout = 15 * time.Second

// StatePermissionMissing is the state of a tenant that is not polled
// because its credential lacks what reading the System Log needs (its
// last_error says what to grant). A poller whose requests Okta refuses
// with 403 later is in poll.StatePermissionDenied.
const StatePermissionMissing = poll.StatePermissionMissing

// permit checks what t's credential may do before its poller starts (the
// user's roles or the token's scopes: no request to the System Log) and
// records the verdicts. While reading the System Log is proven missing it
// does not start the poller: the tenant's status says why, and the check
// is repeated every Options.PermissionRecheck until the permission is
// there (true) or ctx ends (false). Unknown verdicts start the poller: its
// own first request is the proof, and a 403 then is reported as
// permission_denied. Other tenants are not affected.
func (s *tenantSet) permit(ctx context.Context, r *tenantRunner, key string) bool {
	every := s.a.recheckEvery()
	logged := false
	for {
		// A reload may rotate the credential meanwhile (under s.mu).
		s.mu.Lock()
		t := r.cfg
		s.mu.Unlock()
		results := s.check(ctx, r, t, key)
		if ctx.Err() != nil {
			return false
		}
		s.record(r, t, results)
		var blocking *privilege.Result
		for i, res := range results {
			if res.Verdict.Blocks() && !res.CredentialRefused && res.Feature == privilege.FeatureSystemLog {
				blocking = &results[i]
			}
			if !logged && (res.Verdict == privilege.VerdictExcess || res.Verdict == privilege.VerdictMissing) {
				s.a.log.Warn("tenant credential: "+string(res.Verdict), "tenant", t.Name, "feature", res.Feature, "credential", res.Credential,
					"granted", res.Granted, "fix", res.Fix, "evidence", strings.Join(res.Evidence, "; "))
			}
		}
		logged = true
		if blocking == nil {
			if r.blocked.Swap(nil) != nil {
				s.a.log.Info("tenant's permission is back: polling", "tenant", t.Name, "permissions", permissionSummary(results))
			}
			return true
		}
		// The fix first: `riskpipe status` shortens long errors.
		st := poll.Status{Tenant: t.Name, State: StatePermissionMissing,
			LastError: fmt.Sprintf("%s (%s not started; it needs %s)", blocking.Fix, blocking.Feature, blocking.Needed)}
		if prev := r.blocked.Load(); prev != nil {
			st.ConsecutiveFailures = prev.ConsecutiveFailures
		}
		st.ConsecutiveFailures++
		st.LastPoll = time.Now()
		r.blocked.Store(&st)
		if st.ConsecutiveFailures == 1 {
			s.a.log.Warn("tenant not polled: its credential may not read the System Log; checking again periodically",
				"tenant", t.Name, "fix", blocking.Fix, "every", every)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(every):
		}
	}
}

// tenantKey is a tenant's key path in cfg ("tenants[2]").
func tenantKey(cfg *config.Config, name string) string {
	for i, t := range cfg.Tenants {
		if t.Name == name {
			return fmt.Sprintf("tenants[%d]", i)
		}
	}
	return "tenants[" + name + "]"
}

// permissionCollector is riskpipe_tenant_permission_ok{tenant,feature}:
// 1 when the tenant's credential has (or may have) what the feature needs,
// 0 when it is proven missing or Okta refuses the feature's requests with
// 403 (a role removed in Okta), read at every scrape.
type permissionCollector struct {
	s    *tenantSet
	desc *prometheus.Desc
}

func newPermissionCollector(s *tenantSet) *permissionCollector {
	return &permissionCollector{s: s, desc: prometheus.NewDesc("riskpipe_tenant_permission_ok",
		"1 when the tenant's Okta credential has what the feature needs (or Okta does not say and nothing refused it), "+
			"0 when it is missing (the feature does not run; riskpipe status says what to grant).",
		[]string{"tenant", "feature"}, nil)}
}

func (c *permissionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *permissionCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for name, r := range c.s.runners {
		p := r.perms.Load()
		if p == nil {
			continue
		}
		denied := r.poller.Status().State == poll.StatePermissionDenied
		for _, res := range *p {
			ok := !res.Verdict.Blocks() || res.CredentialRefused
			if (res.Feature == privilege.FeatureSystemLog && denied) || r.denied.get(res.Feature) != "" {
				ok = false
			}
			v := 0.0
			if ok {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, name, string(res.Feature))
		}
	}
}

// permissionSummary is one line per feature for logs: "system_log=ok".
func permissionSummary(rs []privilege.Result) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r.Feature) + "=" + string(r.Verdict)
	}
	return strings.Join(parts, " ")
}

// Permissions returns the last verdicts on every running tenant's
// credential, by tenant then feature.
func (a *App) Permissions() []privilege.Result {
	ts := a.tenantSet()
	if ts == nil {
		return nil
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []privilege.Result
	for _, r := range ts.runners {
		if p := r.perms.Load(); p != nil {
			out = append(out, *p...)
		}
	}
	slices.SortStableFunc(out, func(x, y privilege.Result) int { return strings.Compare(x.Tenant, y.Tenant) })
	return out
}

// PermissionOK reports whether tenant's credential may be used for f: false
// when the last check proved it lacks what f needs (a feature must not
// start then), or when Okta refuses the log with 403 (system_log); true
// when it has it or Okta does not say. A feature of its own (response,
// identity matching) asks this before acting.
func (a *App) PermissionOK(tenant string, f privilege.Feature) bool {
	ts := a.tenantSet()
	if ts == nil {
		return false
	}
	ts.mu.Lock()
	r := ts.runners[tenant]
	ts.mu.Unlock()
	if r == nil {
		return false
	}
	if (f == privilege.FeatureSystemLog && r.poller.Status().State == poll.StatePermissionDenied) || r.denied.get(f) != "" {
		return false
	}
	p := r.perms.Load()
	if p == nil {
		return false // not checked yet
	}
	for _, res := range *p {
		if res.Feature == f {
			return !res.Verdict.Blocks() || res.CredentialRefused
		}
	}
	return false // not enabled for the tenant
}

// recheckEvery is Options.PermissionRecheck or its default.
func (a *App) recheckEvery() time.Duration {
	if a.o.PermissionRecheck > 0 {
		return a.o.PermissionRecheck
	}
	return DefaultPermissionRecheck
}
