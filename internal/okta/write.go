package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/riskpipe/riskpipe/internal/config"
)

// Writer changes users and groups of one org (response actions) and reads
// what those changes need: users, groups, admin roles, users search and the
// System Log events that prove a change. It is its own Client: its own
// credential (tenants[].response.auth), its own rate limiter (the log
// poller's budget is not touched) and token cache.
//
// Answers are typed by meaning: *AccessError (403: the scope or admin role
// is named), *NotFoundError (404), *StateError (the user is not in a state
// the change applies to), *RateLimitedError (only when ctx ends while
// waiting for the reset: a 429 otherwise waits and retries), *RetryableError
// (5xx and network errors, already retried MaxRetries times), *AuthError
// (401) and *PermanentError (other 4xx).
type Writer struct {
	c *Client
}

// MaxRateLimitWaits bounds how many 429s one Writer call waits out.
const MaxRateLimitWaits = 5

// NewWriter builds a Writer; it sends nothing. s.Auth is the write
// credential; OAuth scopes default to WriteScopes.
func NewWriter(s Settings) (*Writer, error) {
	if s.Auth.Method != "" && s.Auth.Method != "api_token" && len(s.Auth.Scopes) == 0 {
		s.Auth.Scopes = WriteScopes
	}
	c, err := New(s)
	if err != nil {
		return nil, err
	}
	return &Writer{c: c}, nil
}

// WriteScopes are the OAuth scopes response actions use: users.manage
// (sessions, lifecycle; includes users.read), groups.manage (membership;
// includes groups.read), roles.read (protected admins) and logs.read
// (verification).
var WriteScopes = config.ResponseScopes

// CloseIdleConnections closes idle connections (shutdown).
func (w *Writer) CloseIdleConnections() { w.c.CloseIdleConnections() }

// Result is Okta's answer to a change.
type Result struct {
	Status    int    // HTTP status of the final answer
	RequestID string // X-Okta-Request-Id
	// AlreadyDone is set when Okta refused the change because the user is
	// already in the state asked for (suspending a SUSPENDED user): success.
	AlreadyDone bool
	Detail      string // Okta's explanation for AlreadyDone
}

// AccessError is a 403: the credential lacks the scope (OAuth) or its
// admin lacks a role that may do this, or the group cannot be changed
// through the API at all (APP_GROUP, BUILT_IN).
type AccessError struct {
	Op        string // e.g. "suspend"
	Scope     string // the OAuth scope the endpoint needs
	Roles     string // the smallest standard admin roles that allow it
	Code      string
	Summary   string
	RequestID string
}

func (e *AccessError) Error() string {
	return fmt.Sprintf("okta refused %s (403 %s: %s): the credential needs scope %s and an admin role allowing it (%s)",
		e.Op, e.Code, e.Summary, e.Scope, e.Roles)
}

// NotFoundError is a 404 for the user or group.
type NotFoundError struct {
	What, ID  string // "user" or "group"
	Summary   string
	RequestID string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("okta: %s %s not found (%s)", e.What, e.ID, e.Summary)
}

// StateError is a change Okta refuses because of the user's state (400
// E0000001): suspending a user that is not ACTIVE and not SUSPENDED.
type StateError struct {
	Op, Status, Summary string
	RequestID           string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("okta refused %s: the user is %s (%s)", e.Op, e.Status, e.Summary)
}

// operation describes one kind of change for errors.
type operation struct {
	name, scope, roles string
}

var (
	opClearSessions = operation{"clear_sessions", "okta.users.manage", "Help Desk Admin or higher"}
	opSuspend       = operation{"suspend", "okta.users.manage", "Group Admin (USER_ADMIN) or higher"}
	opUnsuspend     = operation{"unsuspend", "okta.users.manage", "Org Admin or higher"}
	opAddMember     = operation{"add_to_group", "okta.groups.manage", "Group Membership Admin for the group or higher; APP_GROUP and BUILT_IN groups cannot be changed"}
	opRemoveMember  = operation{"remove_from_group", "okta.groups.manage", "Group Membership Admin for the group or higher; APP_GROUP and BUILT_IN groups cannot be changed"}
	opReadUser      = operation{"read user", "okta.users.read", "Read-only Admin or higher"}
	opReadGroup     = operation{"read group", "okta.groups.read", "Read-only Admin or higher"}
	opReadRoles     = operation{"read admin roles", "okta.roles.read", "Super Admin"}
	opReadLogs      = operation{"read the System Log", "okta.logs.read", "Read-only Admin or Report Admin or higher"}
)

