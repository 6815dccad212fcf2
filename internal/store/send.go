package store

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Every insert of the store goes through sendBatch, with a context from
// sendContext.
//
// clickhouse-go's batch.Send starts a watchdog goroutine that closes the
// batch's TCP connection when the context is done. If that goroutine first
// runs after Send returned AND the context was cancelled by then, its
// select may pick the cancellation and close a connection already back in
// the pool and in use by the next query or insert ("use of closed network
// connection"). The fix, making the watchdog's stop wait for the goroutine,
// is not merged upstream yet:
// https://github.com/ClickHouse/clickhouse-go/pull/2032
//
// So a Send's context is never cancelled before its deadline: it carries
// the caller's values and deadline (capped at a timeout) but not the
// caller's cancellation, and its timer is released a second after the
// deadline (AfterFunc), which gives every watchdog that long to see its
// exit signal first. A caller that gives up during a Send waits for it to
// finish or to reach its deadline.

// sendCtx is a context fit for batch.Send (from sendContext).
type sendCtx struct{ ctx context.Context }

// sendContext returns a context for one or more Sends, ending at ctx's
// deadline or timeout from now, whichever is first, and never cancelled
// before then; ctx's own cancellation does not reach it. It fails with
// ctx's error when ctx has already ended.
func sendContext(ctx context.Context, timeout time.Duration) (sendCtx, error) {
	if err := ctx.Err(); err != nil {
		return sendCtx{}, err
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	sc, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	time.AfterFunc(time.Until(deadline)+time.Second, cancel)
	return sendCtx{sc}, nil
}

// sendBatch prepares query (an INSERT with its column list) with sc, lets
// fill append the rows with add and sends them in one batch. Nothing is
// prepared when fill adds no row. An error of add's (a value the driver
// cannot convert for its column) is a *PermanentError with Rows set; other
// errors are the driver's, unclassified.
func (s *Store) sendBatch(sc sendCtx, query string, fill func(add func(values ...any) error) error) (rows int, err error) {
	return sendBatch(s.conn, sc, query, fill)
}

// DefaultInsertTimeout bounds an Insert whose ctx has no earlier deadline.
const DefaultInsertTimeout = 30 * time.Second

// Insert is the store's insert for the packages that keep tables of their
// own (notify, respond): query (an INSERT with its column list) filled by
// fill, sent in one batch through conn with a context that carries ctx's
// deadline (at most DefaultInsertTimeout) but never its cancellation (see
// above: clickhouse-go PR #2032). It returns the rows sent.
func Insert(ctx context.Context, conn driver.Conn, query string, fill func(add func(values ...any) error) error) (int, error) {
	sc, err := sendContext(ctx, DefaultInsertTimeout)
	if err != nil {
		return 0, err
	}
	return sendBatch(conn, sc, query, fill)
}

func sendBatch(conn driver.Conn, sc sendCtx, query string, fill func(add func(values ...any) error) error) (rows int, err error) {
	var (
		b          driver.Batch
		prepareErr error
	)
	add := func(values ...any) error {
		if b == nil {
			if b, prepareErr = conn.PrepareBatch(sc.ctx, query); prepareErr != nil {
				return prepareErr
			}
		}
		rows++
		return b.Append(values...)
	}
	err = fill(add)
	if prepareErr != nil {
		return 0, prepareErr // not about the row that triggered it
	}
	if err != nil {
		err = &PermanentError{Err: err, Rows: true}
	}
	if b == nil {
		return 0, err
	}
	defer b.Close()
	if err != nil {
		return 0, err
	}
	if err := b.Send(); err != nil {
		return 0, err
	}
	return rows, nil
}
