package poll

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/store"
)

// Isolating rows ClickHouse rejects.
//
// A write that fails with a row error (store.IsRowError: a value the driver
// cannot convert, a value ClickHouse cannot parse, a violated constraint)
// fails again for the same rows however often it is retried, and would
// block its tenant for good. As the OpenTelemetry Collector's exporters do
// with permanent errors, the poller then isolates the offending rows
// instead of retrying: it writes the failed batches one by one, splits a
// batch that still fails in halves until the rejected rows stand alone
// (bisection: about 2·k·log2(n) inserts for k bad rows among n), writes
// every other row, dead-letters each rejected row with ClickHouse's reason,
// and only then writes the batch's cursor. Errors about the schema, the
// query or access (store.PermanentError without Rows) are not isolated:
// every row would fail, so the tenant keeps retrying without advancing and
// reports write_error until an operator fixes the cause.

// part is one row (an event, a dead letter) or the derived rows of a batch
// (type counts and attack-factor rows, written together).
type part struct {
	batch store.Batch // Tenant and exactly one of the row fields set
	// payload and what are what a rejected part's dead letter keeps.
	payload func() []byte
	what    string
}

// parts splits b (without its State) into the parts bisection works on.
func parts(b store.Batch) []part {
	var ps []part
	for _, e := range b.Events {
		ps = append(ps, part{
			batch:   store.Batch{Tenant: b.Tenant, Events: []event.Event{e}},
			payload: func() []byte { return e.Raw },
			what:    "event " + e.ID,
		})
	}
	for _, d := range b.DeadLetters {
		ps = append(ps, part{
			batch:   store.Batch{Tenant: b.Tenant, DeadLetters: []store.DeadLetter{d}},
			payload: func() []byte { return d.Payload },
			what:    "dead letter (" + d.Reason + ")",
		})
	}
	if len(b.Counts) > 0 || !b.Scores.Empty() {
		derived := store.Batch{Tenant: b.Tenant, Counts: b.Counts, Scores: b.Scores}
		ps = append(ps, part{
			batch: derived,
			payload: func() []byte {
				j, err := json.Marshal(struct {
					Counts any `json:"counts,omitempty"`
					Scores any `json:"scores,omitempty"`
				}{derived.Counts, derived.Scores})
				if err != nil {
					return []byte(err.Error())
				}
				return j
			},
			what: "type counts and attack-factor rows",
		})
	}
	return ps
}

// merge is one batch of ps's rows.
func merge(tenant string, ps []part) store.Batch {
	b := store.Batch{Tenant: tenant}
	for _, p := range ps {
		b.Events = append(b.Events, p.batch.Events...)
		b.DeadLetters = append(b.DeadLetters, p.batch.DeadLetters...)
		b.Counts = append(b.Counts, p.batch.Counts...)
		b.Scores.Updates = append(b.Scores.Updates, p.batch.Scores.Updates...)
		b.Scores.Activity = append(b.Scores.Activity, p.batch.Scores.Activity...)
		b.Scores.Users = append(b.Scores.Users, p.batch.Scores.Users...)
	}
	return b
}

// isolate writes bs, whose write together failed with the row error
// failed, batch by batch, isolating and dead-lettering the rejected rows.
// It returns nil once every batch (and its State) is written, or the error
// that stopped it: a non-row permanent error, or ctx's.
func (p *Poller) isolate(ctx context.Context, retry *backoff, bs []store.Batch, failed error) error {
	for _, b := range bs {
		err := failed
		if len(bs) > 1 {
			err = p.writeRetrying(ctx, retry, b)
		}
		if err == nil {
			continue
		}
		ps := parts(b)
		if !store.IsRowError(err) || len(ps) == 0 {
			return err
		}
		var rejected []store.DeadLetter
		if err := p.bisect(ctx, retry, b.Tenant, ps, err, &rejected); err != nil {
			return err
		}
		if len(rejected) > 0 {
			p.log.Warn("dead-lettered rows ClickHouse rejects and wrote the rest of the page",
				"rows", len(rejected), "first_reason", rejected[0].Reason)
			p.s.Metrics.deadLetters(p.s.Tenant, len(rejected))
		}
		// The rejected rows' dead letters, then the cursor. Should even
		// these be rejected, the tenant stalls (write_error) as before.
		if err := p.writeRetrying(ctx, retry, store.Batch{Tenant: b.Tenant, DeadLetters: rejected, State: b.State}); err != nil {
			return err
		}
	}
	return nil
}

// bisect writes ps, whose write together failed with the row error
// failed, in halves until each rejected part stands alone; rejected parts
// are appended to rejected as dead letters with ClickHouse's reason.
func (p *Poller) bisect(ctx context.Context, retry *backoff, tenant string, ps []part, failed error, rejected *[]store.DeadLetter) error {
	if len(ps) == 1 {
		*rejected = append(*rejected, store.DeadLetter{
			Reason:     fmt.Sprintf("rejected by ClickHouse (%s): %v", ps[0].what, failed),
			Payload:    ps[0].payload(),
			ReceivedAt: p.s.Now(),
		})
		return nil
	}
	half := len(ps) / 2
	for _, h := range [][]part{ps[:half], ps[half:]} {
		err := p.writeRetrying(ctx, retry, merge(tenant, h))
		if err == nil {
			continue
		}
		if !store.IsRowError(err) {
			return err
		}
		if err := p.bisect(ctx, retry, tenant, h, err, rejected); err != nil {
			return err
		}
	}
	return nil
}

// writeRetrying writes bs, retrying retryable errors with backoff (in
// place: rows already written stay written); it returns nil, a permanent
// error, or ctx's error.
func (p *Poller) writeRetrying(ctx context.Context, retry *backoff, bs ...store.Batch) error {
	for {
		err := p.s.Sink.Write(ctx, bs...)
		if err == nil || !store.IsRetryable(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.s.Metrics.writeError(p.s.Tenant)
		p.fail(StateWriteError, fmt.Errorf("write batch: %w", err))
		if !p.sleep(ctx, retry.next()) {
			return ctx.Err()
		}
	}
}