// ClearSessions revokes the user's IdP sessions and, always, its OAuth and
// OIDC tokens (oauthTokens=true); forgetDevices is sent explicitly since
// its default differs between Identity Engine (true) and Classic (false).
func (w *Writer) ClearSessions(ctx context.Context, userID string, forgetDevices bool) (Result, error) {
	q := url.Values{"oauthTokens": {"true"}, "forgetDevices": {fmt.Sprint(forgetDevices)}}
	res, err := w.call(ctx, http.MethodDelete, w.path("api/v1/users", userID, "sessions"), q)
	return w.change(res, err, opClearSessions, "user", userID)
}

// Suspend suspends an ACTIVE user. A user already SUSPENDED is success
// with AlreadyDone; any other status is a *StateError.
func (w *Writer) Suspend(ctx context.Context, userID string) (Result, error) {
	return w.lifecycle(ctx, userID, "suspend", opSuspend, "SUSPENDED")
}

// Unsuspend returns a SUSPENDED user to ACTIVE; a user already ACTIVE is
// success with AlreadyDone.
func (w *Writer) Unsuspend(ctx context.Context, userID string) (Result, error) {
	return w.lifecycle(ctx, userID, "unsuspend", opUnsuspend, "ACTIVE")
}

func (w *Writer) lifecycle(ctx context.Context, userID, op string, o operation, target string) (Result, error) {
	res, err := w.call(ctx, http.MethodPost, w.path("api/v1/users", userID, "lifecycle", op), nil)
	r, err := w.change(res, err, o, "user", userID)
	var se *StateError
	if !errors.As(err, &se) {
		return r, err
	}
	// Okta says only "not active": read the status to tell "already done"
	// from a real conflict.
	u, uerr := w.User(ctx, userID)
	if uerr != nil {
		return r, fmt.Errorf("%w (reading the user's status failed: %v)", err, uerr)
	}
	se.Status = u.Status
	if u.Status == target {
		return Result{Status: r.Status, RequestID: r.RequestID, AlreadyDone: true,
			Detail: "the user is already " + target + ": " + se.Summary}, nil
	}
	return r, se
}

// AddToGroup adds the user to an OKTA_GROUP.
func (w *Writer) AddToGroup(ctx context.Context, groupID, userID string) (Result, error) {
	res, err := w.call(ctx, http.MethodPut, w.path("api/v1/groups", groupID, "users", userID), nil)
	return w.change(res, err, opAddMember, "group or user", groupID+"/"+userID)
}

// RemoveFromGroup removes the user from an OKTA_GROUP.
func (w *Writer) RemoveFromGroup(ctx context.Context, groupID, userID string) (Result, error) {
	res, err := w.call(ctx, http.MethodDelete, w.path("api/v1/groups", groupID, "users", userID), nil)
	return w.change(res, err, opRemoveMember, "group or user", groupID+"/"+userID)
}

// User is what riskpipe reads of an Okta user.
type User struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Profile struct {
		Login       string `json:"login"`
		Email       string `json:"email"`
		SecondEmail string `json:"secondEmail"`
		FirstName   string `json:"firstName"`
		LastName    string `json:"lastName"`
		DisplayName string `json:"displayName"`
	} `json:"profile"`
}

// Group is what riskpipe reads of an Okta group.
type Group struct {
	ID      string `json:"id"`
	Type    string `json:"type"` // OKTA_GROUP, APP_GROUP, BUILT_IN
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
}

// User reads a user by id or login.
func (w *Writer) User(ctx context.Context, idOrLogin string) (User, error) {
	var u User
	err := w.read(ctx, w.path("api/v1/users", idOrLogin), nil, opReadUser, "user", idOrLogin, &u)
	return u, err
}

// Group reads a group (its type says whether its members can be changed).
func (w *Writer) Group(ctx context.Context, groupID string) (Group, error) {
	var g Group
	err := w.read(ctx, w.path("api/v1/groups", groupID), nil, opReadGroup, "group", groupID, &g)
	return g, err
}

// UserGroups lists the groups the user is a member of.
func (w *Writer) UserGroups(ctx context.Context, userID string) ([]Group, error) {
	var gs []Group
	err := w.read(ctx, w.path("api/v1/users", userID, "groups"), nil, opReadUser, "user", userID, &gs)
	return gs, err
}

// AdminRoles lists the admin role types assigned to the user.
func (w *Writer) AdminRoles(ctx context.Context, userID string) ([]string, error) {
	var rs []struct {
		Type string `json:"type"`
	}
	if err := w.read(ctx, w.path("api/v1/users", userID, "roles"), nil, opReadRoles, "user", userID, &rs); err != nil {
		return nil, err
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Type
	}
	return out, nil
}

