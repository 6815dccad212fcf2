package app

import (
	"context"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/privilege"
)

// responsePermissions judges a tenant's tenants[].response.auth, when it
// has one, for what response actions use it for (identity matching, and
// the actions themselves in approve and auto mode), without probes as the
// tenant's own check: the response service's requests are the proof at
// run time. The verdicts never hold the poller back (its own credential
// is judged separately).
func (s *tenantSet) responsePermissions(ctx context.Context, t config.Tenant, key string) []privilege.Result {
	rt, rkey, features, ok := privilege.ResponseCredential(t, key)
	if !ok {
		return nil
	}
	c, err := NewOktaClient(rt, s.a.o.Version, s.a.log, nil, nil)
	if err != nil {
		out := make([]privilege.Result, len(features))
		for i, f := range features {
			out[i] = privilege.Result{Tenant: t.Name, Feature: f, Credential: privilege.CredentialResponse,
				Verdict: privilege.VerdictUnknown, Granted: "unknown: " + err.Error()}
		}
		return out
	}
	defer c.CloseIdleConnections()
	return privilege.Check(ctx, rt, rkey, features, c, privilege.Options{Response: true})
}
