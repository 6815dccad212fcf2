// Package api serves riskpipe's read side over HTTP: the JSON API under
// /api/v1/ for downstream scoring jobs, and the analysts' dashboard at /
// (plain JavaScript modules and an embedded Chart.js, so it works without
// internet access and needs no build step).
//
// Every data endpoint needs a bearer token from the configuration (api.tokens);
// a token reads only the tenants it lists, and every query carries that list
// (tenant IN (...)), so a token for org A can never read org B, also not
// through the all-orgs views or the change feed. /api/v1/openapi.json, the
// dashboard's static files and the app's health endpoints need no token.
//
// Every query runs on ClickHouse 18.16 and current versions: client-side ?
// arguments, FINAL or argMax for deduplication, no window functions, no
// JSON functions. docs/data-contract.md lists the tables and columns.
package api