// MaxUsersPage is the largest page of GET /api/v1/users Okta serves.
const MaxUsersPage = 200

// SearchUsers runs a users search expression (search=, case-insensitive
// values, DEPROVISIONED users included) and follows Okta's cursor pages
// (Link rel="next", on the org's own origin only) of pageSize users (at
// most MaxUsersPage) until max users are read or no page follows.
func (w *Writer) SearchUsers(ctx context.Context, expr string, pageSize, max int) ([]User, error) {
	pageSize = min(max, pageSize, MaxUsersPage)
	if pageSize < 1 {
		return nil, nil
	}
	u := w.path("api/v1/users")
	q := url.Values{"search": {expr}, "limit": {fmt.Sprint(pageSize)}}
	var out []User
	for {
		res, err := w.call(ctx, http.MethodGet, u, q)
		if err != nil {
			return nil, err
		}
		if !ok2xx(res.status) {
			return nil, w.classify(res, opReadUser, "users", "search")
		}
		var us []User
		if err := json.Unmarshal(res.body, &us); err != nil {
			return nil, &PermanentError{Status: res.status, Summary: "invalid JSON from " + opReadUser.name, Err: err}
		}
		out = append(out, us...)
		if len(out) >= max {
			return out[:max], nil
		}
		next := linkTarget(parseLinks(res.header.Values("Link")), "next", u)
		if next == "" || len(us) == 0 {
			return out, nil
		}
		nu, err := url.Parse(next)
		if err != nil || !sameOrigin(nu, w.c.base) {
			return out, nil // never send the credential elsewhere
		}
		u, q = nu, nil
	}
}

