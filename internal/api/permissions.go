package api

// FeaturePermission is the verdict on one feature of an org's Okta
// credential (what riskpipe run checked at the start, at reloads and
// periodically while a feature lacks something).
type FeaturePermission struct {
	// Feature: system_log, identity_matching or response.
	Feature string `json:"feature"`
	// Verdict: ok, excess, unknown, missing (the feature does not run), or
	// permission_denied (Okta refused its requests with 403 since the
	// last check; it resumes by itself when the permission returns).
	Verdict string `json:"verdict"`
	// OK: the feature runs (riskpipe_tenant_permission_ok).
	OK      bool   `json:"ok"`
	Needed  string `json:"needed,omitempty"`
	Granted string `json:"granted,omitempty"`
	// Reason is why it does not run, or the warning, with the fix.
	Reason string `json:"reason,omitempty"`
}
