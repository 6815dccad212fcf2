package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/respond"
)

// Response actions (internal/respond, docs/response.md). Every endpoint
// needs the respond role; a token never sees or touches another org's
// actions (an action of another org is 404, as if it did not exist).

// ActionRequest is POST /api/v1/actions.
type ActionRequest struct {
	Org      string `json:"org"`
	Action   string `json:"action"`
	UserID   string `json:"user_id,omitempty"`
	Identity string `json:"identity,omitempty"`
	Reason   string `json:"reason,omitempty"`
	GroupID  string `json:"group_id,omitempty"`
}

// ApproveRequest is POST /api/v1/actions/{id}/approve.
type ApproveRequest struct {
	// UserID is the chosen candidate of a needs_identity action.
	UserID string `json:"user_id,omitempty"`
}

// RejectRequest is POST /api/v1/actions/{id}/reject.
type RejectRequest struct {
	Reason string `json:"reason,omitempty"`
}

// ActionList is a page of actions, newest first; pass next as ?after= for
// the following page ("" on the last).
type ActionList struct {
	Actions []respond.Action `json:"actions"`
	Next    string           `json:"next"`
}

// IdentityMatches are the Okta users an external identity may name, best first.
type IdentityMatches struct {
	Candidates []respond.Candidate `json:"candidates"`
	// Note says how the org's identity_domains read the identity's
	// domain: this org's, or another org's (then there are no candidates).
	Note string `json:"note,omitempty"`
}

// conflictBody is a 409: the action's current state.
type conflictBody struct {
	Error string        `json:"error"`
	State respond.State `json:"state"`
}

// Responder is what the API needs of the response service
// (*respond.Service).
type Responder interface {
	Propose(ctx context.Context, p respond.Proposal) (respond.Action, bool, error)
	Approve(ctx context.Context, id, by, userID string) (respond.Action, error)
	Reject(ctx context.Context, id, by, reason string) (respond.Action, error)
	Revert(ctx context.Context, id, by string) (respond.Action, error)
	Get(id string) (respond.Action, bool)
	List(f respond.Filter) ([]respond.Action, string)
	Match(ctx context.Context, tenant, identity string) (respond.Matches, error)
}

var (
	actionIDParam = param{name: "id", in: "path", typ: "string", required: true, description: "Action id (act_...)."}
	stateNames    = func() []string {
		out := make([]string, len(respond.States))
		for i, s := range respond.States {
			out[i] = string(s)
		}
		return out
	}()
	actionStatuses = map[int]string{
		404: "No such action in the orgs this token may use.",
		409: "The action's state does not allow this; the body carries the current state.",
		502: "Okta refused or failed the change (revert).",
	}
)

