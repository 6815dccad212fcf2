package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/score"
)

// DeadLetter is an event that could not be decoded, kept verbatim.
type DeadLetter struct {
	Reason     string
	Payload    []byte
	ReceivedAt time.Time // zero: the flush time
}

// TypeCount counts the polled events of one type on one day (UTC), kept or
// dropped for Reason.
type TypeCount struct {
	Day       time.Time
	EventType string
	Kept      bool
	Reason    string
	Events    uint64
}

// Batch is what one poller hands over for one page.
type Batch struct {
	Tenant      string
	Events      []event.Event // kept (or re-attributed) events -> risk_events
	DeadLetters []DeadLetter
	Counts      []TypeCount
	// Scores are the attack-factor rows the batch's events caused.
	Scores score.Output
	// State is written only after every row above is acknowledged, in
	// the same flush.
	State *PollState
}

// Bytes are the batch's raw events and dead-letter payloads, what
// dominates an insert's memory (WriterOptions.MaxBytes).
func (b Batch) Bytes() int {
	n := 0
	for _, e := range b.Events {
		n += len(e.Raw)
	}
	for _, d := range b.DeadLetters {
		n += len(d.Payload)
	}
	return n
}

// Empty reports whether b holds no row and no state.
func (b Batch) Empty() bool { return b.rows() == 0 }

// rows is what the batch weighs against WriterOptions.MaxRows.
func (b Batch) rows() int {
	n := len(b.Events) + len(b.DeadLetters) + len(b.Counts) +
		2*len(b.Scores.Updates) + len(b.Scores.Activity) + len(b.Scores.Users)
	if b.State != nil {
		n++
	}
	return n
}

// WriterOptions tune the Writer. Zero values take the defaults.
type WriterOptions struct {
	// MaxRows: a flush starts once this many rows are queued (default
	// 10000). A single batch larger than that is flushed on its own.
	MaxRows int
	// MaxBytes does the same for the bytes of raw events and dead-letter
	// payloads (default 8 MiB): it bounds the memory of one insert (the
	// driver encodes and compresses each column in memory).
	MaxBytes int
	// MaxWait is an optional linger: a flush starts at the latest this
	// long after its first batch arrived. Zero (the default) is group
	// commit: a flush starts as soon as a batch arrives and takes every
	// batch already queued; batches arriving during a flush form the next
	// one, so coalescing grows with load and an idle writer adds no delay.
	// Zero takes the config's batch_max_wait; a negative value forces
	// group commit.
	MaxWait time.Duration
	// QueueSize bounds the batches waiting for Run (default 64); Write
	// blocks while it is full.
	QueueSize int
	// WriteTimeout bounds one flush, all its inserts together (default 30s).
	WriteTimeout time.Duration
	// DrainTimeout bounds the flushes Run does after its ctx ended
	// (default 10s); batches still queued then fail with ErrClosed.
	DrainTimeout time.Duration
	Registerer   prometheus.Registerer // nil: no metrics registered
	Logger       *slog.Logger
}

// Writer coalesces many tenants' batches into few inserts. Callers block in
// Write until their batch is committed (rows first, then their poll state)
// or has failed; every batch of a failed flush fails, and its caller
// retries (rows dedup on replay). Run owns the flush loop.
type Writer struct {
	store   *Store
	opts    WriterOptions
	logger  *slog.Logger
	metrics *metrics
	queue   chan *request

	mu       sync.RWMutex
	closed   bool
	stopping chan struct{}
	senders  sync.WaitGroup // Writes between the closed check and the queue
	running  atomic.Bool

	pending     atomic.Int64 // requests taken from the queue, not yet acked
	lastVersion uint64       // Run's goroutine only
}

type request struct {
	ctx     context.Context
	batches []Batch // one Write's, never split across flushes
	rows    int
	bytes   int        // raw events and dead-letter payloads
	done    chan error // buffered: Run never blocks acking
}

// NewWriter builds a Writer on s; Run starts it.
func NewWriter(s *Store, o WriterOptions) *Writer {
	if o.MaxRows <= 0 {
		o.MaxRows = s.cfg.BatchMaxRows
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 8 << 20
	}
	if o.MaxWait == 0 {
		o.MaxWait = s.cfg.BatchMaxWait
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 64
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = s.cfg.WriteTimeout
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = s.logger
	}
	w := &Writer{
		store:    s,
		opts:     o,
		logger:   o.Logger,
		queue:    make(chan *request, o.QueueSize),
		stopping: make(chan struct{}),
	}
	w.metrics = newMetrics(o.Registerer, func() float64 { return float64(len(w.queue)) })
	return w
}

