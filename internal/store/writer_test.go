package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/event"
)

func TestWriteAndReadBack(t *testing.T) {
	s := newStore(t)
	w, _ := newWriter(t, s, WriterOptions{})
	ctx := context.Background()

	e := makeEvent(1)
	e.PublishedNote = ""
	e.IDDerived = true
	e.ThreatSuspected = true
	integrated := time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)
	day := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	payload := []byte(`{"uuid": 1, "published": [}`)
	require.NoError(t, w.Write(ctx, Batch{
		Tenant:      "acme",
		Events:      []event.Event{e},
		DeadLetters: []DeadLetter{{Reason: "decode", Payload: payload, ReceivedAt: integrated}},
		Counts: []TypeCount{
			{Day: day, EventType: "user.risk.change", Kept: true, Events: 1},
			{Day: day.Add(13 * time.Hour), EventType: "user.session.start", Kept: false, Reason: "not_risk", Events: 7},
		},
		State: &PollState{IntegratedAt: integrated, Cursor: "https://acme.okta.com/api/v1/logs?after=abc"},
	}))

	var (
		tenant, id, eventType, category, severity, riskLevel, riskReasons, userID, userLogin string
		clientIP, country, outcome, raw, txn, note, actorLogin, previous, display            string
		published, ingested                                                                  time.Time
		publishedMS, version                                                                 uint64
		threat, derived                                                                      uint8
		names, levels                                                                        []string
	)
	require.NoError(t, s.Conn().QueryRow(ctx, `SELECT tenant, event_id, published, published_ms, event_type, category,
		severity, risk_level, risk_reasons, user_id, user_login, client_ip, country, outcome, threat_suspected, raw,
		ingested_at, transaction_id, published_note, id_derived, version, actor_login, previous_risk_level,
		display_message, threat_detection_names, threat_detection_levels
		FROM `+s.table("risk_events")+` FINAL`).Scan(
		&tenant, &id, &published, &publishedMS, &eventType, &category, &severity, &riskLevel, &riskReasons,
		&userID, &userLogin, &clientIP, &country, &outcome, &threat, &raw, &ingested, &txn, &note, &derived,
		&version, &actorLogin, &previous, &display, &names, &levels))
	require.Equal(t, "acme", tenant)
	require.Equal(t, e.ID, id)
	require.Equal(t, e.Published.Truncate(time.Second), published.UTC())
	require.Equal(t, uint64(e.Published.UnixMilli()), publishedMS)
	require.Equal(t, e.EventType, eventType)
	require.Equal(t, "user_risk", category)
	require.Equal(t, e.Severity, severity)
	require.Equal(t, "HIGH", riskLevel)
	require.Equal(t, e.RiskReasons, riskReasons)
	require.Equal(t, e.UserID, userID)
	require.Equal(t, e.UserLogin, userLogin)
	require.Equal(t, e.ClientIP, clientIP)
	require.Equal(t, e.Country, country)
	require.Equal(t, e.Outcome, outcome)
	require.Equal(t, uint8(1), threat)
	require.JSONEq(t, string(e.Raw), raw)
	require.Equal(t, string(e.Raw), raw, "raw is kept byte for byte")
	require.WithinDuration(t, time.Now(), ingested, time.Hour)
	require.Equal(t, e.TransactionID, txn)
	require.Empty(t, note)
	require.Equal(t, uint8(1), derived)
	require.NotZero(t, version)
	require.Equal(t, e.ActorLogin, actorLogin)
	require.Equal(t, "LOW", previous)
	require.Equal(t, e.DisplayMessage, display)
	require.Equal(t, []string{"Credential Stuffing", "Password Spray"}, names)
	require.Equal(t, []string{"MEDIUM", "HIGH"}, levels)

	var reason, gotPayload, fp string
	var received time.Time
	require.NoError(t, s.Conn().QueryRow(ctx, "SELECT reason, payload, fingerprint, received_at FROM "+
		s.table("dead_letters")+" WHERE tenant = 'acme'").Scan(&reason, &gotPayload, &fp, &received))
	require.Equal(t, "decode", reason)
	require.Equal(t, string(payload), gotPayload)
	require.Equal(t, Fingerprint(payload), fp)
	require.Len(t, fp, 64)
	require.Equal(t, integrated.Truncate(time.Second), received.UTC())

	require.Equal(t, uint64(1), queryUint(t, s.Conn(), "SELECT sum(events) FROM "+s.table("event_type_counts")+
		" WHERE tenant = 'acme' AND kept = 1 AND event_type = 'user.risk.change' AND day = toDate('2026-03-14')"))
	require.Equal(t, uint64(7), queryUint(t, s.Conn(), "SELECT sum(events) FROM "+s.table("event_type_counts")+
		" WHERE tenant = 'acme' AND kept = 0 AND reason = 'not_risk' AND day = toDate('2026-03-14')"),
		"a count's day is its UTC date")

	st, ok, err := s.LoadPollState(ctx, "acme")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "acme", st.Tenant)
	require.True(t, integrated.Equal(st.IntegratedAt), "ms precision: %s", st.IntegratedAt)
	require.Equal(t, "https://acme.okta.com/api/v1/logs?after=abc", st.Cursor)
	require.WithinDuration(t, time.Now(), st.UpdatedAt, time.Hour, "UpdatedAt set by the writer")
}