func (a *API) actionRoutes() []route {
	return []route{
		{method: "POST", pattern: "/api/v1/actions", auth: true, role: config.RoleRespond, handler: http.HandlerFunc(a.proposeAction), doc: opDoc{
			id: "proposeAction", summary: "Propose a response action on an Okta user (user_id) or an external identity (identity).",
			description: "201 with the new action; 200 with the open action for the same org, user and action when there is one " +
				"(this proposal's evidence is added to it). A proposal naming an identity is needs_identity unless exactly one " +
				"candidate matches exactly. proposed_by is the token's name. In auto mode, auto_actions are approved at once.",
			request: ActionRequest{}, response: respond.Action{},
			statuses: map[int]string{201: "Created.", 409: "Refused by the org's response mode."},
		}},
		{method: "GET", pattern: "/api/v1/actions", auth: true, role: config.RoleRespond, handler: http.HandlerFunc(a.listActions), doc: opDoc{
			id: "listActions", summary: "Response actions of the orgs named (default all the token may use), newest first.",
			params: []param{orgsParam,
				{name: "state", in: "query", typ: "string", enum: stateNames, description: "Only actions in this state."},
				{name: "user_id", in: "query", typ: "string", description: "Only actions on this Okta user."},
				limitParam(100, 500),
				{name: "after", in: "query", typ: "string", description: "Cursor: the next of the previous page."},
			},
			response: ActionList{},
		}},
		{method: "GET", pattern: "/api/v1/actions/{id}", auth: true, role: config.RoleRespond, handler: http.HandlerFunc(a.getAction), doc: opDoc{
			id: "getAction", summary: "One response action with its evidence, decision, Okta answer and verification.",
			params: []param{actionIDParam}, response: respond.Action{}, statuses: map[int]string{404: actionStatuses[404]},
		}},
		{method: "POST", pattern: "/api/v1/actions/{id}/approve", auth: true, role: config.RoleRespond, handler: http.HandlerFunc(a.approveAction), doc: opDoc{
			id: "approveAction", summary: "Approve a proposed action (needs_identity: name the chosen candidate's user_id).",
			description: "With four_eyes, the token that proposed an action cannot approve it (403). The action is executed " +
				"right after, within the org's max_actions_per_hour.",
			params: []param{actionIDParam}, request: ApproveRequest{}, response: respond.Action{},
			statuses: map[int]string{404: actionStatuses[404], 409: actionStatuses[409]},
		}},
		{method: "POST", pattern: "/api/v1/actions/{id}/reject", auth: true, role: config.RoleRespond, handler: http.HandlerFunc(a.rejectAction), doc: opDoc{
			id: "rejectAction", summary: "Reject a proposed action.",
			params: []param{actionIDParam}, request: RejectRequest{}, response: respond.Action{},
			statuses: map[int]string{404: actionStatuses[404], 409: actionStatuses[409]},
		}},
		{method: "POST", pattern: "/api/v1/actions/{id}/revert", auth: true, role: config.RoleRespond, handler: http.HandlerFunc(a.revertAction), doc: opDoc{
			id: "revertAction", summary: "Undo a succeeded suspend (unsuspend) or add_to_group (remove from the group).",
			params: []param{actionIDParam}, response: respond.Action{}, statuses: actionStatuses,
		}},
		{method: "GET", pattern: "/api/v1/identities/match", auth: true, role: config.RoleRespond, handler: a.handle(a.matchIdentity), doc: opDoc{
			id: "matchIdentity", summary: "Okta users an external identity (CORP\\joren, an email alias, a UPN) may name, best first.",
			description: "From the users riskpipe has seen (org_users) and Okta's users search. Each candidate has a confidence " +
				"(0-1) and its reasons; exact is set only for an exact login, email or secondEmail match.",
			params: []param{
				{name: "org", in: "query", typ: "string", required: true, description: "Tenant name."},
				{name: "identity", in: "query", typ: "string", required: true, description: "The external identity."},
			},
			response: IdentityMatches{},
		}},
	}
}

func (a *API) responder(w http.ResponseWriter) (Responder, bool) {
	if a.s.Respond == nil {
		writeError(w, http.StatusNotFound, "response actions are not enabled in this riskpipe")
		return nil, false
	}
	return a.s.Respond, true
}

// decodeJSON reads a small JSON body strictly (unknown fields refused).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// writeRespondError maps the response service's errors to statuses.
func (a *API) writeRespondError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ie *respond.InputError
		ce *respond.ConflictError
		fe *respond.ForbiddenError
		oe *respond.OktaError
	)
	switch {
	case errors.As(err, &ie):
		writeError(w, http.StatusBadRequest, ie.Msg)
	case errors.As(err, &ce):
		writeJSON(w, http.StatusConflict, conflictBody{Error: ce.Msg, State: ce.State})
	case errors.As(err, &fe):
		writeError(w, http.StatusForbidden, fe.Msg)
	case errors.As(err, &oe):
		writeError(w, http.StatusBadGateway, oe.Error())
	case errors.Is(err, respond.ErrStarting):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, respond.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such action")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
	default:
		a.log.Warn("response action request failed", "path", r.URL.Path, "token", principalFrom(r.Context()).name, "err", err)
		writeError(w, http.StatusServiceUnavailable, "response action failed: see the riskpipe log")
	}
}

func (a *API) proposeAction(w http.ResponseWriter, r *http.Request) {
	rs, ok := a.responder(w)
	if !ok {
		return
	}
	var req ActionRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	p := principalFrom(r.Context())
	if req.Org == "" {
		writeError(w, http.StatusBadRequest, "org is required")
		return
	}
	if !p.may(req.Org) {
		writeError(w, http.StatusForbidden, errForbiddenOrg(req.Org).msg)
		return
	}
	act, created, err := rs.Propose(r.Context(), respond.Proposal{Tenant: req.Org, Action: config.ResponseAction(req.Action),
		UserID: strings.TrimSpace(req.UserID), Identity: req.Identity, GroupID: req.GroupID, Reason: req.Reason, By: p.name})
	if err != nil {
		a.writeRespondError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/actions/"+act.ID)
	}
	writeJSON(w, status, act)
}

