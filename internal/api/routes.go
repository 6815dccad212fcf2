package api

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/event"
)

// route is one endpoint: how it is served and how openapi.json documents it.
type route struct {
	method, pattern string
	auth            bool        // needs a bearer token
	role            config.Role // the role the token needs; default read
	handler         http.Handler
	doc             opDoc
}

// opDoc documents an operation.
type opDoc struct {
	id, summary, description string
	params                   []param
	request                  any            // a value of the JSON body's type; nil: none
	errors                   map[int]string // further error answers: status -> description
	response                 any            // a value of the 200 answer's type
	// statuses are further answers by status: 2xx carry the response's
	// type, 409 the current state, others an error body.
	statuses map[int]string
	// statusDocs documents further answers: status → description, with
	// the error body unless statusTypes gives the status another type.
	statusDocs  map[string]string
	statusTypes map[string]any
}

type param struct {
	name, in, typ, description string // in: path | query; typ: string | integer | boolean | date-time
	required, repeated         bool
	enum                       []string
	def                        any
}

var (
	orgPathParam = param{name: "org", in: "path", typ: "string", required: true, description: "Tenant name (config tenants[].name)."}
	orgsParam    = param{name: "org", in: "query", typ: "string", repeated: true,
		description: "Orgs to include (repeat, or comma-separate). Default: every org the token may read. Naming an org the token may not read is 403."}
	limitParam = func(def, hi int) param {
		return param{name: "limit", in: "query", typ: "integer", def: def, description: "Rows per page, at most " + strconv.Itoa(hi) + "."}
	}
)

