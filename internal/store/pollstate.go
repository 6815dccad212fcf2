package store

import (
	"context"
	"fmt"
	"time"
)

// PollState is where a tenant's poller resumes.
type PollState struct {
	Tenant string
	// IntegratedAt is the last event time integrated (millisecond precision,
	// UTC); kept exactly in poll_state.integrated_at_ms.
	IntegratedAt time.Time
	// Cursor is the System Log "next" link (or after= cursor) to resume from.
	Cursor string
	// UpdatedAt is when the state was written (second precision). The
	// Writer sets it when zero.
	UpdatedAt time.Time
}

// The latest row per tenant wins: argMax by version works on 18.16 and
// current versions, whether or not rows have been merged yet.
const pollStateSelect = `SELECT tenant,
    argMax(integrated_at_ms, version),
    argMax(cursor, version),
    argMax(updated_at, version)
FROM %s %s
GROUP BY tenant
ORDER BY tenant`

// LoadPollState returns the tenant's latest state; false when it has none.
func (s *Store) LoadPollState(ctx context.Context, tenant string) (PollState, bool, error) {
	states, err := s.loadPollStates(ctx, "WHERE tenant = ?", tenant)
	if err != nil || len(states) == 0 {
		return PollState{}, false, err
	}
	return states[0], true, nil
}

// LoadAllPollStates returns every tenant's latest state, by tenant name.
func (s *Store) LoadAllPollStates(ctx context.Context) ([]PollState, error) {
	return s.loadPollStates(ctx, "")
}

func (s *Store) loadPollStates(ctx context.Context, where string, args ...any) ([]PollState, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, fmt.Sprintf(pollStateSelect, s.table("poll_state"), where), args...)
	if err != nil {
		return nil, classify(fmt.Errorf("load poll state: %w", err))
	}
	defer rows.Close()
	var out []PollState
	for rows.Next() {
		var (
			st PollState
			ms uint64
		)
		if err := rows.Scan(&st.Tenant, &ms, &st.Cursor, &st.UpdatedAt); err != nil {
			return nil, classify(fmt.Errorf("load poll state: %w", err))
		}
		if ms > 0 {
			st.IntegratedAt = time.UnixMilli(int64(ms)).UTC()
		}
		st.UpdatedAt = st.UpdatedAt.UTC()
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("load poll state: %w", err))
	}
	return out, nil
}

// Integrated counts how many of tenants have a poll_state row (are
// integrated).
func (r *Reader) Integrated(ctx context.Context, tenants []string) (uint64, error) {
	args := []any{}
	var n uint64
	err := r.conn.QueryRow(ctx, fmt.Sprintf("SELECT count(DISTINCT tenant) FROM %s WHERE tenant IN %s", r.table("poll_state"), in(&args, tenants)),
		args...).Scan(&n)
	return n, err
}