// Write queues bs, the batches of one tenant in order, and blocks until
// their rows and then their States are committed, all in one flush (a
// poller hands over the pages it fetched while its previous write was in
// flight at once). On error nothing of bs may be assumed written (some rows
// may be, and dedup when bs are written again): the caller must not advance
// its cursor. Errors are *RetryableError, *PermanentError, ErrClosed (Run
// has returned) or ctx's error.
func (w *Writer) Write(ctx context.Context, bs ...Batch) error {
	if len(bs) == 0 {
		return nil
	}
	rows, size := 0, 0
	for _, b := range bs {
		size += b.Bytes()
		if b.Tenant == "" {
			return &PermanentError{Err: errors.New("write batch: no tenant")}
		}
		if b.State != nil && b.State.Tenant != "" && b.State.Tenant != b.Tenant {
			return &PermanentError{Err: fmt.Errorf("write batch of %s: state of tenant %s", b.Tenant, b.State.Tenant)}
		}
		rows += b.rows()
	}
	r := &request{ctx: ctx, batches: bs, rows: rows, bytes: size, done: make(chan error, 1)}

	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrClosed
	}
	w.senders.Add(1)
	w.mu.RUnlock()
	select {
	case w.queue <- r:
		w.senders.Done()
	case <-ctx.Done():
		w.senders.Done()
		return ctx.Err()
	case <-w.stopping:
		w.senders.Done()
		return ErrClosed
	}

	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// Run still acks r; a batch whose flush has not started by then
		// is left out of it.
		return ctx.Err()
	}
}

// Run flushes queued batches when MaxRows rows are queued or MaxWait after
// the first one, until ctx ends. Then it stops taking batches (Write
// returns ErrClosed), flushes what was queued within DrainTimeout and
// returns; the error says whether that last flush failed.
func (w *Writer) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("store writer: Run called twice")
	}
	var (
		pending     []*request
		rows, bytes int
	)
	timer := time.NewTimer(w.opts.MaxWait)
	timer.Stop()
	defer timer.Stop()
	flushCtx := context.WithoutCancel(ctx) // ctx ending must not abort a flush
	flush := func(trigger string) {
		timer.Stop()
		_ = w.flush(flushCtx, pending, trigger)
		pending, rows, bytes = nil, 0, 0
	}
	full := func() bool { return rows >= w.opts.MaxRows || bytes >= w.opts.MaxBytes }
	// take adds r, first flushing what is pending if r would overflow it.
	take := func(r *request) {
		w.pending.Add(1)
		if len(pending) > 0 && (rows+r.rows > w.opts.MaxRows || bytes+r.bytes > w.opts.MaxBytes) {
			flush("size")
		}
		pending = append(pending, r)
		rows += r.rows
		bytes += r.bytes
	}
	for {
		select {
		case <-ctx.Done():
			return w.shutdown(flushCtx, pending)
		case r := <-w.queue:
			take(r)
			if w.opts.MaxWait <= 0 {
				// Group commit: take what is already queued, then flush.
			drain:
				for !full() {
					select {
					case r := <-w.queue:
						take(r)
					default:
						break drain
					}
				}
				if full() {
					flush("size")
				} else {
					flush("idle")
				}
				continue
			}
			if full() {
				flush("size")
			} else if len(pending) == 1 {
				timer.Reset(w.opts.MaxWait)
			}
		case <-timer.C:
			flush("age")
		}
	}
}

