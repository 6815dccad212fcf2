package poll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/okta"
	"github.com/riskpipe/riskpipe/internal/store"
)

// Source is the org's System Log (implemented by *okta.Client).
type Source interface {
	PollURL(since time.Time, limit int) string
	Fetch(ctx context.Context, pageURL string) (*okta.Page, error)
}

// Sink persists batches (implemented by *store.Writer). Write returns nil
// only once every row of b and then b.State are confirmed written.
type Sink interface {
	Write(ctx context.Context, bs ...store.Batch) error
}

// StateStore reads a tenant's persisted cursor (implemented by *store.Store).
type StateStore interface {
	LoadPollState(ctx context.Context, tenant string) (store.PollState, bool, error)
}

// Outcome is what classification (and scoring) made of one page: the rows
// to write, in the shape the store takes them, and what the poller's
// status and metrics count. The poller never looks into the rows; it
// writes them with its tenant and the page's cursor.
type Outcome struct {
	// Rows are the page's rows: kept or re-attributed events, dead
	// letters, type counts and the attack-factor rows they caused (its
	// Tenant and State are the poller's to set).
	Rows    store.Batch
	Kept    map[string]int // by category
	Dropped map[string]int // by drop reason
	// NewestPublished is the newest `published` among all the page's
	// events, kept or not (for the lag metric).
	NewestPublished time.Time
}

// ClassifyFunc classifies one page of raw events. raws are valid only
// during the call (the page's buffer is reused afterwards): the Outcome
// must hold copies. It is called by one
// goroutine only (the tenant's poller), exactly once per fetched page, in
// page order: a batch whose write failed is retried as it is, never
// re-classified. It may run while the previous page's batch is being
// written, never concurrently with itself.
type ClassifyFunc func(raws []json.RawMessage, now time.Time) Outcome

// StartFunc is called once the tenant's poll state is known (loaded or
// just recorded), before the first page; it restores state derived from
// ClickHouse (the attack factors) and may return rows to write first. An
// error is retried with backoff.
type StartFunc func(ctx context.Context, st store.PollState) (Outcome, error)

// Settings are the dependencies and knobs of one poller.
type Settings struct {
	Tenant    string
	Interval  time.Duration
	PageLimit int
	Source    Source
	Sink      Sink
	State     StateStore
	Classify  ClassifyFunc
	Start     StartFunc // optional
	Metrics   *Metrics  // optional
	Logger    *slog.Logger
	// Now and Sleep are the clock (default: the real one); Sleep returns
	// ctx's error when ctx ends first. Tests inject a fake one so that
	// long waits take no real time.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxStartDelay caps the jittered start offset (default: Interval).
	MaxStartDelay time.Duration
	// InvalidPageRetries is how often a page whose body is not a JSON array
	// is refetched before it is dead-lettered whole and skipped (default 3).
	InvalidPageRetries int
	// While a write is in flight, a catching-up poller goes on fetching and
	// hands the pages over together once the write is confirmed: at most
	// WritePages pages (default 8) of at most WriteBytes bytes of kept raw
	// events and dead letters (default 512 KiB), plus the one they exceed.
	WritePages int
	WriteBytes int
	// Backoffs (defaults in New).
	RetryMin, RetryMax time.Duration // transport errors, 5xx, ClickHouse down
	AuthMin, AuthMax   time.Duration // 401/403 and other permanent errors
}

