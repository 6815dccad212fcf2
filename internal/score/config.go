package score

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Weight keys: the keys of Config.Weights. A kept event's key is found from
// its category and, for some categories, its level or type (see weightKey).
const (
	// KeyLeakedCredentials: security.breached_credential.detected.
	KeyLeakedCredentials = "leaked_credentials"
	// KeyUserRiskHigh, KeyUserRiskMedium, KeyUserRiskLow: the ITP user risk
	// level set by the user's newest user_risk event that has a level
	// (user.risk.detect, user.risk.change). A state, not a count.
	KeyUserRiskHigh   = "user_risk:HIGH"
	KeyUserRiskMedium = "user_risk:MEDIUM"
	KeyUserRiskLow    = "user_risk:LOW"
	// KeyUserRisk: a user_risk event without a level, e.g. the end user's
	// "this wasn't me" report (user.account.report_suspicious_activity_by_enduser).
	KeyUserRisk = "user_risk"
	// KeyEntityRisk: policy.entity_risk.action (and any other entity_risk
	// event but the evaluation).
	KeyEntityRisk = "entity_risk"
	// KeyEntityRiskEvaluate: policy.entity_risk.evaluate, the evaluation
	// that precedes an action and mostly repeats the user risk change.
	KeyEntityRiskEvaluate = "entity_risk:evaluate"
	// KeyThreatInsight: security.threat.detected (and attack start/end)
	// attributed to the user through its transaction.
	KeyThreatInsight = "threat_insight"
	// KeyHighRisk: any other event Okta rated HIGH risk (sign-in, policy
	// evaluation, MFA).
	KeyHighRisk = "high_risk"
	// KeyFirstSignIn: a high_risk event damped as the known false positive
	// of a new user's first sign-ins (see Config.FirstSignInWindow and
	// Config.FirstSignInReasons).
	KeyFirstSignIn = "high_risk:first_sign_in"
	// KeyExtra: events kept only because the tenant listed their type in
	// extra_event_types. 0 by default: they are written, not scored.
	KeyExtra = "extra"
)

// wkey indexes the weight table.
type wkey uint8

const (
	wLeaked wkey = iota
	wUserRiskHigh
	wUserRiskMedium
	wUserRiskLow
	wUserRisk
	wEntityRisk
	wEntityRiskEvaluate
	wThreatInsight
	wHighRisk
	wFirstSignIn
	wExtra
	numKeys
)

var keyNames = [numKeys]string{
	wLeaked:             KeyLeakedCredentials,
	wUserRiskHigh:       KeyUserRiskHigh,
	wUserRiskMedium:     KeyUserRiskMedium,
	wUserRiskLow:        KeyUserRiskLow,
	wUserRisk:           KeyUserRisk,
	wEntityRisk:         KeyEntityRisk,
	wEntityRiskEvaluate: KeyEntityRiskEvaluate,
	wThreatInsight:      KeyThreatInsight,
	wHighRisk:           KeyHighRisk,
	wFirstSignIn:        KeyFirstSignIn,
	wExtra:              KeyExtra,
}

func (k wkey) String() string { return keyNames[k] }

// DefaultWeights returns the default weight of every key (a new map).
//
// Leaked credentials and ITP HIGH weigh most: each alone makes a "high"
// score. A ThreatInsight detection attributed to the user (a password spray
// that reached the account) and an entity risk policy action come next,
// then the end user's own report and ITP MEDIUM. A HIGH-risk sign-in
// weighs least of the risk signals, and a damped first sign-in almost
// nothing.
func DefaultWeights() map[string]float64 {
	return map[string]float64{
		KeyLeakedCredentials:  40,
		KeyUserRiskHigh:       40,
		KeyUserRisk:           30,
		KeyThreatInsight:      25,
		KeyEntityRisk:         20,
		KeyUserRiskMedium:     15,
		KeyHighRisk:           10,
		KeyEntityRiskEvaluate: 5,
		KeyFirstSignIn:        2,
		KeyUserRiskLow:        0,
		KeyExtra:              0,
	}
}

// Bands are the lowest scores of the medium, high and critical levels;
// below Medium a score is low.
type Bands struct {
	Medium, High, Critical float64
}

// The levels.
const (
	LevelLow      = "low"
	LevelMedium   = "medium"
	LevelHigh     = "high"
	LevelCritical = "critical"
)

// Level returns the band of a score.
func (b Bands) Level(score float64) string {
	switch {
	case score >= b.Critical:
		return LevelCritical
	case score >= b.High:
		return LevelHigh
	case score >= b.Medium:
		return LevelMedium
	}
	return LevelLow
}

