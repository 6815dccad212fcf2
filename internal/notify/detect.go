package notify

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/riskpipe/riskpipe/internal/classify"
	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/score"
)

// sameHour is how close an attack on the org and a leaked credential of
// the same org must be to make a critical incident.
const sameHour = time.Hour

// Detector turns one tenant's confirmed rows (kept events and attack-factor
// updates, in write order) into findings. It is deterministic: the same
// rows give the same findings with the same keys, which is what lets a
// restart replay recent rows without sending anything twice. Not safe for
// concurrent use.
type Detector struct {
	tenant string
	rule   config.CriticalIncident

	levels map[string]string // user -> last level seen
	// critical transitions within rule.Within, oldest first
	crit              []critical
	lastUsersIncident time.Time
	lastAttack        *event.Event // the newest security.attack.start
	lastLeak          time.Time    // the newest leaked credential
	incidentFor       map[string]bool
}

type critical struct {
	at   time.Time
	user User
}

// NewDetector builds the detector of one tenant.
func NewDetector(tenant string, rule config.CriticalIncident) *Detector {
	return &Detector{tenant: tenant, rule: rule, levels: map[string]string{}, incidentFor: map[string]bool{}}
}

// SeedLevels sets the users' levels before the rows to observe (from
// attack_factor_latest or the updates before a replay window), so that a
// user already critical is not announced again.
func (d *Detector) SeedLevels(levels map[string]string) {
	for u, l := range levels {
		d.levels[u] = l
	}
}

// SeedIncident records when the last users critical incident was found, so
// a restart does not announce the same incident under another trigger.
func (d *Detector) SeedIncident(at time.Time) {
	if at.After(d.lastUsersIncident) {
		d.lastUsersIncident = at
	}
}

// Observe returns the findings of one confirmed batch.
func (d *Detector) Observe(events []event.Event, updates []score.Update) []Finding {
	var out []Finding
	evs := make([]event.Event, 0, len(events))
	for _, e := range events {
		if relevant(e) {
			evs = append(evs, e)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Published.Before(evs[j].Published) })
	for _, e := range evs {
		out = append(out, d.event(e)...)
	}
	for _, u := range updates {
		out = append(out, d.update(u)...)
	}
	return out
}

// relevant reports whether the Detector looks at e: ThreatInsight attacks
// on the org and leaked credentials.
func relevant(e event.Event) bool {
	return e.EventType == classify.TypeAttackStart || e.EventType == classify.TypeAttackEnd || e.Category == event.CategoryLeakedCredentials
}

func (d *Detector) event(e event.Event) []Finding {
	at := e.Published.UTC()
	switch {
	case e.EventType == classify.TypeAttackStart:
		e := e
		d.lastAttack = &e
		out := []Finding{{Tenant: d.tenant, Kind: KindAttackStarted, Key: "attack_started|" + d.tenant + "|" + e.ID, At: at,
			Detail: fmt.Sprintf("Okta ThreatInsight reports an attack on the org %s (security.attack.start at %s).", d.tenant, fmtTime(at))}}
		if !d.lastLeak.IsZero() && absDur(at.Sub(d.lastLeak)) <= sameHour {
			out = append(out, d.attackIncident(e, d.lastLeak)...)
		}
		return out
	case e.EventType == classify.TypeAttackEnd:
		return []Finding{{Tenant: d.tenant, Kind: KindAttackEnded, Key: "attack_ended|" + d.tenant + "|" + e.ID, At: at,
			Detail: fmt.Sprintf("Okta ThreatInsight no longer detects an attack on the org %s (security.attack.end at %s).", d.tenant, fmtTime(at))}}
	default: // leaked credential
		if at.After(d.lastLeak) {
			d.lastLeak = at
		}
		if a := d.lastAttack; a != nil && absDur(at.Sub(a.Published)) <= sameHour {
			return d.attackIncident(*a, at)
		}
	}
	return nil
}

// attackIncident is the critical incident of an attack on the org while a
// leaked credential of the same org is seen within the hour; one per attack.
func (d *Detector) attackIncident(attack event.Event, leak time.Time) []Finding {
	key := "critical_incident|" + d.tenant + "|attack|" + attack.ID
	if d.incidentFor[key] {
		return nil
	}
	d.incidentFor[key] = true
	at := attack.Published.UTC()
	if leak.After(at) {
		at = leak.UTC()
	}
	return []Finding{{Tenant: d.tenant, Kind: KindCriticalIncident, Key: key, At: at,
		Detail: fmt.Sprintf("Critical incident in %s: Okta ThreatInsight reports an attack on the org (%s) and a leaked credential of the same org was seen within the hour (%s).",
			d.tenant, fmtTime(attack.Published), fmtTime(leak))}}
}

func (d *Detector) update(u score.Update) []Finding {
	prev := d.levels[u.UserID]
	d.levels[u.UserID] = u.Level
	if u.Level != score.LevelCritical || prev == score.LevelCritical {
		return nil
	}
	at := u.UpdatedAt.UTC()
	cause := u.CauseEventID
	if cause == "" {
		cause = strconv.FormatInt(at.Unix(), 10)
	}
	user := User{ID: u.UserID, Login: u.UserLogin, Score: u.Score, Percentile: u.Percentile, Level: u.Level, Explanation: u.Explanation}
	out := []Finding{{Tenant: d.tenant, Kind: KindUserCritical, Key: "user_critical|" + d.tenant + "|" + u.UserID + "|" + cause, At: at,
		Users: []User{user}, Detail: fmt.Sprintf("%s reached a critical attack factor in %s.", nameOf(user), d.tenant)}}

	// Critical users within the window (one incident per window).
	d.crit = append(d.crit, critical{at: at, user: user})
	keep := d.crit[:0]
	for _, c := range d.crit {
		if at.Sub(c.at) < d.rule.Within {
			keep = append(keep, c)
		}
	}
	d.crit = keep
	distinct := map[string]User{}
	for _, c := range d.crit {
		distinct[c.user.ID] = c.user
	}
	if len(distinct) >= d.rule.CriticalUsers && (d.lastUsersIncident.IsZero() || at.Sub(d.lastUsersIncident) >= d.rule.Within) {
		d.lastUsersIncident = at
		var users []User
		for _, c := range d.crit {
			if u, ok := distinct[c.user.ID]; ok {
				users = append(users, u)
				delete(distinct, c.user.ID)
			}
		}
		out = append(out, Finding{Tenant: d.tenant, Kind: KindCriticalIncident,
			Key: "critical_incident|" + d.tenant + "|users|" + u.UserID + "|" + cause, At: at, Users: users,
			Detail: fmt.Sprintf("Critical incident in %s: %d users reached a critical attack factor within %s.", d.tenant, len(users), fmtDur(d.rule.Within))})
	}
	return out
}

func nameOf(u User) string {
	if u.Login != "" {
		return u.Login
	}
	return u.ID
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

func fmtDur(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	s := d.String()
	for _, suf := range []string{"m0s", "h0m"} {
		if len(s) > len(suf) && s[len(s)-len(suf):] == suf {
			s = s[:len(s)-len(suf)+1]
		}
	}
	return s
}
