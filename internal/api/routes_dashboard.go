package api

import "net/http"

// dashboardAPIRoutes are the endpoints the dashboard added: user search,
// an org's health history and attacks, and the one-time sign-in.
func (a *API) dashboardAPIRoutes() []route {
	rangeParams := []param{
		{name: "from", in: "query", typ: "date-time", description: "Start (RFC 3339 or Unix seconds). Default: to minus 7 days."},
		{name: "to", in: "query", typ: "date-time", description: "Exclusive end. Default: now."},
	}
	return []route{
		{method: "GET", pattern: "/api/v1/users/search", auth: true, handler: a.handle(a.searchUsers), doc: opDoc{
			id: "searchUsers", summary: "Users of the orgs named (default all the token may read) whose Okta user id, login or display name contains q.",
			description: "Case-insensitive. Exact matches come first, then prefixes, then substrings; within each, id before " +
				"login before name, then by login. Ids and logins are those of every user riskpipe has seen in an org (org_users) " +
				"and of the users with an attack factor; the name is the actor displayName of the user's kept events of the " +
				"last 30 days, searched for q of 3 characters or more (it reads those events' raw JSON), unless limit ids or " +
				"logins match exactly or at the start (they rank first anyway). Each match carries " +
				"the user's current attack factor, if any, as GET /api/v1/users shows it: score, percentile and level as of " +
				"the request (decayed from updated_at, ranked in the org now: docs/attack-factor.md).",
			params: []param{orgsParam,
				{name: "q", in: "query", typ: "string", required: true, description: "1 to 200 characters of a login, display name or user id."},
				limitParam(20, 100),
			},
			response: UserSearch{},
		}},
		{method: "GET", pattern: "/api/v1/orgs/{org}/health", auth: true, handler: a.handle(a.orgHealth), doc: opDoc{
			id: "getOrgHealth", summary: "An org's poller health per UTC hour or day: kept events, their lag and dead letters.",
			description: "Lag is how long after Okta published an event riskpipe stored it (each event once, at its first " +
				"landing; events whose published time Okta did not give are left out). Dead letters are the input the poller " +
				"could not use, by when it was received. Every bucket of the range is present. Read from ClickHouse, so the " +
				"history spans restarts; the current state and error are in GET /api/v1/orgs. polls are the poller's own " +
				"health in 5-minute windows (samples, failing samples, most consecutive failures, worst state, last error), " +
				"kept in memory by the running process for 24 hours.",
			params: append([]param{orgPathParam}, append(rangeParams,
				param{name: "step", in: "query", typ: "string", enum: []string{"hour", "day"}, def: "hour", description: "Bucket size."})...),
			response: HealthHistory{},
		}},
		{method: "GET", pattern: "/api/v1/orgs/{org}/attacks", auth: true, handler: a.handle(a.orgAttacks), doc: opDoc{
			id: "listOrgAttacks", summary: "The periods ThreatInsight saw the org under attack (security.attack.start to security.attack.end), oldest first.",
			description: "start is null for an attack that began before from; end is null while it goes on. A repeated " +
				"start during an attack does not open another one.",
			params:   append([]param{orgPathParam}, rangeParams...),
			response: Attacks{},
		}},
		{method: "POST", pattern: "/api/v1/sign-in", handler: http.HandlerFunc(a.signIn), doc: opDoc{
			id: "signIn", summary: "Exchange a one-time sign-in code (printed by riskpipe demo) for its API token (no token needed).",
			description: "A code is valid once, for minutes; every unknown, used or expired code gets the same 401. The " +
				"dashboard keeps the token in the tab's sessionStorage, so a link with a code leaves no token in the browser's history.",
			request:  SignInRequest{},
			response: SignInAnswer{},
			errors:   map[int]string{http.StatusUnauthorized: "Unknown, used or expired code."},
		}},
	}
}
