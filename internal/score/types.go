package score

import (
	"time"

	"github.com/riskpipe/riskpipe/internal/event"
)

// SeenUser is one sighting of a user in the System Log (event.Sighting):
// the sightings of the last PopulationWindow make the org's population, the
// denominator of percentiles.
type SeenUser = event.Sighting

// AppendSeen appends the users event e shows to dst (event.AppendSightings).
func AppendSeen(dst []SeenUser, e *event.Event) []SeenUser { return event.AppendSightings(dst, e) }

// userKey is the user_id a user is keyed by: the Okta id, or the login
// when there is no id; "" for no user (none, or Okta's "unknown").
func userKey(id, login string) string { return event.UserKey(id, login) }

// Factor is a user's attack factor at one time.
type Factor struct {
	// UserID is the Okta user id (the login for users whose events carry
	// no id); UserLogin the newest login seen for the user.
	UserID, UserLogin string
	// Score is 0-100, rounded to 2 decimals: how much the user is attacked.
	Score float64
	// Percentile is 0-100, rounded to 2 decimals: the percentage of the
	// org's population with a strictly lower score.
	Percentile float64
	// Level is the band of Score: low, medium, high or critical.
	Level string
	// Signals counts the user's signals (events with a weight > 0)
	// published within PopulationWindow, up to MaxSignalsPerUser + 4.
	Signals uint32
	// Explanation names the top contributing weight keys with their share
	// of the sum, e.g. "leaked_credentials 67%; threat_insight x2 33%".
	Explanation string
}

// CauseRefresh is the CauseCategory of an Update written by Refresh
// (decay, or other users' changes moving the percentile).
const CauseRefresh = "refresh"

// Update is one row of attack_factor_updates (and attack_factor_latest).
type Update struct {
	Tenant    string
	UpdatedAt time.Time
	Factor
	// CauseEventID and CauseCategory name the event of the page that
	// moved the user most; "" and CauseRefresh for rows of Refresh.
	CauseEventID, CauseCategory string
}

// OrgActivity is one row of org_attack_activity: the kept risk events of
// one category published in one bucket, as absolute counts (a later row for
// the same key replaces it).
type OrgActivity struct {
	Tenant   string
	Bucket   time.Time
	Category string
	// Signals counts the events (deduplicated by id); Users the distinct
	// users they are attributed to; Unattributed the events attributed to
	// no user (ThreatInsight against the org).
	Signals, Users, Unattributed uint64
}

// OrgUser is one row of org_users: a user of the org's population.
type OrgUser struct {
	Tenant, UserID, UserLogin string
	FirstSeen, LastSeen       time.Time
}

// Output is what the engine asks to write, in the same batch as the
// events that caused it. Each slice is sorted (by user id, or by bucket
// and category).
type Output struct {
	Updates  []Update      // attack_factor_updates and attack_factor_latest
	Activity []OrgActivity // org_attack_activity
	Users    []OrgUser     // org_users
}

// Empty reports whether there is nothing to write.
func (o Output) Empty() bool {
	return len(o.Updates) == 0 && len(o.Activity) == 0 && len(o.Users) == 0
}
