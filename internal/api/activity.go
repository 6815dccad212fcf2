package api

import (
	"net/http"
	"time"
)

// Activity is the answer of GET /api/v1/activity: kept events per time
// bucket and category, counted once each (by event_id).
type Activity struct {
	Orgs []string  `json:"orgs"`
	Step string    `json:"step"` // hour | day (UTC)
	From time.Time `json:"from"` // the first bucket's start
	To   time.Time `json:"to"`
	// Buckets are the buckets' starts, every one from From to To, also
	// those without events.
	Buckets []time.Time `json:"buckets"`
	// Series has one entry per category (every category, in a fixed
	// order), with a count per bucket.
	Series []ActivitySeries `json:"series"`
}

// ActivitySeries is one category's counts, aligned with Activity.Buckets.
type ActivitySeries struct {
	Category string   `json:"category"`
	Counts   []uint64 `json:"counts"`
}

// maxBuckets bounds the answer's size.
const maxBuckets = 2000

func (a *API) activity(r *http.Request) (any, error) {
	orgs, err := queryOrgs(r)
	if err != nil {
		return nil, err
	}
	from, to, step, size, n, err := a.bucketRange(r)
	if err != nil {
		return nil, err
	}
	out := Activity{Orgs: orgs, Step: step, From: from, To: to, Buckets: make([]time.Time, n)}
	index := map[string]int{}
	for i, c := range categories {
		out.Series = append(out.Series, ActivitySeries{Category: c, Counts: make([]uint64, n)})
		index[c] = i
	}
	for i := range out.Buckets {
		out.Buckets[i] = from.Add(time.Duration(i) * size)
	}
	if len(orgs) == 0 {
		return out, nil
	}
	counts, err := a.r.CategoryCounts(r.Context(), orgs, from, to, size)
	if err != nil {
		return nil, err
	}
	for _, k := range counts {
		i := int(k.Bucket.Sub(from) / size)
		c, known := index[k.Category]
		if known && i >= 0 && i < n {
			out.Series[c].Counts[i] += k.Events
		}
	}
	return out, nil
}
