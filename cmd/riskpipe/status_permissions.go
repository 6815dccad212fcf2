package main

import (
	"context"
	"fmt"
	"io"

	"github.com/riskpipe/riskpipe/internal/api"
	"github.com/riskpipe/riskpipe/internal/config"
)

// readPermissions asks the riskpipe run serving cfg's http.listen for the
// verdict on each feature of every tenant's credential (GET
// /-/permissions) and sets them on rep's orgs; nothing when none answers.
func readPermissions(ctx context.Context, cfg *config.Config, rep *statusReport) {
	var perms map[string][]api.FeaturePermission
	if !readRunning(ctx, cfg, "/-/permissions", &perms) {
		return
	}
	for i := range rep.Orgs {
		rep.Orgs[i].Permissions = perms[rep.Orgs[i].Tenant]
	}
}

// printFeatureStatus prints, after the table, every feature that does not
// run for want of a permission, and the warnings (excess, unknown), with
// the reason and the fix.
func printFeatureStatus(w io.Writer, rep statusReport) {
	first := true
	for _, o := range rep.Orgs {
		for _, p := range o.Permissions {
			if p.OK && p.Reason == "" {
				continue
			}
			if first {
				fmt.Fprintln(w, "\npermissions (riskpipe check --config F tells more):")
				first = false
			}
			what := "runs"
			if !p.OK {
				what = "HELD BACK"
			}
			fmt.Fprintf(w, "  %s %s: %s, %s: %s\n", o.Tenant, p.Feature, p.Verdict, what, p.Reason)
		}
	}
}
