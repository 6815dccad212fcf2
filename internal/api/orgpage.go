package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/threat"
)

// HealthHistory is the answer of GET /api/v1/orgs/{org}/health: what the
// org's poller delivered per UTC hour or day, read back from ClickHouse
// (so it spans restarts): kept events, how long after Okta published them
// they landed (lag), and the input it could not use (dead letters).
type HealthHistory struct {
	Org     string         `json:"org"`
	Step    string         `json:"step"`
	From    time.Time      `json:"from"`
	To      time.Time      `json:"to"`
	Buckets []HealthBucket `json:"buckets"`
	// Polls are the poller's health windows of the range (5 minutes each:
	// how often its status was sampled, how often it was failing, the
	// worst state and the last error), kept in memory by the running
	// process for 24 hours: empty before it started.
	Polls []poll.HealthWindow `json:"polls"`
}

// HealthBucket is one hour or day of HealthHistory. Lags are null for a
// bucket without kept events.
type HealthBucket struct {
	Start         time.Time `json:"start"`
	Kept          uint64    `json:"kept"`
	LagAvgSeconds *float64  `json:"lag_avg_seconds"`
	LagMaxSeconds *float64  `json:"lag_max_seconds"`
	DeadLetters   uint64    `json:"dead_letters"`
}

// Attacks is the answer of GET /api/v1/orgs/{org}/attacks.
type Attacks struct {
	Org     string          `json:"org"`
	From    time.Time       `json:"from"`
	To      time.Time       `json:"to"`
	Attacks []threat.Attack `json:"attacks"`
}

// timeRange reads ?from= and ?to= (default: the 7 days before now).
func (a *API) timeRange(r *http.Request) (from, to time.Time, err error) {
	if to, err = timeParam(r, "to", a.s.Now()); err != nil {
		return
	}
	if from, err = timeParam(r, "from", notBeforeMinTime(to.Add(-7*24*time.Hour))); err != nil {
		return
	}
	return from.UTC(), to.UTC(), nil
}

// bucketRange reads from, to and step (hour or day) of a bucketed answer:
// from rounded down to the step, n buckets up to to, at most maxBuckets.
func (a *API) bucketRange(r *http.Request) (from, to time.Time, step string, size time.Duration, n int, err error) {
	if step, err = enumParam(r, "step", "hour", "day"); err != nil {
		return
	}
	if from, to, err = a.timeRange(r); err != nil {
		return
	}
	size = time.Hour
	if step == "day" {
		size = 24 * time.Hour
	}
	from, to = from.Truncate(size).UTC(), to.UTC()
	n = int(to.Sub(from)/size) + 1
	if !from.Before(to) || n > maxBuckets {
		err = badRequest("from must be before to, with at most %d %ss between them", maxBuckets, step)
	}
	return
}

func (a *API) orgHealth(r *http.Request) (any, error) {
	org, err := pathOrg(r)
	if err != nil {
		return nil, err
	}
	from, to, step, size, n, err := a.bucketRange(r)
	if err != nil {
		return nil, err
	}
	out := HealthHistory{Org: org, Step: step, From: from, To: to, Buckets: make([]HealthBucket, n), Polls: []poll.HealthWindow{}}
	if a.s.HealthLog != nil {
		if w := a.s.HealthLog(org, from, to); w != nil {
			out.Polls = w
		}
	}
	for i := range out.Buckets {
		out.Buckets[i].Start = from.Add(time.Duration(i) * size)
	}
	ctx := r.Context()
	bucketOf := func(start time.Time) *HealthBucket {
		i := int(start.Sub(from) / size)
		if i < 0 || i >= n {
			return nil
		}
		return &out.Buckets[i]
	}
	lags, err := a.r.IngestLag(ctx, org, from, to, size)
	if err != nil {
		return nil, fmt.Errorf("lag history: %w", err)
	}
	for _, l := range lags {
		if b := bucketOf(l.Start); b != nil {
			avg, mx := l.AvgLag, l.MaxLag
			b.Kept, b.LagAvgSeconds, b.LagMaxSeconds = l.Events, &avg, &mx
		}
	}
	dead, err := a.r.DeadLetterCounts(ctx, org, from, to, size)
	if err != nil {
		return nil, fmt.Errorf("dead letter history: %w", err)
	}
	for _, d := range dead {
		if b := bucketOf(d.Start); b != nil {
			b.DeadLetters = d.Letters
		}
	}
	return out, nil
}

// orgAttacks reads the org's security.attack.start and .end events of the
// range and pairs them (threat.Timeline).
func (a *API) orgAttacks(r *http.Request) (any, error) {
	org, err := pathOrg(r)
	if err != nil {
		return nil, err
	}
	from, to, err := a.timeRange(r)
	if err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, badRequest("from must be before to")
	}
	marks, err := a.r.AttackMarks(r.Context(), org, from, to)
	if err != nil {
		return nil, fmt.Errorf("attacks: %w", err)
	}
	out := Attacks{Org: org, From: from, To: to, Attacks: threat.Timeline(marks)}
	if out.Attacks == nil {
		out.Attacks = []threat.Attack{}
	}
	return out, nil
}