// Config tunes the attack factor. A zero field takes its default (see
// DefaultConfig), so Config{} behaves like DefaultConfig().
type Config struct {
	// HalfLife: a signal's weight halves every HalfLife (default 14 days).
	HalfLife time.Duration
	// PopulationWindow: a user belongs to the org's population while seen
	// in its System Log within this window (default 30 days). It is also
	// the window of Update.Signals.
	PopulationWindow time.Duration
	// Horizon: signals older than this are ignored and forgotten
	// (default 10 half-lives, where a signal keeps under 0.1% of its
	// weight).
	Horizon time.Duration
	// Weights overrides DefaultWeights key by key: keys not listed keep
	// their default, a listed 0 disables the key. Keys are the Key*
	// constants.
	Weights map[string]float64
	// RepeatFactor: the user's signals are sorted by decayed weight and the
	// k-th strongest (k = 0, 1, ...) counts RepeatFactor^k of it (default
	// 0.5: repeats add up to at most twice the strongest). In (0, 1].
	RepeatFactor float64
	// Scale maps the weighted sum x to the score 100·(1 − e^(−x/Scale))
	// (default 50).
	Scale float64
	// Bands of the level (default 20, 40, 65).
	Bands Bands
	// FirstSignInWindow: a high_risk event at most this long after the
	// user was first seen is damped to KeyFirstSignIn, unless the user was
	// first seen within this long after the org's integration (then we do
	// not know they are new). Default 24 hours.
	FirstSignInWindow time.Duration
	// FirstSignInReasons: a high_risk event whose risk reasons are all in
	// this list is damped to KeyFirstSignIn whoever the user is (matched
	// ignoring case and blanks). nil: "New Device", "New IP",
	// "New Geo-Location"; an empty non-nil list turns this rule off.
	FirstSignInReasons []string
	// MaxSignalsPerUser bounds the signals kept per user (default 64):
	// the strongest are kept (which are the same at every later time, as
	// all decay alike). The user's ITP level keeps its 4 newest events
	// besides.
	MaxSignalsPerUser int
	// RefreshEvery is how often the caller should call Refresh (default 1
	// hour). The engine only uses it in RefreshDue.
	RefreshEvery time.Duration
	// MaterialChange: Refresh writes a user whose score or percentile moved
	// by at least this many points since the user's last row (default 5),
	// or whose level or signal count changed, or whose score or percentile
	// reached or left 0.
	MaterialChange float64
	// ActivityBucket is the time bucket of org_attack_activity (default 1
	// hour; a divisor of 24 hours keeps buckets aligned to UTC days).
	ActivityBucket time.Duration
	// ActivityWindow: events published longer ago than this are no longer
	// counted in org_attack_activity, whose rows are then final (default
	// 48 hours).
	ActivityWindow time.Duration
}

// Defaults.
const (
	DefaultHalfLife          = 14 * 24 * time.Hour
	DefaultPopulationWindow  = 30 * 24 * time.Hour
	DefaultRepeatFactor      = 0.5
	DefaultScale             = 50.0
	DefaultFirstSignInWindow = 24 * time.Hour
	DefaultMaxSignalsPerUser = 64
	DefaultRefreshEvery      = time.Hour
	DefaultMaterialChange    = 5.0
	DefaultActivityBucket    = time.Hour
	DefaultActivityWindow    = 48 * time.Hour
	// horizonHalfLives is the default Horizon in half-lives.
	horizonHalfLives = 10
	// maxITPEvents is how many user_risk level events are kept per user.
	maxITPEvents = 4
)

// DefaultBands returns the default level bands: medium from 20, high from
// 40, critical from 65.
func DefaultBands() Bands { return Bands{Medium: 20, High: 40, Critical: 65} }

// DefaultFirstSignInReasons are the risk reasons Okta gives a user it has
// no history for.
func DefaultFirstSignInReasons() []string {
	return []string{"New Device", "New IP", "New Geo-Location"}
}

// DefaultConfig returns the defaults, every field set.
func DefaultConfig() Config {
	return Config{
		HalfLife:           DefaultHalfLife,
		PopulationWindow:   DefaultPopulationWindow,
		Horizon:            horizonHalfLives * DefaultHalfLife,
		Weights:            DefaultWeights(),
		RepeatFactor:       DefaultRepeatFactor,
		Scale:              DefaultScale,
		Bands:              DefaultBands(),
		FirstSignInWindow:  DefaultFirstSignInWindow,
		FirstSignInReasons: DefaultFirstSignInReasons(),
		MaxSignalsPerUser:  DefaultMaxSignalsPerUser,
		RefreshEvery:       DefaultRefreshEvery,
		MaterialChange:     DefaultMaterialChange,
		ActivityBucket:     DefaultActivityBucket,
		ActivityWindow:     DefaultActivityWindow,
	}
}

// WithDefaults is c with every zero field at its default (Weights merged
// over the defaults).
func (c Config) WithDefaults() Config { return c.withDefaults() }