// Status is a snapshot of a poller's health.
type Status struct {
	Tenant              string    `json:"tenant"`
	State               State     `json:"state"`
	IntegratedAt        time.Time `json:"integrated_at"`
	LastPoll            time.Time `json:"last_poll"`
	LastSuccess         time.Time `json:"last_success"`
	LastCursorAdvance   time.Time `json:"last_cursor_advance"`
	NewestPublished     time.Time `json:"newest_published"`
	LastError           string    `json:"last_error,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	EventsPolled        uint64    `json:"events_polled"`
	EventsKept          uint64    `json:"events_kept"`
}

// Poller tails one org's System Log.
type Poller struct {
	s   Settings
	log *slog.Logger

	mu     sync.Mutex
	status Status
}

// New builds a poller; it starts nothing.
func New(s Settings) *Poller {
	// Defaults are written in config only.
	d := config.Default().Poll
	if s.Interval <= 0 {
		s.Interval = d.Interval
	}
	if s.PageLimit <= 0 {
		s.PageLimit = d.PageLimit
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Sleep == nil {
		s.Sleep = func(ctx context.Context, d time.Duration) error {
			if !sleep(ctx.Done(), d) {
				return ctx.Err()
			}
			return nil
		}
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.MaxStartDelay <= 0 || s.MaxStartDelay > s.Interval {
		s.MaxStartDelay = s.Interval
	}
	if s.InvalidPageRetries <= 0 {
		s.InvalidPageRetries = 3
	}
	if s.WritePages <= 0 {
		s.WritePages = 8
	}
	if s.WriteBytes <= 0 {
		s.WriteBytes = 512 << 10
	}
	if s.RetryMin <= 0 {
		s.RetryMin = time.Second
	}
	if s.RetryMax <= 0 {
		s.RetryMax = 2 * time.Minute
	}
	if s.AuthMin <= 0 {
		s.AuthMin = 30 * time.Second
	}
	if s.AuthMax <= 0 {
		s.AuthMax = 10 * time.Minute
	}
	return &Poller{
		s:      s,
		log:    s.Logger.With("tenant", s.Tenant),
		status: Status{Tenant: s.Tenant, State: StateStarting},
	}
}

// Status returns a snapshot of the poller's health.
func (p *Poller) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

func (p *Poller) update(f func(*Status)) {
	p.mu.Lock()
	f(&p.status)
	p.mu.Unlock()
}

// sleep waits d on the poller's clock; false when ctx ended first.
func (p *Poller) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	return p.s.Sleep(ctx, d) == nil
}

// startOffset spreads tenants' first polls over the interval,
// deterministically per tenant (Prometheus' scrape offset).
func (p *Poller) startOffset() time.Duration {
	h := fnv.New64a()
	h.Write([]byte(p.s.Tenant))
	return time.Duration(h.Sum64() % uint64(p.s.MaxStartDelay))
}

// Run polls until ctx is cancelled and then returns nil. It never gives up
// on its own: every failure is retried with backoff.
//
// Fetching and writing overlap (write-behind): while one write is in
// flight, a catching-up poller fetches and classifies the next pages from
// the last page's cursor and hands them over together, in one Write, once
// the write in flight is confirmed. A tenant's batches, and the cursor
// states in them, are thus written strictly in order; at most WritePages
// classified pages (WriteBytes of kept events) wait behind the write in
// flight; and a single busy org puts many pages in each ClickHouse insert
// instead of paying an insert per page.
func (p *Poller) Run(ctx context.Context) error {
	if !p.sleep(ctx, p.startOffset()) {
		return nil
	}
	st, ok := p.initState(ctx)
	if !ok {
		return nil
	}
	p.log.Info("poller started", "integrated_at", st.IntegratedAt, "resumed", st.UpdatedAt.After(st.IntegratedAt))
	if !p.start(ctx, st) {
		return nil
	}

	var (
		retry   = backoff{min: p.s.RetryMin, max: p.s.RetryMax}
		slow    = backoff{min: p.s.AuthMin, max: p.s.AuthMax}
		invalid int
		w       = writeBehind{p: p, retry: backoff{min: p.s.RetryMin, max: p.s.RetryMax}}
		acc     accumulated // classified pages not handed over yet
	)
	// Run never returns while a write runs.
	defer w.wait()
	// handOver waits for the write in flight, then starts the write of the
	// accumulated pages; false when ctx ended.
	handOver := func() bool {
		if !w.wait() || ctx.Err() != nil {
			return false
		}
		if len(acc.batches) > 0 {
			w.start(ctx, acc)
			acc = accumulated{}
		}
		return true
	}
	// settle writes everything classified and waits for it: before a
	// failure is recorded (the pages before it come first in the status
	// and metrics) and before sleeping.
	settle := func() bool { return handOver() && w.wait() }
	// From here on st is the state of the last page fetched, the one the
	// next page is fetched from; what is confirmed written lags behind it
	// by the write in flight and the accumulated pages.
	roundStart := p.s.Now()
	for {
		if ctx.Err() != nil {
			return nil
		}
		began := p.s.Now()
		p.update(func(s *Status) { s.LastPoll = began })
		page, err := p.s.Source.Fetch(ctx, st.Cursor)
		p.s.Metrics.observePoll(p.s.Tenant, p.s.Now().Sub(began), err)
		if err != nil {
			if !settle() || ctx.Err() != nil {
				return nil
			}
			if !p.sleep(ctx, p.onFetchError(err, &retry, &slow)) {
				return nil
			}
			continue
		}
		retry.reset()
		slow.reset()

		var out Outcome
		polled, full := len(page.Events), len(page.Events) >= p.s.PageLimit && page.Invalid == nil
		if page.Invalid != nil {
			invalid++
			if invalid <= p.s.InvalidPageRetries || page.Next == "" || page.Next == st.Cursor {
				page.Release()
				if !settle() {
					return nil
				}
				p.fail(StateBackingOff, fmt.Errorf("invalid page body: %w", page.Invalid))
				p.s.Metrics.fetchError(p.s.Tenant, "invalid_page")
				if !p.sleep(ctx, retry.next()) {
					return nil
				}
				continue
			}
			// Refetching did not help: keep the body (nothing is lost)
			// and move on so the tenant is not stuck forever.
			p.log.Warn("dead-lettering an invalid page after retries", "retries", invalid-1, "err", page.Invalid)
			out = Outcome{Rows: store.Batch{DeadLetters: []store.DeadLetter{{
				Reason:     "invalid page: " + page.Invalid.Error(),
				Payload:    bytes.Clone(page.Body), // the page's buffer is reused
				ReceivedAt: p.s.Now(),
			}}}}
		} else {
			out = p.s.Classify(page.Events, p.s.Now())
		}
		// Classify copied what it keeps: the body's buffer may serve
		// another tenant's page now (okta.Buffers).
		page.Release()
		invalid = 0

		next := page.Next
		if next == "" {
			// Polling requests always carry rel="next"; without one, poll
			// the same position again (duplicates are deduplicated).
			next = st.Cursor
		}
		newState := st
		newState.Cursor = next
		newState.UpdatedAt = p.s.Now()
		b := out.Rows
		b.Tenant, b.State = p.s.Tenant, &newState
		acc.add(b, polled, out)
		st = newState

		if full && w.busy() && len(acc.batches) < p.s.WritePages && acc.bytes < p.s.WriteBytes {
			continue // catching up: fetch more while the write is in flight
		}
		// The write in flight must be confirmed before these pages are
		// handed over: this is where a slow or failing ClickHouse holds
		// the poller back.
		if !handOver() {
			return nil
		}
		if full {
			continue // catching up: fetch the next page while this is written
		}
		// Caught up: the round ends when its last page is confirmed.
		if !w.wait() {
			return nil
		}
		p.update(func(s *Status) { s.State = StateCaughtUp })
		wait := p.s.Interval - p.s.Now().Sub(roundStart)
		if wait <= 0 {
			// The round (a catch-up) outlasted the interval: wait a full
			// interval from its end rather than poll again at once, which
			// would most likely return next to nothing.
			wait = p.s.Interval
		}
		if !p.sleep(ctx, wait) {
			return nil
		}
		roundStart = p.s.Now()
	}
}

// accumulated are classified pages waiting to be handed over in one Write.
type accumulated struct {
	batches []store.Batch
	pages   []pageResult
	bytes   int // raw bytes of kept events and dead letters
}

// pageResult is what a page's status and metrics need once it is written.
type pageResult struct {
	polled int
	out    Outcome
}

func (a *accumulated) add(b store.Batch, polled int, out Outcome) {
	a.batches = append(a.batches, b)
	a.pages = append(a.pages, pageResult{polled: polled, out: out})
	a.bytes += b.Bytes()
}

// writeBehind is the write in flight of one Run: the batches of one or
// more pages, written by their own goroutine while Run fetches and
// classifies the next pages. Only Run's goroutine calls its methods.
type writeBehind struct {
	p *Poller
	// retry is the write's backoff, used by one write goroutine at a time
	// (the next one starts after wait returned).
	retry backoff

	done    chan bool // nil: no write in flight
	settled *bool     // the write's result once busy saw it
	pages   []pageResult
}

// start writes acc's batches in a new goroutine. No write may be in
// flight (wait returned).
func (w *writeBehind) start(ctx context.Context, acc accumulated) {
	p, retry, done := w.p, &w.retry, make(chan bool, 1)
	w.done, w.settled, w.pages = done, nil, acc.pages
	go func() { done <- p.write(ctx, acc.batches, retry) }()
}

// busy reports whether a write is still in flight, without blocking.
func (w *writeBehind) busy() bool {
	if w.done == nil || w.settled != nil {
		return false
	}
	select {
	case ok := <-w.done:
		w.settled = &ok
		return false
	default:
		return true
	}
}

// wait blocks until the write in flight, if any, is confirmed, and then
// records its pages (status, metrics) in order. It reports false when the
// write was given up because ctx ended.
func (w *writeBehind) wait() bool {
	if w.done == nil {
		return true
	}
	var ok bool
	if w.settled != nil {
		ok = *w.settled
	} else {
		ok = <-w.done
	}
	w.done, w.settled = nil, nil
	if ok {
		for _, pg := range w.pages {
			w.p.afterPage(pg.polled, pg.out)
		}
	}
	w.pages = nil
	return ok
}

// initState loads the tenant's cursor or, on its first start, records the
// integration time and the first polling URL. It retries until it succeeds
// or ctx ends.
func (p *Poller) initState(ctx context.Context) (store.PollState, bool) {
	retry := backoff{min: p.s.RetryMin, max: p.s.RetryMax}
	for {
		st, found, err := p.s.State.LoadPollState(ctx, p.s.Tenant)
		if err == nil && found && st.Cursor != "" {
			p.update(func(s *Status) { s.IntegratedAt = st.IntegratedAt; s.State = StatePolling })
			return st, true
		}
		if err == nil {
			now := p.s.Now().UTC().Truncate(time.Millisecond)
			st = store.PollState{
				Tenant:       p.s.Tenant,
				IntegratedAt: now,
				Cursor:       p.s.Source.PollURL(now, p.s.PageLimit),
				UpdatedAt:    now,
			}
			err = p.s.Sink.Write(ctx, store.Batch{Tenant: p.s.Tenant, State: &st})
			if err == nil {
				p.log.Info("tenant integrated: polling forward from now", "integrated_at", now)
				p.update(func(s *Status) { s.IntegratedAt = now; s.State = StatePolling })
				return st, true
			}
		}
		if ctx.Err() != nil {
			return store.PollState{}, false
		}
		p.fail(StateWriteError, fmt.Errorf("load poll state: %w", err))
		if !p.sleep(ctx, retry.next()) {
			return store.PollState{}, false
		}
	}
}

// start runs the StartFunc until it succeeds and its rows are written, or
// ctx ends.
func (p *Poller) start(ctx context.Context, st store.PollState) bool {
	if p.s.Start == nil {
		return true
	}
	retry := backoff{min: p.s.RetryMin, max: p.s.RetryMax}
	for {
		out, err := p.s.Start(ctx, st)
		if err == nil {
			b := out.Rows
			b.Tenant, b.State = p.s.Tenant, nil
			if b.Empty() {
				return true
			}
			return p.write(ctx, []store.Batch{b}, &retry)
		}
		if ctx.Err() != nil {
			return false
		}
		p.fail(StateWriteError, fmt.Errorf("start: %w", err))
		if !p.sleep(ctx, retry.next()) {
			return false
		}
	}
}

// write hands bs to the sink until they are confirmed or ctx ends. Rows
// ClickHouse rejects are isolated and dead-lettered (isolate).
func (p *Poller) write(ctx context.Context, bs []store.Batch, retry *backoff) bool {
	for {
		err := p.s.Sink.Write(ctx, bs...)
		if store.IsRowError(err) && ctx.Err() == nil {
			// Retrying would fail the same way for ever (isolate.go).
			err = p.isolate(ctx, retry, bs, err)
		}
		if err == nil {
			retry.reset()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		p.s.Metrics.writeError(p.s.Tenant)
		p.fail(StateWriteError, fmt.Errorf("write batch: %w", err))
		if !p.sleep(ctx, retry.next()) {
			return false
		}
	}
}

// onFetchError records err and returns how long to wait before the next try.
func (p *Poller) onFetchError(err error, retry, slow *backoff) time.Duration {
	var rl *okta.RateLimitedError
	switch {
	case errors.As(err, &rl):
		p.s.Metrics.fetchError(p.s.Tenant, "rate_limited")
		p.fail(StateBackingOff, err)
		wait := rl.Until.Sub(p.s.Now())
		if wait < time.Second {
			wait = time.Second
		}
		return wait
	case okta.IsForbidden(err):
		// The credential is valid but may not read the log (a role or
		// scope removed in Okta): retried slowly, it recovers by itself
		// when the permission returns.
		p.s.Metrics.fetchError(p.s.Tenant, "forbidden")
		p.fail(StatePermissionDenied, err)
		return slow.next()
	case okta.IsAuth(err):
		p.s.Metrics.fetchError(p.s.Tenant, "auth")
		p.fail(StateAuthError, err)
		return slow.next()
	case okta.IsRetryable(err):
		p.s.Metrics.fetchError(p.s.Tenant, "retryable")
		p.fail(StateBackingOff, err)
		return retry.next()
	default:
		p.s.Metrics.fetchError(p.s.Tenant, "permanent")
		p.fail(StateBackingOff, err)
		return slow.next()
	}
}

func (p *Poller) fail(state State, err error) {
	var first bool
	p.update(func(s *Status) {
		first = s.ConsecutiveFailures == 0
		s.State = state
		s.LastError = err.Error()
		s.ConsecutiveFailures++
	})
	// Log transitions, not every retry.
	if first {
		p.log.Warn("poller failing; retrying with backoff", "state", state, "err", err)
	}
}

// afterPage records a page of polled events whose batch was confirmed.
func (p *Poller) afterPage(polled int, out Outcome) {
	now := p.s.Now()
	newest := out.NewestPublished
	var recovered bool
	kept := 0
	for _, n := range out.Kept {
		kept += n
	}
	p.update(func(s *Status) {
		recovered = s.ConsecutiveFailures > 0
		s.State = StatePolling
		s.LastSuccess = now
		s.LastError = ""
		s.ConsecutiveFailures = 0
		s.EventsPolled += uint64(polled)
		s.EventsKept += uint64(kept)
		if polled > 0 {
			s.LastCursorAdvance = now
		}
		if newest.After(s.NewestPublished) {
			s.NewestPublished = newest
		}
	})
	if recovered {
		p.log.Info("poller recovered")
	}
	p.s.Metrics.observePage(p.s.Tenant, polled, out, now)
}