func (a *API) listActions(w http.ResponseWriter, r *http.Request) {
	rs, ok := a.responder(w)
	if !ok {
		return
	}
	orgs, err := queryOrgs(r)
	if err != nil {
		writeError(w, err.(*httpError).status, err.Error())
		return
	}
	state := r.URL.Query().Get("state")
	if state != "" && !slices.Contains(stateNames, state) {
		writeError(w, http.StatusBadRequest, "state must be one of "+strings.Join(stateNames, ", "))
		return
	}
	limit, err := intParam(r, "limit", 100, 1, 500)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list, next := rs.List(respond.Filter{Tenants: orgs, State: respond.State(state), UserID: r.URL.Query().Get("user_id"),
		After: r.URL.Query().Get("after"), Limit: limit})
	if list == nil {
		list = []respond.Action{}
	}
	writeJSON(w, http.StatusOK, ActionList{Actions: list, Next: next})
}

// visibleAction is the action {id} when the token may use its org.
func (a *API) visibleAction(w http.ResponseWriter, r *http.Request, rs Responder) (respond.Action, bool) {
	act, ok := rs.Get(r.PathValue("id"))
	if !ok || !principalFrom(r.Context()).may(act.Tenant) {
		writeError(w, http.StatusNotFound, "no such action")
		return respond.Action{}, false
	}
	return act, true
}

func (a *API) getAction(w http.ResponseWriter, r *http.Request) {
	rs, ok := a.responder(w)
	if !ok {
		return
	}
	if act, ok := a.visibleAction(w, r, rs); ok {
		writeJSON(w, http.StatusOK, act)
	}
}

func (a *API) approveAction(w http.ResponseWriter, r *http.Request) {
	a.decide(w, r, func(rs Responder, id, by string) (respond.Action, error) {
		var req ApproveRequest
		if r.ContentLength != 0 && !decodeJSON(w, r, &req) {
			return respond.Action{}, errAnswered
		}
		return rs.Approve(r.Context(), id, by, strings.TrimSpace(req.UserID))
	})
}

func (a *API) rejectAction(w http.ResponseWriter, r *http.Request) {
	a.decide(w, r, func(rs Responder, id, by string) (respond.Action, error) {
		var req RejectRequest
		if r.ContentLength != 0 && !decodeJSON(w, r, &req) {
			return respond.Action{}, errAnswered
		}
		return rs.Reject(r.Context(), id, by, req.Reason)
	})
}

func (a *API) revertAction(w http.ResponseWriter, r *http.Request) {
	a.decide(w, r, func(rs Responder, id, by string) (respond.Action, error) {
		return rs.Revert(r.Context(), id, by)
	})
}

// errAnswered: the request was already answered (a bad body).
var errAnswered = errors.New("answered")

func (a *API) decide(w http.ResponseWriter, r *http.Request, f func(rs Responder, id, by string) (respond.Action, error)) {
	rs, ok := a.responder(w)
	if !ok {
		return
	}
	act, ok := a.visibleAction(w, r, rs)
	if !ok {
		return
	}
	got, err := f(rs, act.ID, principalFrom(r.Context()).name)
	switch {
	case errors.Is(err, errAnswered):
	case err != nil:
		a.writeRespondError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, got)
	}
}

func (a *API) matchIdentity(r *http.Request) (any, error) {
	if a.s.Respond == nil {
		return nil, &httpError{status: http.StatusNotFound, msg: "response actions are not enabled in this riskpipe"}
	}
	org := r.URL.Query().Get("org")
	if org == "" {
		return nil, badRequest("org is required")
	}
	if !principalFrom(r.Context()).may(org) {
		return nil, errForbiddenOrg(org)
	}
	identity := r.URL.Query().Get("identity")
	if strings.TrimSpace(identity) == "" {
		return nil, badRequest("identity is required")
	}
	m, err := a.s.Respond.Match(r.Context(), org, identity)
	var ie *respond.InputError
	if errors.As(err, &ie) {
		return nil, badRequest("%s", ie.Msg)
	}
	if err != nil {
		return nil, err
	}
	cands := m.Candidates
	if cands == nil {
		cands = []respond.Candidate{}
	}
	return IdentityMatches{Candidates: cands, Note: m.Note}, nil
}