// withDefaults fills zero fields and merges Weights over the defaults.
func (c Config) withDefaults() Config {
	if c.HalfLife == 0 {
		c.HalfLife = DefaultHalfLife
	}
	if c.PopulationWindow == 0 {
		c.PopulationWindow = DefaultPopulationWindow
	}
	if c.Horizon == 0 {
		c.Horizon = horizonHalfLives * c.HalfLife
	}
	w := DefaultWeights()
	for k, v := range c.Weights {
		w[k] = v
	}
	c.Weights = w
	if c.RepeatFactor == 0 {
		c.RepeatFactor = DefaultRepeatFactor
	}
	if c.Scale == 0 {
		c.Scale = DefaultScale
	}
	if c.Bands == (Bands{}) {
		c.Bands = DefaultBands()
	}
	if c.FirstSignInWindow == 0 {
		c.FirstSignInWindow = DefaultFirstSignInWindow
	}
	if c.FirstSignInReasons == nil {
		c.FirstSignInReasons = DefaultFirstSignInReasons()
	}
	if c.MaxSignalsPerUser == 0 {
		c.MaxSignalsPerUser = DefaultMaxSignalsPerUser
	}
	if c.RefreshEvery == 0 {
		c.RefreshEvery = DefaultRefreshEvery
	}
	if c.MaterialChange == 0 {
		c.MaterialChange = DefaultMaterialChange
	}
	if c.ActivityBucket == 0 {
		c.ActivityBucket = DefaultActivityBucket
	}
	if c.ActivityWindow == 0 {
		c.ActivityWindow = DefaultActivityWindow
	}
	return c
}

// Validate returns every problem of c (after defaults), joined, each named
// by its snake_case field.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"half_life", c.HalfLife}, {"population_window", c.PopulationWindow}, {"horizon", c.Horizon},
		{"first_sign_in_window", c.FirstSignInWindow}, {"refresh_every", c.RefreshEvery},
		{"activity_bucket", c.ActivityBucket}, {"activity_window", c.ActivityWindow},
	} {
		if d.v < 0 {
			bad(d.name, "must not be negative, got %s", d.v)
		}
	}
	if c.ActivityBucket > 0 && c.ActivityBucket%time.Second != 0 {
		bad("activity_bucket", "must be whole seconds, got %s", c.ActivityBucket)
	}
	known := map[string]bool{}
	for _, k := range keyNames {
		known[k] = true
	}
	var keys []string
	for k := range c.Weights {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := c.Weights[k]
		switch {
		case !known[k]:
			bad("weights."+k, "unknown key (known: %s)", strings.Join(keyNames[:], ", "))
		case v < 0 || math.IsNaN(v) || math.IsInf(v, 0):
			bad("weights."+k, "must be a finite number >= 0, got %v", v)
		}
	}
	w := c.Weights
	for _, o := range [][2]string{
		{KeyUserRiskLow, KeyUserRiskMedium}, {KeyUserRiskMedium, KeyUserRiskHigh},
		{KeyFirstSignIn, KeyHighRisk}, {KeyEntityRiskEvaluate, KeyEntityRisk},
	} {
		if w[o[0]] > w[o[1]] {
			bad("weights."+o[0], "must not exceed weights.%s (%v > %v)", o[1], w[o[0]], w[o[1]])
		}
	}
	if !(c.RepeatFactor > 0 && c.RepeatFactor <= 1) {
		bad("repeat_factor", "must be in (0, 1], got %v", c.RepeatFactor)
	}
	if !(c.Scale > 0) || math.IsInf(c.Scale, 0) {
		bad("scale", "must be a finite number > 0, got %v", c.Scale)
	}
	if b := c.Bands; !(0 <= b.Medium && b.Medium <= b.High && b.High <= b.Critical && b.Critical <= 100) {
		bad("bands", "want 0 <= medium <= high <= critical <= 100, got %v, %v, %v", b.Medium, b.High, b.Critical)
	}
	if c.MaxSignalsPerUser < 0 {
		bad("max_signals_per_user", "must not be negative, got %d", c.MaxSignalsPerUser)
	}
	if c.MaterialChange < 0 || math.IsNaN(c.MaterialChange) {
		bad("material_change", "must not be negative, got %v", c.MaterialChange)
	}
	return errors.Join(errs...)
}

// Since says which stored rows Restore needs at a time now.
type Since struct {
	// Signals: kept events attributed to a user (risk_events with
	// user_id != '') published at or after Signals.
	Signals time.Time
	// Events: all kept events (attributed or not) published at or after
	// Events, for org_attack_activity.
	Events time.Time
	// Users: org_users rows whose last_seen is after Users.
	Users time.Time
}

// RestoreSince returns what to load for Restore at time now.
func (c Config) RestoreSince(now time.Time) Since {
	c = c.withDefaults()
	now = now.UTC()
	return Since{
		Signals: now.Add(-c.Horizon),
		Events:  activityCutoff(now, c),
		Users:   now.Add(-c.PopulationWindow),
	}
}

// WeightKeys returns the names of the weight keys (Config.Weights).
func WeightKeys() []string { return append([]string(nil), keyNames[:]...) }
