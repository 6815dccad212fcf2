package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/api"
	"github.com/riskpipe/riskpipe/internal/config"
)

// riskpipe status asks the running riskpipe for each feature's verdict
// and prints the features held back with the reason; nothing when none
// answers.
func TestStatusPermissions(t *testing.T) {
	perms := map[string][]api.FeaturePermission{"acme": {
		{Feature: "system_log", Verdict: "ok", OK: true},
		{Feature: "identity_matching", Verdict: "unknown", OK: true, Reason: "Okta does not say"},
		{Feature: "response", Verdict: "permission_denied", OK: false, Reason: "Okta refuses this API token with 403"},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/-/permissions" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(perms)
	}))
	defer srv.Close()
	cfg := config.Default()
	cfg.HTTP.Listen = strings.TrimPrefix(srv.URL, "http://")
	rep := statusReport{Orgs: []orgStatus{{Org: api.Org{Tenant: "acme"}}, {Org: api.Org{Tenant: "other"}}}}
	readPermissions(t.Context(), &cfg, &rep)
	require.Equal(t, perms["acme"], rep.Orgs[0].Permissions)
	require.Empty(t, rep.Orgs[1].Permissions)

	var out bytes.Buffer
	printFeatureStatus(&out, rep)
	require.Contains(t, out.String(), "acme response: permission_denied, HELD BACK: Okta refuses this API token with 403")
	require.Contains(t, out.String(), "acme identity_matching: unknown, runs: Okta does not say")
	require.NotContains(t, out.String(), "system_log")

	srv.Close()
	rep = statusReport{Orgs: []orgStatus{{Org: api.Org{Tenant: "acme"}}}}
	readPermissions(t.Context(), &cfg, &rep)
	require.Empty(t, rep.Orgs[0].Permissions, "no riskpipe run answers")
	out.Reset()
	printFeatureStatus(&out, rep)
	require.Empty(t, out.String())
}
