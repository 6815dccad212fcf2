package store

import "fmt"

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
