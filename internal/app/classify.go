package app

import (
	"encoding/json"
	"time"

	"github.com/riskpipe/riskpipe/internal/classify"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/store"
)

// NewClassifyFunc adapts one tenant's classifier to the poller, without
// attack-factor scoring: it turns a classify.Result into the rows of a
// store.Batch and the counts the poller's metrics need.
func NewClassifyFunc(extraEventTypes []string) poll.ClassifyFunc {
	c := classify.New(extraEventTypes)
	return func(raws []json.RawMessage, now time.Time) poll.Outcome {
		res := c.Page(raws, now)
		return outcome(res, now)
	}
}

// outcome turns a classify.Result into the rows of a store.Batch.
func outcome(res classify.Result, now time.Time) poll.Outcome {
	day := now.UTC().Truncate(24 * time.Hour)
	out := poll.Outcome{
		Kept:            map[string]int{},
		Dropped:         map[string]int{},
		NewestPublished: res.NewestPublished,
	}
	rows := &out.Rows
	rows.Events = make([]event.Event, 0, len(res.Kept)+len(res.Updated))
	rows.Events = append(rows.Events, res.Kept...)
	rows.Events = append(rows.Events, res.Updated...)

	// Kept counts per (event type, category); dropped per (type, reason).
	type key struct{ typ, cat string }
	kept := map[key]uint64{}
	for i := range res.Kept {
		e := &res.Kept[i]
		out.Kept[string(e.Category)]++
		kept[key{e.EventType, string(e.Category)}]++
	}
	for k, n := range kept {
		rows.Counts = append(rows.Counts, store.TypeCount{Day: day, EventType: k.typ, Kept: true, Reason: k.cat, Events: n})
	}
	for _, d := range res.Dropped {
		out.Dropped[string(d.Reason)] += d.Count
		rows.Counts = append(rows.Counts, store.TypeCount{Day: day, EventType: d.EventType, Reason: string(d.Reason), Events: uint64(d.Count)})
	}
	for _, dl := range res.DeadLetters {
		reason := dl.Reason
		if dl.Detail != "" {
			reason += ": " + dl.Detail
		}
		rows.DeadLetters = append(rows.DeadLetters, store.DeadLetter{Reason: reason, Payload: dl.Payload, ReceivedAt: now})
	}
	return out
}