func TestDuplicateEventsAreOneRowFinal(t *testing.T) {
	s := newStore(t)
	w, _ := newWriter(t, s, WriterOptions{})
	ctx := context.Background()

	first := makeEvents(0, 50)
	require.NoError(t, w.Write(ctx, Batch{Tenant: "acme", Events: first}))
	// The same page replayed, one event re-classified, plus the same ids
	// for another tenant (a different key).
	replay := makeEvents(0, 50)
	replay[3].Category = event.CategoryThreatInsight
	require.NoError(t, w.Write(ctx, Batch{Tenant: "acme", Events: replay}))
	require.NoError(t, w.Write(ctx, Batch{Tenant: "globex", Events: makeEvents(0, 50)}))
	// Duplicates inside one batch too.
	require.NoError(t, w.Write(ctx, Batch{Tenant: "acme", Events: append(makeEvents(10, 5), makeEvents(10, 5)...)}))

	require.Equal(t, uint64(100), countFinal(t, s, "risk_events"))
	require.Equal(t, uint64(50), queryUint(t, s.Conn(), "SELECT count() FROM "+s.table("risk_events")+" FINAL WHERE tenant = 'acme'"))
	var cat string
	require.NoError(t, s.Conn().QueryRow(ctx, "SELECT category FROM "+s.table("risk_events")+
		" FINAL WHERE tenant = 'acme' AND event_id = ?", replay[3].ID).Scan(&cat))
	require.Equal(t, "threat_insight", cat, "the latest write wins")

	// After merges the duplicates are gone for plain readers too.
	require.NoError(t, s.Conn().Exec(ctx, "OPTIMIZE TABLE "+s.table("risk_events")+" FINAL"))
	require.Equal(t, uint64(100), queryUint(t, s.Conn(), "SELECT count() FROM "+s.table("risk_events")))
}

// An event whose published time could not be parsed gets the ingestion
// time, different on every replay; it must still collapse to one row.
func TestUnparseablePublishedReplayIsOneRow(t *testing.T) {
	s := newStore(t)
	w, _ := newWriter(t, s, WriterOptions{})
	ctx := context.Background()
	for _, at := range []time.Time{
		time.Date(2026, 1, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 2, 1, 0, 0, 1, 0, time.UTC), // next month
		time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC),
	} {
		e := makeEvent(1)
		e.Published = at
		e.PublishedNote = "published: cannot parse \"yesterday\""
		require.NoError(t, w.Write(ctx, Batch{Tenant: "acme", Events: []event.Event{e}}))
	}
	require.Equal(t, uint64(1), countFinal(t, s, "risk_events"))

	// Parseable times partition by month, for retention.
	require.NoError(t, w.Write(ctx, Batch{Tenant: "acme", Events: makeEvents(100, 1)}))
	var parts []string
	rows, err := s.Conn().Query(ctx, "SELECT DISTINCT partition FROM system.parts WHERE database = ? AND table = 'risk_events' AND active ORDER BY partition", s.Database())
	require.NoError(t, err)
	for rows.Next() {
		var p string
		require.NoError(t, rows.Scan(&p))
		parts = append(parts, p)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	require.Equal(t, []string{"0", "202603"}, parts)
}