func (a *API) routes() []route {
	return append([]route{
		{method: "GET", pattern: "/api/v1/openapi.json", handler: http.HandlerFunc(a.serveOpenAPI), doc: opDoc{
			id: "openapi", summary: "This OpenAPI document (no token needed).",
		}},
		{method: "GET", pattern: "/api/v1/orgs", auth: true, handler: a.handle(a.listOrgs), doc: opDoc{
			id: "listOrgs", summary: "The orgs the token may read, with their pollers' health.",
			description: "An org is stalled when its poller has received no event for longer than api.stall_after " +
				"(since the last event, the integration time or riskpipe's start, whichever is latest).",
			response: OrgList{},
		}},
		{method: "GET", pattern: "/api/v1/users", auth: true, handler: a.handle(a.topUsers), doc: opDoc{
			id: "listUsers", summary: "The users with an attack factor in the orgs named (default all the token may read), most attacked first.",
			description: "Paged with limit and offset; ties are broken by (tenant, user_id), so pages of an unchanged table " +
				"neither overlap nor leave gaps. total counts every user of these orgs with a factor. score, percentile " +
				"and level are as of the request (decayed from updated_at, ranked in the org now: docs/attack-factor.md).",
			params: []param{orgsParam,
				{name: "sort", in: "query", typ: "string", enum: sortKeys, def: "score", description: "Sort key."},
				{name: "order", in: "query", typ: "string", enum: []string{"desc", "asc"}, def: "desc", description: "Sort order."},
				limitParam(50, 500),
				{name: "offset", in: "query", typ: "integer", def: 0, description: "Users to skip."},
				{name: "history", in: "query", typ: "integer", def: 30, description: "Newest scores per user in history (0 to 500)."},
			},
			response: UserPage{},
		}},
		{method: "GET", pattern: "/api/v1/orgs/{org}/users/{user_id}", auth: true, handler: a.handle(a.getUser), doc: opDoc{
			id: "getUser", summary: "One user's current attack factor with its explanation, its history, signal counts and recent kept events.",
			params: []param{orgPathParam,
				{name: "user_id", in: "path", typ: "string", required: true, description: "Okta user id (the login for users whose events carry none)."},
				{name: "events", in: "query", typ: "integer", def: 100, description: "Newest kept events to include (0 to 1000)."},
			},
			response: UserDetail{},
		}},
		{method: "GET", pattern: "/api/v1/factor-updates", auth: true, handler: a.handle(a.factorFeed), doc: opDoc{
			id: "listFactorUpdates", summary: "The change feed of attack-factor updates after a cursor, oldest first.",
			description: "Ordered by the order rows were written (the writer's version), then tenant, user_id and " +
				"cause_event_id. Start with ?since= (or nothing: from the beginning), then always pass the answer's next " +
				"as ?after=: it is never empty, so a job stores it and resumes exactly where it stopped, also across " +
				"restarts: a row written later sorts after every row visible before, whatever its updated_at, so none " +
				"is skipped and none repeated. Only a write that ClickHouse half-accepted and riskpipe retried can " +
				"deliver an identical row (same tenant, user_id, updated_at, cause_event_id) twice: use that as the " +
				"idempotency key. more is true when another page is ready at once.",
			params: []param{orgsParam,
				{name: "after", in: "query", typ: "string", description: "Cursor: the next of the previous answer."},
				{name: "since", in: "query", typ: "date-time", description: "Without after: start with the rows written at or after this time (RFC 3339 or Unix seconds)."},
				limitParam(500, 5000),
			},
			response: FactorFeed{},
		}},
		{method: "GET", pattern: "/api/v1/activity", auth: true, handler: a.handle(a.activity), doc: opDoc{
			id: "getActivity", summary: "Kept risk events per hour or day and category, over the orgs named (default all the token may read).",
			description: "Buckets are UTC hours or days by published; each event counts once. Every bucket of the range is present.",
			params: []param{orgsParam,
				{name: "from", in: "query", typ: "date-time", description: "Start (RFC 3339 or Unix seconds), rounded down to the step. Default: to minus 7 days."},
				{name: "to", in: "query", typ: "date-time", description: "Exclusive end. Default: now."},
				{name: "step", in: "query", typ: "string", enum: []string{"hour", "day"}, def: "hour", description: "Bucket size."},
			},
			response: Activity{},
		}},
		{method: "GET", pattern: "/api/v1/orgs/{org}/events", auth: true, handler: a.handle(a.listEvents), doc: opDoc{
			id: "listEvents", summary: "An org's kept events in a time range, oldest first, paged with a cursor.",
			description: "Ordered by (published to the millisecond, event_id). Pass the answer's next as ?after= " +
				"(with the same filters) for the following page; next is empty on the last page. Each event appears once " +
				"(risk_events is read with FINAL).",
			params: []param{orgPathParam,
				{name: "from", in: "query", typ: "date-time", description: "Inclusive start (RFC 3339 or Unix seconds) of published. Default: to minus 24h."},
				{name: "to", in: "query", typ: "date-time", description: "Exclusive end of published. Default: now."},
				{name: "category", in: "query", typ: "string", repeated: true, enum: categories,
					description: "Only these categories (repeat, or comma-separate)."},
				{name: "user_id", in: "query", typ: "string", description: "Only events concerning this Okta user id."},
				{name: "raw", in: "query", typ: "boolean", def: false, description: "Include each event's raw JSON."},
				limitParam(100, 1000),
				{name: "after", in: "query", typ: "string", description: "Cursor: the next of the previous page."},
			},
			response: EventPage{},
		}},
		{method: "GET", pattern: "/api/v1/orgs/{org}/events/{event_id}", auth: true, handler: a.handle(a.getEvent), doc: opDoc{
			id: "getEvent", summary: "One kept event with its raw JSON as Okta sent it.",
			params: []param{orgPathParam,
				{name: "event_id", in: "path", typ: "string", required: true, description: "risk_events.event_id (Okta uuid, or sha256:...)."}},
			response: Event{Raw: []byte("{}")},
		}},
		{method: "POST", pattern: "/-/reload", auth: true, role: config.RoleAdmin, handler: http.HandlerFunc(a.reload), doc: opDoc{
			id: "reloadConfig", summary: "Reload the configuration file now, as SIGHUP does (role admin).",
			description: "The new file is validated completely and compared with the running configuration first. " +
				"Valid: it is applied by difference (added tenants start, removed or disabled ones drain and stop, " +
				"changed ones restart their poller from the stored cursor, rotated credentials take effect on the next " +
				"request, unchanged tenants are not interrupted) and the answer is 200. Invalid, or a change that needs " +
				"a restart (clickhouse.*, http.*, memory.*, log.*, a tenant's base_url): 422 with every problem, and the " +
				"running configuration stays. GET /-/reload (no token) shows the outcome of the last reload.",
			response: ReloadAnswer{},
		}},
	}, slices.Concat(a.notifyRoutes(), a.dashboardAPIRoutes(), a.actionRoutes(), a.privacyRoutes())...)
}

// needs is the role a route requires: its own, or read.
func (rt route) needs() config.Role {
	if rt.role == "" {
		return config.RoleRead
	}
	return rt.role
}

// categories are the values of risk_events.category.
var categories = []string{
	string(event.CategoryUserRisk), string(event.CategoryEntityRisk), string(event.CategoryThreatInsight),
	string(event.CategoryLeakedCredentials), string(event.CategoryHighRisk), string(event.CategoryExtra),
}