// LogEvent is a System Log event that proves a change.
type LogEvent struct {
	UUID        string    `json:"uuid"`
	Published   time.Time `json:"published"`
	EventType   string    `json:"eventType"`
	Transaction struct {
		ID     string            `json:"id"`
		Detail map[string]string `json:"detail"`
	} `json:"transaction"`
	Target []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"target"`
}

// APITokenID is transaction.detail.requestApiTokenId: the API token that
// made the change ("" for OAuth service apps).
func (e LogEvent) APITokenID() string { return e.Transaction.Detail["requestApiTokenId"] }

// FindEvent looks in the System Log for an event of eventType targeting
// the user (and the group, if given) published at or after since; nil when
// there is none yet. An event whose transaction.id is requestID (the
// X-Okta-Request-Id of our call) is preferred to the first one.
func (w *Writer) FindEvent(ctx context.Context, eventType, userID, groupID, requestID string, since time.Time) (*LogEvent, error) {
	filter := fmt.Sprintf(`eventType eq %q and target.id eq %q`, eventType, userID)
	q := url.Values{"filter": {filter}, "since": {since.UTC().Format("2006-01-02T15:04:05.000Z")},
		"sortOrder": {"ASCENDING"}, "limit": {"100"}}
	var evs []LogEvent
	if err := w.read(ctx, w.path("api/v1/logs"), q, opReadLogs, "logs", eventType, &evs); err != nil {
		return nil, err
	}
	var first *LogEvent
	for i := range evs {
		ok := groupID == ""
		for _, t := range evs[i].Target {
			ok = ok || t.ID == groupID
		}
		switch {
		case !ok:
		case requestID != "" && evs[i].Transaction.ID == requestID:
			return &evs[i], nil
		case first == nil:
			first = &evs[i]
		}
	}
	return first, nil
}

func (w *Writer) path(parts ...string) *url.URL {
	u := *w.c.base
	segs := []string{strings.TrimRight(u.Path, "/")}
	for _, p := range parts {
		if strings.HasPrefix(p, "api/") {
			segs = append(segs, p)
		} else {
			segs = append(segs, url.PathEscape(p))
		}
	}
	u.RawPath = strings.Join(segs, "/")
	u.Path, _ = url.PathUnescape(u.RawPath)
	return &u
}

// change turns a write's answer into a Result or an error by meaning.
func (w *Writer) change(res *response, err error, op operation, what, id string) (Result, error) {
	if err != nil {
		return Result{}, err
	}
	r := Result{Status: res.status, RequestID: res.header.Get("X-Okta-Request-Id")}
	if ok2xx(res.status) {
		return r, nil
	}
	return r, w.classify(res, op, what, id)
}

func (w *Writer) read(ctx context.Context, u *url.URL, q url.Values, op operation, what, id string, into any) error {
	res, err := w.call(ctx, http.MethodGet, u, q)
	if err != nil {
		return err
	}
	if !ok2xx(res.status) {
		return w.classify(res, op, what, id)
	}
	if err := json.Unmarshal(res.body, into); err != nil {
		return &PermanentError{Status: res.status, Summary: "invalid JSON from " + op.name, Err: err}
	}
	return nil
}

func (w *Writer) classify(res *response, op operation, what, id string) error {
	ae, _ := decodeAPIError(res.body, w.c.scrub)
	reqID := res.header.Get("X-Okta-Request-Id")
	switch s := res.status; {
	case s == http.StatusForbidden:
		return &AccessError{Op: op.name, Scope: op.scope, Roles: op.roles, Code: ae.Code, Summary: ae.Summary, RequestID: reqID}
	case s == http.StatusUnauthorized:
		return &AuthError{Status: s, Code: ae.Code, Summary: ae.Summary}
	case s == http.StatusNotFound:
		return &NotFoundError{What: what, ID: id, Summary: ae.Summary, RequestID: reqID}
	case s == http.StatusBadRequest && ae.Code == "E0000001" && (op == opSuspend || op == opUnsuspend):
		summary := ae.Summary
		if len(ae.Causes) > 0 {
			summary = strings.Join(ae.Causes, "; ")
		}
		return &StateError{Op: op.name, Status: "unknown", Summary: summary, RequestID: reqID}
	case s >= 500:
		return &RetryableError{Status: s, Err: serverError(s, res.body, w.c.scrub)}
	}
	return &PermanentError{Status: res.status, Code: ae.Code, Summary: ae.Summary, Causes: ae.Causes}
}

// call sends one request through the retry loop (5xx and network errors),
// the Writer's limiter and auth; it refreshes an OAuth token once on a 401
// and waits out up to MaxRateLimitWaits 429s.
func (w *Writer) call(ctx context.Context, method string, u *url.URL, q url.Values) (*response, error) {
	c := w.c
	if q != nil {
		u.RawQuery = q.Encode()
	}
	var nonceRetried, tokenRetried bool
	for waits := 0; ; {
		req, err := retryablehttp.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return nil, &PermanentError{Summary: "build request", Err: err}
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", c.userAgent)
		resp, err := c.retry.Do(req)
		if ctx.Err() != nil {
			if resp != nil {
				resp.Body.Close()
			}
			return nil, fmt.Errorf("okta %s: %w", method, ctx.Err())
		}
		if err != nil {
			return nil, classifyTransport(err)
		}
		// A success is read whole (a users page of 200 is several hundred
		// KiB), an error up to maxErrorBytes.
		limit := int64(maxErrorBytes)
		if ok2xx(resp.StatusCode) {
			limit = maxPageBytes
		}
		body, truncated, rerr := readBody(nil, resp.Body, resp.ContentLength, limit)
		resp.Body.Close()
		if rerr != nil && ok2xx(resp.StatusCode) {
			return nil, &RetryableError{Status: resp.StatusCode, Err: fmt.Errorf("read body: %w", rerr)}
		}
		if truncated && ok2xx(resp.StatusCode) {
			return nil, &PermanentError{Status: resp.StatusCode, Summary: fmt.Sprintf("response larger than %d bytes", limit)}
		}
		res := &response{status: resp.StatusCode, header: resp.Header, body: body}
		switch {
		case res.status == http.StatusUnauthorized && c.tokens != nil:
			if !nonceRetried && c.dpop != nil && nonceChallenge(res.header.Values("WWW-Authenticate"), res.header.Get("DPoP-Nonce")) {
				nonceRetried = true
				continue
			}
			if !tokenRetried {
				tokenRetried = true
				if _, tok, ok := strings.Cut(resp.Request.Header.Get("Authorization"), " "); ok {
					c.tokens.invalidate(tok)
				}
				continue
			}
		case res.status == http.StatusTooManyRequests:
			rl, present := parseRateLimit(res.header)
			until := retryAt(res.header, c.now())
			c.limiter.block(until)
			c.metrics.limited(c.tenant, present && rl.Limit == 0)
			waits++
			if waits > MaxRateLimitWaits {
				return nil, &RateLimitedError{Until: until, Concurrency: present && rl.Limit == 0, Limit: rl.Limit, Remaining: rl.Remaining}
			}
			c.log.Info("okta write rate limited; waiting for the reset", "until", until)
			continue // the limiter waits until the reset
		}
		return res, nil
	}
}