func TestPollStateLatestWins(t *testing.T) {
	s := newStore(t)
	w, _ := newWriter(t, s, WriterOptions{})
	ctx := context.Background()

	_, ok, err := s.LoadPollState(ctx, "acme")
	require.NoError(t, err)
	require.False(t, ok)

	base := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	for i := 1; i <= 5; i++ {
		at := base.Add(time.Duration(i)*time.Second + time.Duration(i)*time.Millisecond) // .001, .002, ...
		require.NoError(t, w.Write(ctx, Batch{Tenant: "acme", State: &PollState{IntegratedAt: at, Cursor: fmt.Sprintf("c%d", i)}}))
	}
	// A clock going back for the caller does not matter: the write order does.
	require.NoError(t, w.Write(ctx, Batch{Tenant: "globex", State: &PollState{
		IntegratedAt: base.Add(999 * time.Millisecond), Cursor: "g2", UpdatedAt: base.Add(-time.Hour)}}))

	st, ok, err := s.LoadPollState(ctx, "acme")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "c5", st.Cursor)
	require.Equal(t, base.Add(5*time.Second+5*time.Millisecond), st.IntegratedAt)

	all, err := s.LoadAllPollStates(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, "acme", all[0].Tenant)
	require.Equal(t, "globex", all[1].Tenant)
	require.Equal(t, base.Add(999*time.Millisecond), all[1].IntegratedAt, "exact milliseconds")
	require.Equal(t, base.Add(-time.Hour), all[1].UpdatedAt, "a given UpdatedAt is kept")

	// Two states of one tenant in one flush: the later Write wins.
	w2, _ := newWriter(t, s, WriterOptions{MaxRows: 2, MaxWait: time.Hour})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs <- w2.Write(ctx, Batch{Tenant: "initech", State: &PollState{Cursor: "first"}})
	}()
	require.Eventually(t, func() bool { return w2.pending.Load() == 1 }, time.Minute, time.Millisecond)
	require.NoError(t, w2.Write(ctx, Batch{Tenant: "initech", State: &PollState{Cursor: "second"}}))
	wg.Wait()
	require.NoError(t, <-errs)
	st, _, err = s.LoadPollState(ctx, "initech")
	require.NoError(t, err)
	require.Equal(t, "second", st.Cursor)
}

