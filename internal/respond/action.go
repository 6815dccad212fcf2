// Package respond contains attacked Okta users: it proposes response
// actions (clear sessions, suspend, unsuspend, add to or remove from a
// restricted group) from the tenant's rules or from people, has them
// approved, executes each at most once in Okta, proves it from the org's
// System Log, and audits every step in ClickHouse response_actions
// (docs/response.md).
//
// One Service per process holds every action in memory and is their only
// writer; each transition is written to ClickHouse (and confirmed) before
// it takes effect, so a restart, even after kill -9, resumes from the
// audit table. An action found executing at start is reconciled by
// reading the user's state in Okta before anything is retried.
package respond

import (
	"slices"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
)

// State is where an action is in its lifecycle. The set is closed:
//
//	proposed → approved → executing → succeeded | failed
//	needs_identity → approved (the approver picks the user among the candidates)
//	needs_identity | proposed → rejected | expired
//	approved → failed (a guard rail refused it before any Okta call)
//	succeeded → reverted (suspend and add_to_group only)
type State string

// States.
const (
	StateNeedsIdentity State = "needs_identity"
	StateProposed      State = "proposed"
	StateApproved      State = "approved"
	StateExecuting     State = "executing"
	StateSucceeded     State = "succeeded"
	StateFailed        State = "failed"
	StateRejected      State = "rejected"
	StateExpired       State = "expired"
	StateReverted      State = "reverted"
)

// States is every state, in lifecycle order.
var States = []State{StateNeedsIdentity, StateProposed, StateApproved, StateExecuting, StateSucceeded,
	StateFailed, StateRejected, StateExpired, StateReverted}

// Open reports whether an action in s still counts against the one open
// action per (org, user, action).
func (s State) Open() bool {
	return s == StateNeedsIdentity || s == StateProposed || s == StateApproved || s == StateExecuting
}

// Pending reports whether s waits for a person.
func (s State) Pending() bool { return s == StateNeedsIdentity || s == StateProposed }

// transitions lists the states each state may move to.
var transitions = map[State][]State{
	StateNeedsIdentity: {StateApproved, StateRejected, StateExpired},
	StateProposed:      {StateApproved, StateRejected, StateExpired},
	StateApproved:      {StateExecuting, StateFailed}, // failed: refused by a guard rail before any call
	StateExecuting:     {StateSucceeded, StateFailed},
	StateSucceeded:     {StateReverted},
}

func canMove(from, to State) bool { return slices.Contains(transitions[from], to) }

// revertible are the actions that can be undone, and their inverse.
var revertible = map[config.ResponseAction]config.ResponseAction{
	config.ActionSuspend:    config.ActionUnsuspend,
	config.ActionAddToGroup: config.ActionRemoveFromGroup,
}

// eventTypes are the System Log events Okta writes for each action.
var eventTypes = map[config.ResponseAction]string{
	config.ActionClearSessions:   "user.session.clear",
	config.ActionSuspend:         "user.lifecycle.suspend",
	config.ActionUnsuspend:       "user.lifecycle.unsuspend",
	config.ActionAddToGroup:      "group.user_membership.add",
	config.ActionRemoveFromGroup: "group.user_membership.remove",
}

// usesGroup reports whether a acts on a group membership.
func usesGroup(a config.ResponseAction) bool {
	return a == config.ActionAddToGroup || a == config.ActionRemoveFromGroup
}

// Action is one response action as the API shows it and response_actions
// stores it.
type Action struct {
	ID         string                `json:"id"`
	Tenant     string                `json:"tenant"`
	Action     config.ResponseAction `json:"action"`
	UserID     string                `json:"user_id"`
	UserLogin  string                `json:"user_login"`
	Identity   string                `json:"identity,omitempty"` // the external identity proposed, if any
	GroupID    string                `json:"group_id,omitempty"`
	State      State                 `json:"state"`
	ProposedBy string                `json:"proposed_by"` // rule name or token name
	CreatedAt  time.Time             `json:"created_at"`  // proposed_at
	Reason     string                `json:"reason"`
	Evidence   Evidence              `json:"evidence"`
	// Candidates are the identity matches of a needs_identity action.
	Candidates []Candidate `json:"candidates,omitempty"`
	DecidedBy  string      `json:"decided_by"`
	DecidedAt  *time.Time  `json:"decided_at"`
	ExpiresAt  time.Time   `json:"expires_at"`
	ExecutedAt *time.Time  `json:"executed_at"`
	Attempts   int         `json:"attempts"`
	// OktaStatus and OktaRequestID are Okta's answer (X-Okta-Request-Id).
	OktaStatus    int    `json:"okta_status"`
	OktaRequestID string `json:"okta_request_id"`
	Error         string `json:"error"`
	Note          string `json:"note,omitempty"`
	// NoChange: Okta said the user was already in the state asked for
	// (suspending a SUSPENDED user), so no System Log event is expected.
	NoChange bool `json:"no_change"`
	DryRun   bool `json:"dry_run"`
	// VerifiedAt is when Okta's System Log event for the change was
	// published; Flagged when it was not seen within verify_within.
	VerifiedAt    *time.Time `json:"verified_at"`
	VerifyEventID string     `json:"verify_event_id,omitempty"`
	Flagged       bool       `json:"flagged"`
	RevertedAt    *time.Time `json:"reverted_at"`
	RevertedBy    string     `json:"reverted_by,omitempty"`
	UpdatedAt     time.Time  `json:"updated_at"`
	Version       uint64     `json:"version"`
	// Waiting says why an approved (or executing) action is not executed
	// now: the tenant's credential lacks what response actions need
	// (Settings.Permissions). Not stored: it is the credential's state.
	Waiting string `json:"waiting,omitempty"`
}

// Evidence is why an action was proposed: the kept events and the attack
// factor behind it, and how often it was proposed again while open.
type Evidence struct {
	EventIDs  []string `json:"event_ids"`
	Score     float64  `json:"score"`
	Level     string   `json:"level"`
	Proposals int      `json:"proposals"` // 1 + repeats merged into this action
	Notes     []string `json:"notes"`
}

// maxEventIDs bounds Evidence.EventIDs (the newest are kept).
const maxEventIDs = 100

// adds reports whether o holds an event id or a higher score e lacks.
func (e *Evidence) adds(o Evidence) bool {
	for _, id := range o.EventIDs {
		if !slices.Contains(e.EventIDs, id) {
			return true
		}
	}
	return o.Score > e.Score
}

func (e *Evidence) merge(o Evidence, note string) {
	for _, id := range o.EventIDs {
		if !slices.Contains(e.EventIDs, id) {
			e.EventIDs = append(e.EventIDs, id)
		}
	}
	if len(e.EventIDs) > maxEventIDs {
		e.EventIDs = e.EventIDs[len(e.EventIDs)-maxEventIDs:]
	}
	if o.Score > e.Score {
		e.Score, e.Level = o.Score, o.Level
	}
	e.Proposals++
	if note != "" && len(e.Notes) < 50 {
		e.Notes = append(e.Notes, note)
	}
}

func (a *Action) clone() Action {
	c := *a
	c.Evidence.EventIDs = slices.Clone(a.Evidence.EventIDs)
	c.Evidence.Notes = slices.Clone(a.Evidence.Notes)
	c.Candidates = slices.Clone(a.Candidates)
	return c
}

func tptr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Second)
	return &t
}
