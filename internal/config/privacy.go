package config

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Privacy configures privacy requests (docs/privacy.md).
type Privacy struct {
	// HashKey keys the HMAC-SHA256 of emails and user ids that the audit
	// (privacy_requests) and suppression keep instead of the identifiers.
	// Required for privacy requests; at least 16 characters. Changing it
	// makes earlier hashes unmatchable.
	HashKey Secret `yaml:"hash_key"`
	// SyncTimeout: a deletion over the API that takes longer answers 202
	// and keeps running (GET /api/v1/privacy/requests/{id}). Default 60s.
	SyncTimeout time.Duration `yaml:"sync_timeout"`
	// SuppressDeleted drops (and counts) future events about a deleted
	// person instead of storing them again. Default false: security
	// monitoring continues (legitimate interest, docs/privacy.md).
	SuppressDeleted bool `yaml:"suppress_deleted"`
}

// minHashKeyLen is the shortest privacy.hash_key accepted.
const minHashKeyLen = 16

// RetentionTables are the tables retention can apply to, in the order the
// docs list them.
var RetentionTables = []string{"risk_events", "attack_factor_updates", "dead_letters", "event_type_counts",
	"org_attack_activity", "notifications", "response_actions", "privacy_requests"}

// Retention is how long each table keeps rows (0: forever), by table name.
type Retention map[string]time.Duration

// DefaultRetention is the retention an empty retention block gives:
// every table keeps its rows (0), so that upgrading never deletes history
// nobody chose to delete. configs/example.yaml shows recommended ages.
func DefaultRetention() Retention { return Retention{} }

// Day and Year are the units of retention ages (d, y; a year is 365 days).
const (
	Day  = 24 * time.Hour
	Year = 365 * Day
)

// ParseAge parses a retention age: 0, a Go duration (36h), or a whole
// number of days (400d) or years (3y).
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	for suffix, unit := range map[string]time.Duration{"d": Day, "y": Year} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("invalid age %q", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid age %q", s)
	}
	return d, nil
}

// Tables lists the tables with a retention, sorted.
func (r Retention) Tables() []string {
	out := make([]string, 0, len(r))
	for t, d := range r {
		if d > 0 {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

func (d *decoder) privacy(n *yaml.Node, path string, p *Privacy) {
	d.mapping(n, path, map[string]field{
		"hash_key":         d.secret(&p.HashKey),
		"sync_timeout":     d.duration(&p.SyncTimeout),
		"suppress_deleted": d.boolean(&p.SuppressDeleted),
	})
}

func (d *decoder) retention(n *yaml.Node, path string, r Retention) {
	fields := map[string]field{}
	for _, t := range RetentionTables {
		fields[t] = func(n *yaml.Node, p string) {
			s, ok := d.scalar(n, p, "an age (0, 400d, 3y, 36h)")
			if !ok {
				return
			}
			v, err := ParseAge(s)
			if err != nil {
				d.ps.add(p, "invalid age "+d.quote(n)+": want 0 (keep forever), days (400d), years (3y) or a duration (36h)")
				return
			}
			r[t] = v
		}
	}
	d.mapping(n, path, fields)
}

func (v *validator) privacy(p Privacy, tokens []APIToken) {
	if p.HashKey != "" && len(p.HashKey) < minHashKeyLen {
		v.ps.addf("privacy.hash_key", "must be at least %d characters", minHashKeyLen)
	}
	if p.HashKey == "" && slices.ContainsFunc(tokens, func(t APIToken) bool { return t.HasRole(RolePrivacy) }) {
		v.ps.add("privacy.hash_key", "required when an API token has the privacy role")
	}
	v.positive("privacy.sync_timeout", p.SyncTimeout)
}
