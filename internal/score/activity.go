package score

import (
	"cmp"
	"hash/maphash"
	"slices"
	"time"

	"github.com/riskpipe/riskpipe/internal/event"
)

// bucketKey is one org_attack_activity row.
type bucketKey struct {
	start int64 // Unix seconds
	cat   event.Category
}

// bucket holds what an absolute org_attack_activity row needs: the ids of
// the events counted (as 64-bit hashes) and who each is attributed to.
type bucket struct {
	events       map[uint64]string // event id hash → user key ("" unattributed)
	users        map[string]int    // user key → events attributed to them
	unattributed uint64
}

// activitySeed hashes event ids for the dedup sets. The hashes live in
// memory only, so a per-process seed is fine.
var activitySeed = maphash.MakeSeed()

// activityCutoff is the start of the oldest live bucket at now.
func activityCutoff(now time.Time, c Config) time.Time {
	return now.Add(-c.ActivityWindow).Truncate(c.ActivityBucket)
}

// advance moves the activity cutoff to now and forgets final buckets. The
// cutoff never moves back, so a forgotten bucket is never rebuilt from a
// late event with a count that would be too low.
func (e *Engine) advance(now time.Time) {
	c := activityCutoff(now, e.cfg)
	if !c.After(e.actCutoff) {
		return
	}
	e.actCutoff = c
	for k := range e.act {
		if k.start < c.Unix() {
			delete(e.act, k)
		}
	}
}

// countActivity counts a kept event in its bucket once, by id. An event
// first seen without a user and later attributed to one (ThreatInsight
// attributed through its transaction) moves from unattributed to the user.
func (e *Engine) countActivity(pg *page, ev *event.Event, u *user, p time.Time) {
	if p.Before(e.actCutoff) {
		return
	}
	k := bucketKey{start: p.Truncate(e.cfg.ActivityBucket).Unix(), cat: ev.Category}
	b := e.act[k]
	if b == nil {
		b = &bucket{events: map[uint64]string{}, users: map[string]int{}}
		e.act[k] = b
	}
	ukey := ""
	if u != nil {
		ukey = u.key
	}
	h := maphash.String(activitySeed, ev.ID)
	prev, seen := b.events[h]
	switch {
	case !seen:
		b.events[h] = ukey
		if ukey == "" {
			b.unattributed++
		} else {
			b.users[ukey]++
		}
	case prev == "" && ukey != "":
		b.events[h] = ukey
		b.unattributed--
		b.users[ukey]++
	default:
		return
	}
	pg.touchBucket(k)
}

// activityRows returns the rows of the given live buckets, sorted.
func (e *Engine) activityRows(keys []bucketKey) []OrgActivity {
	slices.SortFunc(keys, func(a, b bucketKey) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		return cmp.Compare(a.cat, b.cat)
	})
	var out []OrgActivity
	for _, k := range keys {
		b := e.act[k]
		if b == nil {
			continue
		}
		out = append(out, OrgActivity{
			Tenant: e.tenant, Bucket: time.Unix(k.start, 0).UTC(), Category: string(k.cat),
			Signals: uint64(len(b.events)), Users: uint64(len(b.users)), Unattributed: b.unattributed,
		})
	}
	return out
}
