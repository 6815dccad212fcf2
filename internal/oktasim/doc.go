// Package oktasim simulates the Okta System Log API faithfully enough for
// riskpipe's tests (over real sockets), `riskpipe simulate`, `riskpipe demo`
// and anyone's curl.
//
// One [Server] serves any number of orgs from one listener, each under a
// path prefix: the base URL of org "acme" is http://HOST:PORT/o/acme, so
// the System Log is GET /o/acme/api/v1/logs and the org authorization
// server's token endpoint is POST /o/acme/oauth2/v1/token.
//
// # Event log
//
// An org's log is a sequence of segments (a steady rate, a backlog persisted
// at one instant, injected raw events). Generated events are produced on
// demand by the org's [Source] from their index, never stored, so an org can
// hold millions of events in a few kilobytes. An event is visible once its
// persisted time is at or before the simulator's clock ([Options].Now).
//
// # /api/v1/logs
//
// Polling requests (no until, ASCENDING) are ordered by persistence (index
// order), compare since with the persisted time, and always carry a
// rel="next" Link with an opaque after cursor; with nothing new, next
// repeats the same position. Bounded requests (any other: until given, or
// DESCENDING) are filtered and ordered by published (since inclusive, until
// exclusive) and end with a page without next; they scan the log, so they
// are for tests and demos rather than million-event benchmarks. Limits,
// 90-day retention, the 180-day since check, SCIM filters (see filter.go)
// and q keywords follow Okta, with Okta-shaped error bodies.
//
// okta-sdk-golang v2 follows next links by appending the link's path to its
// org URL; /o/acme/o/acme/... is therefore served as /o/acme/....
//
// # Auth, rate limits, faults
//
// Per org: SSWS API tokens; OAuth client credentials with client_secret or
// private_key_jwt, optionally DPoP-bound (nonce handshake at the token
// endpoint and at the resource); per-minute buckets per org and per
// principal with X-Rate-Limit-* headers; an in-flight limit; and faults on
// demand ([Org.SetFault], or POST /_sim/orgs/{org}/faults). For tests that
// need something to happen at a certain request, [Org.HoldRequest] keeps
// one /api/v1/logs request waiting until the test releases it (in
// process only).
//
// # Admin roles and scopes (principal.go)
//
// Each API token has the admin user who created it ([TokenOwner]: its
// roles; Tokens are Super Administrators') and each service app its
// admin roles and granted scopes. The System Log answers 403 E0000006 to
// a principal without a role that may read it (Super, Organization,
// Read-only or Report Administrator); changing users and group
// memberships answers it to one that is not a Super or Organization
// Administrator. GET /api/v1/users/me names a
// token's user; GET /api/v1/users/{id}/roles and GET
// /oauth2/v1/clients/{id}/roles list roles for Super Administrators only
// (OAuth: with okta.roles.read), as Okta's role matrix makes listing
// administrators theirs. The token endpoint grants only granted scopes
// (400 invalid_scope). [Org.SetTokenRoles], [Org.SetClientRoles],
// [Org.SetClientScopes], [Org.AddToken] and [Org.RevokeToken] change them
// while the org runs.
//
// # Control API
//
// Under /_sim/ (no auth; it is a simulator):
//
//	GET    /_sim/healthz                   200 "ok"
//	GET    /_sim/orgs                      ["acme", ...]
//	GET    /_sim/orgs/{org}/stats          Stats as JSON
//	POST   /_sim/orgs/{org}/faults         a Fault as JSON: {"kind":"slow","count":2,"delay":"1s"}
//	DELETE /_sim/orgs/{org}/faults         clear all faults
//	POST   /_sim/orgs/{org}/backlog        {"count":100000}
//	POST   /_sim/orgs/{org}/rate           {"events_per_second":50}
//	POST   /_sim/orgs/{org}/events         a JSON array of raw events to inject
//	POST   /_sim/orgs/{org}/expire-tokens  expire every issued access token
//	GET    /_sim/orgs/{org}/truth?since=T  [{"id":..,"published":..,"persisted":..}, ...]
//	POST   /_sim/orgs/{org}/holds          a Hold: {"request":"write","stage":"after_apply"}
//	GET    /_sim/orgs/{org}/holds          the armed holds: [{"request":..,"Held":true,..}]
//	DELETE /_sim/orgs/{org}/holds          release every held request, disarm every hold
//
// The package starts no goroutines: nonces rotate with the clock and
// buckets roll over lazily.
package oktasim
