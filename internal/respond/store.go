package respond

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/store"
)

// auditColumns is response_actions' column list, in insert order.
const auditColumns = `tenant, action_id, action, user_id, user_login, identity, group_id, state, proposed_by,
	proposed_at, reason, evidence, candidates, decided_by, decided_at, expires_at, executed_at, attempts,
	okta_status, okta_request_id, error, note, no_change, dry_run, verified_at, verify_event_id, flagged,
	reverted_at, reverted_by, updated_at, version`

// audit writes and reads response_actions.
type audit struct {
	conn driver.Conn
	db   string // quoted
}

func (s *audit) table() string { return s.db + ".response_actions" }

var epoch = time.Unix(0, 0).UTC()

func dt(t *time.Time) time.Time {
	if t == nil {
		return epoch
	}
	return t.UTC()
}

func orZero(t time.Time) time.Time {
	if t.IsZero() {
		return epoch
	}
	return t.UTC()
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// write inserts one step of a and returns once ClickHouse confirmed it.
func (s *audit) write(ctx context.Context, a *Action) error {
	ev, err := json.Marshal(a.Evidence)
	if err != nil {
		return err
	}
	cands := []byte("[]")
	if len(a.Candidates) > 0 {
		if cands, err = json.Marshal(a.Candidates); err != nil {
			return err
		}
	}
	_, err = store.Insert(ctx, s.conn, "INSERT INTO "+s.table()+" ("+auditColumns+")", func(add func(values ...any) error) error {
		return add(a.Tenant, a.ID, string(a.Action), a.UserID, a.UserLogin, a.Identity, a.GroupID, string(a.State),
			a.ProposedBy, orZero(a.CreatedAt), a.Reason, string(ev), string(cands), a.DecidedBy, dt(a.DecidedAt),
			orZero(a.ExpiresAt), dt(a.ExecutedAt), uint32(a.Attempts), uint16(a.OktaStatus), a.OktaRequestID, a.Error, a.Note,
			b2u(a.NoChange), b2u(a.DryRun), dt(a.VerifiedAt), a.VerifyEventID, b2u(a.Flagged), dt(a.RevertedAt), a.RevertedBy,
			orZero(a.UpdatedAt), a.Version)
	})
	if err != nil {
		return fmt.Errorf("audit %s: %w", a.ID, err)
	}
	return nil
}

// load reads the current step of every action of the tenants (the row
// with the highest version). The IN-tuple form runs on 18.16 and current
// ClickHouse alike.
func (s *audit) load(ctx context.Context, tenants []string) ([]*Action, error) {
	if len(tenants) == 0 {
		return nil, nil
	}
	in := quoteList(tenants)
	q := fmt.Sprintf(`SELECT %s FROM %s
WHERE tenant IN (%s) AND (tenant, action_id, version) IN
	(SELECT tenant, action_id, max(version) FROM %s WHERE tenant IN (%s) GROUP BY tenant, action_id)
ORDER BY proposed_at, action_id`, auditColumns, s.table(), in, s.table(), in)
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("load response actions: %w", err)
	}
	defer rows.Close()
	var out []*Action
	for rows.Next() {
		var (
			a                                     Action
			action, state, ev, cands              string
			decided, executed, verified, reverted time.Time
			attempts                              uint32
			status                                uint16
			dry, flagged, noChange                uint8
		)
		if err := rows.Scan(&a.Tenant, &a.ID, &action, &a.UserID, &a.UserLogin, &a.Identity, &a.GroupID, &state,
			&a.ProposedBy, &a.CreatedAt, &a.Reason, &ev, &cands, &a.DecidedBy, &decided, &a.ExpiresAt, &executed,
			&attempts, &status, &a.OktaRequestID, &a.Error, &a.Note, &noChange, &dry, &verified, &a.VerifyEventID, &flagged,
			&reverted, &a.RevertedBy, &a.UpdatedAt, &a.Version); err != nil {
			return nil, fmt.Errorf("load response actions: %w", err)
		}
		a.Action, a.State = config.ResponseAction(action), State(state)
		a.Attempts, a.OktaStatus, a.DryRun, a.Flagged = int(attempts), int(status), dry == 1, flagged == 1
		a.NoChange = noChange == 1
		a.DecidedAt, a.ExecutedAt, a.VerifiedAt, a.RevertedAt = unix(decided), unix(executed), unix(verified), unix(reverted)
		a.CreatedAt, a.ExpiresAt, a.UpdatedAt = a.CreatedAt.UTC(), a.ExpiresAt.UTC(), a.UpdatedAt.UTC()
		if err := json.Unmarshal([]byte(ev), &a.Evidence); err != nil {
			return nil, fmt.Errorf("action %s: evidence: %w", a.ID, err)
		}
		if err := json.Unmarshal([]byte(cands), &a.Candidates); err != nil {
			return nil, fmt.Errorf("action %s: candidates: %w", a.ID, err)
		}
		if len(a.Candidates) == 0 {
			a.Candidates = nil
		}
		out = append(out, &a)
	}
	return out, rows.Err()
}

// quoteList renders strings as a SQL list of string literals (the driver
// sends a bound slice as an Array, which IN on 18.16 refuses).
func quoteList(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
	}
	return strings.Join(out, ", ")
}

func unix(t time.Time) *time.Time {
	if t.Unix() <= 0 {
		return nil
	}
	t = t.UTC()
	return &t
}
