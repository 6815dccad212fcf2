package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/score"
)

// The attack-factor tables (schema/002_attack_factor.sql), filled from
// Batch.Scores in the same flush as the events that caused them. All four
// are ReplacingMergeTrees keyed so that a retried flush collapses, and
// their version is the flush version, so the change feed can page by it.
var scoreTables = []table{
	{name: "attack_factor_updates", columns: factorColumns, rows: factorRows},
	{name: "attack_factor_latest", columns: factorColumns, rows: factorRows},
	{name: "org_attack_activity", columns: activityColumns, rows: activityRows},
	{name: "org_users", columns: orgUserColumns, rows: orgUserRows},
}

var factorColumns = []string{
	"tenant", "user_id", "user_login", "updated_at", "score", "percentile", "level", "signals",
	"cause_event_id", "cause_category", "explanation", "version",
}

func factorRows(f *flush, add func(...any) error) error {
	for i, b := range f.batches {
		v := f.version(i)
		for _, u := range b.Scores.Updates {
			at := u.UpdatedAt
			if at.IsZero() {
				at = f.now
			}
			if err := add(b.Tenant, u.UserID, u.UserLogin, dateTime(at), u.Score, u.Percentile, u.Level,
				u.Signals, u.CauseEventID, u.CauseCategory, u.Explanation, v); err != nil {
				return fmt.Errorf("attack factor of %s/%s: %w", b.Tenant, u.UserID, err)
			}
		}
	}
	return nil
}

var activityColumns = []string{"tenant", "bucket", "category", "signals", "users", "unattributed", "updated_at", "version"}

func activityRows(f *flush, add func(...any) error) error {
	for i, b := range f.batches {
		v := f.version(i)
		for _, a := range b.Scores.Activity {
			if err := add(b.Tenant, dateTime(a.Bucket), a.Category, a.Signals, a.Users, a.Unattributed,
				f.now, v); err != nil {
				return fmt.Errorf("org activity of %s: %w", b.Tenant, err)
			}
		}
	}
	return nil
}

var orgUserColumns = []string{"tenant", "user_id", "user_login", "first_seen", "last_seen", "version"}

func orgUserRows(f *flush, add func(...any) error) error {
	for i, b := range f.batches {
		v := f.version(i)
		for _, u := range b.Scores.Users {
			if err := add(b.Tenant, u.UserID, u.UserLogin, dateTime(u.FirstSeen), dateTime(u.LastSeen), v); err != nil {
				return fmt.Errorf("org user of %s/%s: %w", b.Tenant, u.UserID, err)
			}
		}
	}
	return nil
}

// LoadScoreState reads back what score.Engine.Restore needs of tenant from
// the tables the writer fills: its kept events (risk_events), population
// (org_users) and latest factors (attack_factor_latest) since since.
func (s *Store) LoadScoreState(ctx context.Context, tenant string, since score.Since) (
	kept []event.Event, users []score.OrgUser, latest []score.Update, err error,
) {
	if err := s.checkOpen(); err != nil {
		return nil, nil, nil, err
	}
	conn := s.conn
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT event_id, published_ms, event_type, category, risk_level,
	risk_reasons, user_id, user_login, transaction_id
FROM %s FINAL
WHERE tenant = ? AND published_note = '' AND published_ms >= ? AND (user_id != '' OR published_ms >= ?)
ORDER BY published_ms, event_id`, s.table("risk_events")), tenant, uint64(since.Signals.UnixMilli()), uint64(since.Events.UnixMilli()))
	if err != nil {
		return nil, nil, nil, err
	}
	for rows.Next() {
		var e event.Event
		var ms uint64
		var cat string
		if err := rows.Scan(&e.ID, &ms, &e.EventType, &cat, &e.RiskLevel, &e.RiskReasons, &e.UserID, &e.UserLogin, &e.TransactionID); err != nil {
			rows.Close()
			return nil, nil, nil, err
		}
		e.Published = time.UnixMilli(int64(ms)).UTC()
		e.Category = event.Category(cat)
		kept = append(kept, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, err
	}

	rows, err = conn.Query(ctx, fmt.Sprintf(`SELECT user_id, argMax(user_login, version), min(first_seen), max(last_seen)
FROM %s WHERE tenant = ? GROUP BY user_id HAVING max(last_seen) > ?`, s.table("org_users")), tenant, since.Users)
	if err != nil {
		return nil, nil, nil, err
	}
	for rows.Next() {
		u := score.OrgUser{Tenant: tenant}
		if err := rows.Scan(&u.UserID, &u.UserLogin, &u.FirstSeen, &u.LastSeen); err != nil {
			rows.Close()
			return nil, nil, nil, err
		}
		users = append(users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, err
	}

	rows, err = conn.Query(ctx, fmt.Sprintf(`SELECT user_id, user_login, updated_at, score, percentile, level, signals,
	cause_event_id, cause_category, explanation
FROM %s FINAL WHERE tenant = ?`, s.table("attack_factor_latest")), tenant)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		u := score.Update{Tenant: tenant}
		if err := rows.Scan(&u.UserID, &u.UserLogin, &u.UpdatedAt, &u.Score, &u.Percentile, &u.Level, &u.Signals,
			&u.CauseEventID, &u.CauseCategory, &u.Explanation); err != nil {
			return nil, nil, nil, err
		}
		latest = append(latest, u)
	}
	return kept, users, latest, rows.Err()
}