func TestConcurrentWrites(t *testing.T) {
	s := newStore(t)
	reg := prometheus.NewRegistry()
	w, _ := newWriter(t, s, WriterOptions{MaxRows: 500, MaxWait: 5 * time.Millisecond, QueueSize: 4, Registerer: reg})
	ctx := context.Background()

	const tenants, pages, perPage = 10, 20, 50
	var wg sync.WaitGroup
	errs := make(chan error, tenants*pages)
	for tn := 0; tn < tenants; tn++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tenant := fmt.Sprintf("tenant-%02d", tn)
			for p := 0; p < pages; p++ {
				errs <- w.Write(ctx, Batch{
					Tenant: tenant,
					Events: makeEvents(p*perPage, perPage),
					Counts: []TypeCount{{Day: published0, EventType: "user.risk.change", Kept: true, Events: perPage}},
					State:  &PollState{IntegratedAt: published0, Cursor: fmt.Sprintf("page-%d", p+1)},
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, uint64(tenants*pages*perPage), countFinal(t, s, "risk_events"))
	require.Equal(t, uint64(tenants*pages*perPage), queryUint(t, s.Conn(), "SELECT sum(events) FROM "+s.table("event_type_counts")))
	states, err := s.LoadAllPollStates(ctx)
	require.NoError(t, err)
	require.Len(t, states, tenants)
	for _, st := range states {
		require.Equal(t, fmt.Sprintf("page-%d", pages), st.Cursor, st.Tenant)
	}
	flushes := metricValue(t, w.metrics.flushes.WithLabelValues("size")) + metricValue(t, w.metrics.flushes.WithLabelValues("age"))
	require.Less(t, flushes, float64(tenants*pages), "batches were coalesced")
	require.Equal(t, float64(tenants*pages*perPage), metricValue(t, w.metrics.rows.WithLabelValues("risk_events")))

	families, err := reg.Gather()
	require.NoError(t, err)
	series := map[string]int{}
	for _, f := range families {
		series[f.GetName()] = len(f.GetMetric())
	}
	require.Equal(t, map[string]int{
		"riskpipe_store_batch_rows":             1,
		"riskpipe_store_write_duration_seconds": 1,
		"riskpipe_store_flushes_total":          4, // size, idle, age, shutdown
		"riskpipe_store_write_errors_total":     2, // retryable, permanent
		"riskpipe_store_rows_written_total":     3, // risk_events, event_type_counts, poll_state
		"riskpipe_store_queue_batches":          1,
	}, series)
}

func TestSizeTriggerFlushes(t *testing.T) {
	s := newStore(t)
	w, _ := newWriter(t, s, WriterOptions{MaxRows: 10, MaxWait: time.Hour})
	// 10 rows reach MaxRows: flushed at once, not after an hour.
	require.NoError(t, w.Write(context.Background(), Batch{Tenant: "acme", Events: makeEvents(0, 9), State: &PollState{Cursor: "x"}}))
	require.Equal(t, 1.0, metricValue(t, w.metrics.flushes.WithLabelValues("size")))
	require.Equal(t, uint64(9), countFinal(t, s, "risk_events"))
	// A batch larger than MaxRows is written on its own.
	require.NoError(t, w.Write(context.Background(), Batch{Tenant: "acme", Events: makeEvents(100, 25)}))
	require.Equal(t, uint64(34), countFinal(t, s, "risk_events"))
}

func TestWriterServerDown(t *testing.T) {
	dir := t.TempDir()
	srv := privateServer(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := openStore(t, srv, "down_test", true)
	w, _ := newWriter(t, s, WriterOptions{WriteTimeout: 10 * time.Second})
	require.NoError(t, w.Write(ctx, Batch{Tenant: "acme", Events: makeEvents(0, 1), State: &PollState{Cursor: "before"}}))

	require.NoError(t, srv.Stop())
	err := w.Write(ctx, Batch{Tenant: "acme", Events: makeEvents(1, 10), State: &PollState{Cursor: "after"}})
	require.Error(t, err)
	require.True(t, IsRetryable(err), "a down server is retryable: %v", err)
	require.Equal(t, 1.0, metricValue(t, w.metrics.errors.WithLabelValues("retryable")))

	// Back up on the same data: the failed batch's state was not written.
	srv2 := privateServer(t, dir)
	s2 := openStore(t, srv2, "down_test", false)
	st, ok, err := s2.LoadPollState(ctx, "acme")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "before", st.Cursor)
	require.Equal(t, uint64(1), countFinal(t, s2, "risk_events"))
}

// A server that stops answering (SIGSTOP) must not hang Write: the flush
// gives up after WriteTimeout with a retryable error.
func TestWriterServerHung(t *testing.T) {
	srv := privateServer(t, t.TempDir())
	s := openStore(t, srv, "hung_test", true)
	w, _ := newWriter(t, s, WriterOptions{WriteTimeout: time.Second})
	ctx := context.Background()
	require.NoError(t, w.Write(ctx, Batch{Tenant: "acme", Events: makeEvents(0, 1)}))

	require.NoError(t, syscall.Kill(srv.PID(), syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(srv.PID(), syscall.SIGCONT) }) // before Stop
	err := w.Write(ctx, Batch{Tenant: "acme", Events: makeEvents(1, 1), State: &PollState{Cursor: "x"}})
	var ne net.Error
	timedOut := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	require.True(t, timedOut, "a timeout: %v", err)
	require.True(t, IsRetryable(err))
}

// privateServer starts a server of the test's own (to stop or freeze it).
func privateServer(t *testing.T, dir string) *chserver.Server {
	t.Helper()
	if _, ok := chserver.Available(os.Getenv(chtest.EnvBinary)); !ok {
		chtest.Unavailable(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := chserver.Start(ctx, chserver.Options{DataDir: dir, Binary: os.Getenv(chtest.EnvBinary)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

func TestWriterPermanentErrorWritesNoState(t *testing.T) {
	s := newStore(t)
	w, _ := newWriter(t, s, WriterOptions{})
	ctx := context.Background()
	require.NoError(t, s.Conn().Exec(ctx, "DROP TABLE "+s.table("dead_letters")))

	err := w.Write(ctx, Batch{
		Tenant:      "acme",
		Events:      makeEvents(0, 3),
		DeadLetters: []DeadLetter{{Reason: "decode", Payload: []byte("{")}},
		State:       &PollState{Cursor: "next"},
	})
	require.Error(t, err)
	require.False(t, IsRetryable(err))
	var pe *PermanentError
	require.ErrorAs(t, err, &pe)
	var ex *clickhouse.Exception
	require.ErrorAs(t, err, &ex)
	require.Equal(t, int32(60), ex.Code, "UNKNOWN_TABLE")

	_, ok, err := s.LoadPollState(ctx, "acme")
	require.NoError(t, err)
	require.False(t, ok, "no state after a failed flush")
	require.Equal(t, 1.0, metricValue(t, w.metrics.errors.WithLabelValues("permanent")))
}

func TestRunDrainsOnCancel(t *testing.T) {
	s := newStore(t)
	w, stop := newWriter(t, s, WriterOptions{MaxRows: 1_000_000, MaxWait: time.Hour})
	ctx := context.Background()

	const writers = 3
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		go func() {
			errs <- w.Write(ctx, Batch{Tenant: fmt.Sprintf("t%d", i), Events: makeEvents(i*10, 10),
				State: &PollState{Cursor: "drained"}})
		}()
	}
	require.Eventually(t, func() bool { return w.pending.Load() == writers }, time.Minute, time.Millisecond)
	require.Zero(t, countFinal(t, s, "risk_events"), "nothing flushed before the cancel")

	require.NoError(t, stop())
	for i := 0; i < writers; i++ {
		require.NoError(t, <-errs)
	}
	require.Equal(t, uint64(writers*10), countFinal(t, s, "risk_events"))
	require.Equal(t, 1.0, metricValue(t, w.metrics.flushes.WithLabelValues("shutdown")))
	states, err := s.LoadAllPollStates(ctx)
	require.NoError(t, err)
	require.Len(t, states, writers)

	require.ErrorIs(t, w.Write(ctx, Batch{Tenant: "late"}), ErrClosed)
	require.Error(t, w.Run(context.Background()), "Run once")
}

func TestWriteGivenUpBeforeFlushIsNotWritten(t *testing.T) {
	s := newStore(t)
	w, stop := newWriter(t, s, WriterOptions{MaxRows: 1_000_000, MaxWait: time.Hour})

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- w.Write(ctx, Batch{Tenant: "acme", Events: makeEvents(0, 5), State: &PollState{Cursor: "x"}})
	}()
	require.Eventually(t, func() bool { return w.pending.Load() == 1 }, time.Minute, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	require.NoError(t, stop())

	require.Zero(t, countFinal(t, s, "risk_events"))
	_, ok, err := s.LoadPollState(context.Background(), "acme")
	require.NoError(t, err)
	require.False(t, ok, "a caller that gave up must not see its cursor advance")
}

func TestWriteBackpressure(t *testing.T) {
	s := newStore(t)
	// Not running: nothing drains the queue of one.
	w := NewWriter(s, WriterOptions{QueueSize: 1})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 2)
	go func() { errc <- w.Write(ctx, Batch{Tenant: "a"}) }()
	go func() { errc <- w.Write(ctx, Batch{Tenant: "b"}) }()
	require.Eventually(t, func() bool { return len(w.queue) == 1 }, time.Minute, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	require.ErrorIs(t, <-errc, context.Canceled)

	require.Error(t, w.Write(context.Background(), Batch{}), "tenant required")
	err := w.Write(context.Background(), Batch{Tenant: "a", State: &PollState{Tenant: "b"}})
	var pe *PermanentError
	require.ErrorAs(t, err, &pe)
}

func TestEventTypeCountsSum(t *testing.T) {
	s := newStore(t)
	w, _ := newWriter(t, s, WriterOptions{})
	ctx := context.Background()
	d1 := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	pages := [][]TypeCount{
		{{Day: d1, EventType: "user.risk.change", Kept: true, Events: 3}, {Day: d1, EventType: "user.session.start", Reason: "not_risk", Events: 40}},
		{{Day: d1, EventType: "user.risk.change", Kept: true, Events: 2}, {Day: d1, EventType: "user.session.start", Reason: "not_risk", Events: 10}},
		{{Day: d2, EventType: "user.risk.change", Kept: true, Events: 1}, {Day: d1.Add(23 * time.Hour), EventType: "user.risk.change", Kept: true, Events: 4}},
	}
	for _, p := range pages {
		require.NoError(t, w.Write(ctx, Batch{Tenant: "acme", Counts: p}))
	}
	require.NoError(t, w.Write(ctx, Batch{Tenant: "globex", Counts: pages[0]}))

	type row struct {
		Day       time.Time
		EventType string
		Kept      uint8
		Reason    string
		Events    uint64
	}
	read := func(q string) []row {
		rows, err := s.Conn().Query(ctx, q)
		require.NoError(t, err)
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			require.NoError(t, rows.Scan(&r.Day, &r.EventType, &r.Kept, &r.Reason, &r.Events))
			r.Day = r.Day.UTC()
			out = append(out, r)
		}
		require.NoError(t, rows.Err())
		return out
	}
	want := []row{
		{d1, "user.risk.change", 1, "", 9},
		{d1, "user.session.start", 0, "not_risk", 50},
		{d2, "user.risk.change", 1, "", 1},
	}
	q := "SELECT day, event_type, kept, reason, sum(events) FROM " + s.table("event_type_counts") +
		" WHERE tenant = 'acme' GROUP BY day, event_type, kept, reason ORDER BY day, event_type"
	require.Equal(t, want, read(q))

	// Merged, the table holds one row per key with the sum.
	require.NoError(t, s.Conn().Exec(ctx, "OPTIMIZE TABLE "+s.table("event_type_counts")+" FINAL"))
	require.Equal(t, want, read("SELECT day, event_type, kept, reason, events FROM "+s.table("event_type_counts")+
		" WHERE tenant = 'acme' ORDER BY day, event_type"))
}

// With no linger (the default), a lone batch is flushed at once ("idle"),
// and batches queued while a flush runs are coalesced into the next one.
func TestGroupCommit(t *testing.T) {
	s := newStore(t)
	w, _ := newWriter(t, s, WriterOptions{MaxWait: -1})
	require.NoError(t, w.Write(context.Background(), Batch{Tenant: "acme", Events: makeEvents(0, 3), State: &PollState{Cursor: "a"}}))
	require.Equal(t, 1.0, metricValue(t, w.metrics.flushes.WithLabelValues("idle")))

	const writers = 20
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			errs <- w.Write(context.Background(), Batch{Tenant: fmt.Sprintf("t%d", i), Events: makeEvents(100+10*i, 5),
				State: &PollState{Cursor: fmt.Sprint(i)}})
		}()
	}
	for range writers {
		require.NoError(t, <-errs)
	}
	require.Equal(t, uint64(3+5*writers), countFinal(t, s, "risk_events"))
	flushes := metricValue(t, w.metrics.flushes.WithLabelValues("idle"))
	require.LessOrEqual(t, flushes, float64(1+writers), "never more flushes than batches")
}

// One Write of several batches (a poller's pages fetched while its previous
// write was in flight) is one unit: flushed together even beyond MaxRows,
// each batch with its own version, so the last batch's state wins.
func TestWriteSeveralBatchesAtOnce(t *testing.T) {
	s := newStore(t)
	w, _ := newWriter(t, s, WriterOptions{MaxRows: 5, MaxWait: time.Hour})
	ctx := context.Background()
	require.NoError(t, w.Write(ctx,
		Batch{Tenant: "acme", Events: makeEvents(0, 4), State: &PollState{Cursor: "p1"}},
		Batch{Tenant: "acme", Events: makeEvents(10, 4), State: &PollState{Cursor: "p2"}},
		Batch{Tenant: "acme", Events: makeEvents(20, 4), State: &PollState{Cursor: "p3"}},
	))
	require.Equal(t, 1.0, metricValue(t, w.metrics.flushes.WithLabelValues("size")), "one flush for all three")
	require.Equal(t, uint64(12), countFinal(t, s, "risk_events"))
	st, ok, err := s.LoadPollState(ctx, "acme")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "p3", st.Cursor, "the last batch's state wins")
	// A version per batch, in batch order. Read from risk_events, whose
	// rows have distinct keys: the three poll_state rows of one INSERT share
	// a key, and ClickHouse since 21.1 (optimize_on_insert) keeps only the
	// newest of them, so counting their versions holds on 18.16 only.
	var first, second, third uint64
	require.NoError(t, s.Conn().QueryRow(ctx, "SELECT "+
		"anyIf(version, event_id = 'evt-00000000'), anyIf(version, event_id = 'evt-00000010'), anyIf(version, event_id = 'evt-00000020') "+
		"FROM "+s.table("risk_events")+" FINAL WHERE tenant = 'acme'").Scan(&first, &second, &third))
	require.Equal(t, []uint64{first + 1, first + 2}, []uint64{second, third}, "a version per batch")
	var winner, rows uint64
	require.NoError(t, s.Conn().QueryRow(ctx, "SELECT any(version), count() FROM "+s.table("poll_state")+" FINAL WHERE tenant = 'acme'").Scan(&winner, &rows))
	require.Equal(t, []uint64{third, 1}, []uint64{winner, rows}, "one poll state, the last batch's version")

	require.NoError(t, w.Write(ctx), "nothing to write")
	err = w.Write(ctx, Batch{Tenant: "acme"}, Batch{})
	var pe *PermanentError
	require.ErrorAs(t, err, &pe, "every batch needs its tenant")
}

// MaxBytes bounds a flush by raw bytes as MaxRows does by rows.
func TestSizeTriggerByBytes(t *testing.T) {
	s := newStore(t)
	w, _ := newWriter(t, s, WriterOptions{MaxBytes: 1, MaxWait: time.Hour})
	// One event's raw JSON is past 1 byte: flushed at once, not after an hour.
	require.NoError(t, w.Write(context.Background(), Batch{Tenant: "acme", Events: makeEvents(0, 1), State: &PollState{Cursor: "x"}}))
	require.Equal(t, 1.0, metricValue(t, w.metrics.flushes.WithLabelValues("size")))
	require.Equal(t, uint64(1), countFinal(t, s, "risk_events"))
}