// shutdown closes the Writer and flushes what is queued, in flushes of at
// most MaxRows, until DrainTimeout; the rest fails with ErrClosed.
func (w *Writer) shutdown(ctx context.Context, pending []*request) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	close(w.stopping)
	w.senders.Wait() // now nothing more can enter the queue
	for more := true; more; {
		select {
		case r := <-w.queue:
			w.pending.Add(1)
			pending = append(pending, r)
		default:
			more = false
		}
	}

	ctx, cancel := context.WithTimeout(ctx, w.opts.DrainTimeout)
	defer cancel()
	var errs []error
	for len(pending) > 0 {
		n, rows, size := 0, 0, 0
		for n < len(pending) && (n == 0 || (rows+pending[n].rows <= w.opts.MaxRows && size+pending[n].bytes <= w.opts.MaxBytes)) {
			rows += pending[n].rows
			size += pending[n].bytes
			n++
		}
		chunk := pending[:n]
		pending = pending[n:]
		if ctx.Err() != nil {
			w.ack(chunk, fmt.Errorf("writer drain timed out after %s: %w", w.opts.DrainTimeout, ErrClosed))
			errs = append(errs, ErrClosed)
			continue
		}
		if err := w.flush(ctx, chunk, "shutdown"); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("store writer: flush at shutdown: %w", errors.Join(errs...))
	}
	return nil
}

// flush writes reqs (leaving out those whose caller gave up) and acks each.
func (w *Writer) flush(ctx context.Context, reqs []*request, trigger string) error {
	live := make([]*request, 0, len(reqs))
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			w.ack([]*request{r}, err)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return nil
	}
	start := time.Now()
	var batches []Batch
	for _, r := range live {
		batches = append(batches, r.batches...)
	}
	f := &flush{batches: batches, now: start.UTC().Truncate(time.Second), base: w.nextVersions(start, len(batches))}
	// The flush's inserts share one deadline, never cancelled early
	// (sendContext, send.go).
	sc, err := sendContext(ctx, w.opts.WriteTimeout)
	var rows int
	if err == nil {
		rows, err = w.write(sc, f)
	}

	w.metrics.flushes.WithLabelValues(trigger).Inc()
	w.metrics.latency.Observe(time.Since(start).Seconds())
	w.metrics.batchRows.Observe(float64(rows))
	if err != nil {
		kind := "permanent"
		if IsRetryable(err) {
			kind = "retryable"
		}
		w.metrics.errors.WithLabelValues(kind).Inc()
		// Returned to every caller, who logs it; debug only here.
		w.logger.Debug("clickhouse flush failed", "batches", len(live), "trigger", trigger, "err", err)
	}
	if IsRowError(err) && len(live) > 1 {
		// Rows ClickHouse rejects fail their whole insert: one caller's
		// bad rows must not fail the other callers' batches coalesced
		// with them. Write each caller's batches on their own (rows the
		// first insert wrote dedup), so that only the caller whose rows
		// are rejected gets the error (and isolates them: poll).
		for _, r := range live {
			_ = w.flush(ctx, []*request{r}, "isolate")
		}
		return err
	}
	w.ack(live, err)
	return err
}

func (w *Writer) ack(reqs []*request, err error) {
	for _, r := range reqs {
		r.done <- err
	}
	w.pending.Add(-int64(len(reqs)))
}

// nextVersions reserves n versions (nanosecond write time), increasing
// strictly across flushes even if the clock steps back.
func (w *Writer) nextVersions(now time.Time, n int) uint64 {
	base := uint64(now.UnixNano())
	if base <= w.lastVersion {
		base = w.lastVersion + 1
	}
	w.lastVersion = base + uint64(n) - 1
	return base
}

// write inserts every row table, then the poll states. It returns the rows
// written and a *RetryableError or *PermanentError.
func (w *Writer) write(ctx sendCtx, f *flush) (int, error) {
	if err := w.store.checkOpen(); err != nil {
		return 0, err
	}
	total := 0
	for _, t := range rowTables {
		n, err := w.insert(ctx, t, f)
		total += n
		if err != nil {
			return total, classify(fmt.Errorf("insert %s: %w", t.name, err))
		}
	}
	n, err := w.insert(ctx, stateTable, f)
	total += n
	if err != nil {
		return total, classify(fmt.Errorf("insert %s: %w", stateTable.name, err))
	}
	return total, nil
}

// insert sends t's rows of f in one batch; a table without rows is skipped.
func (w *Writer) insert(ctx sendCtx, t table, f *flush) (int, error) {
	n, err := w.store.sendBatch(ctx, t.insertSQL(w.store.db), func(add func(...any) error) error { return t.rows(f, add) })
	if err != nil {
		return 0, err
	}
	if n > 0 {
		w.metrics.rows.WithLabelValues(t.name).Add(float64(n))
	}
	return n, nil
}
