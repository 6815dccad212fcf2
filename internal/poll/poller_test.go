package poll

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/store"
)

// A first start records the integration time and polls forward from it:
// events persisted before are never fetched.
func TestPollerIntegratesAndPollsForwardOnly(t *testing.T) {
	stream, err := scenario.New(scenario.Options{Org: tenant, Seed: 7, Users: 50, Scenario: scenario.ScenarioQuiet})
	require.NoError(t, err)
	after, raws := makeEvents("new", 15, 0)
	f := newFixture(t, oktasim.OrgOptions{
		Source:  stream,
		Start:   time.Now().Add(-time.Hour), // history persisted before the integration
		Backlog: 40,
	}, nil)
	f.sink.Before = onIntegration(func() { f.sim.org.Inject(raws...) })
	before := f.sim.org.Len()
	require.EqualValues(t, 40, before)
	require.Equal(t, StateStarting, f.poller.Status().State)

	t0 := time.Now().UTC().Truncate(time.Millisecond)
	f.start(t)
	eventually(t, func() bool { return len(f.sink.keptIDs()) >= len(after) })
	t1 := time.Now()

	calls := f.sink.all()
	first := calls[0].Batch
	require.Empty(t, first.Events, "the integration write carries no events")
	require.Empty(t, first.DeadLetters)
	require.NotNil(t, first.State)
	integratedAt := first.State.IntegratedAt
	require.False(t, integratedAt.Before(t0), "integrated at %s, before the start %s", integratedAt, t0)
	require.False(t, integratedAt.After(t1))
	require.Equal(t, integratedAt.Truncate(time.Millisecond), integratedAt, "millisecond precision")
	require.Equal(t, f.client.PollURL(integratedAt, 10), first.State.Cursor, "polls since the integration time")
	require.Equal(t, StateStarting, calls[0].Status.State, "status while integrating")
	require.Equal(t, integratedAt, f.poller.Status().IntegratedAt)
	require.Equal(t, f.client.PollURL(integratedAt, 10), f.src.fetched()[0], "the first fetch is the integration cursor")

	require.Equal(t, after, f.sink.keptIDs(), "exactly the events persisted after the integration, in order")
	for _, b := range f.sink.committed() {
		require.Equal(t, integratedAt, b.State.IntegratedAt, "every state keeps the integration time")
	}
}

// A restart resumes at the stored cursor and keeps the integration time;
// failing state loads are retried.
func TestPollerResumesFromStoredCursor(t *testing.T) {
	f := newFixture(t, oktasim.OrgOptions{}, nil)
	since := time.Now().Add(-time.Second)
	ids := inject(f.sim.org, "old", 25, 0)

	// Someone (an earlier run) already read the first page.
	page, err := f.client.Fetch(t.Context(), f.client.PollURL(since, 10))
	require.NoError(t, err)
	require.Len(t, page.Events, 10)
	integratedAt := since.UTC().Truncate(time.Millisecond)
	f.state.st = store.PollState{Tenant: tenant, IntegratedAt: integratedAt, Cursor: page.Next, UpdatedAt: time.Now().UTC()}
	f.state.found = true
	f.state.FailLoads = 2

	f.start(t)
	eventually(t, func() bool { return len(f.sink.keptIDs()) >= 15 })

	require.Equal(t, ids[10:], f.sink.keptIDs(), "resumed after the first page")
	require.Equal(t, page.Next, f.src.fetched()[0], "the first fetch is the stored cursor")
	calls := f.sink.all()
	require.NotEmpty(t, calls[0].Batch.Events, "no integration write on a restart")
	for _, b := range f.sink.committed() {
		require.Equal(t, integratedAt, b.State.IntegratedAt)
	}
	require.Equal(t, integratedAt, f.poller.Status().IntegratedAt)
	f.state.mu.Lock()
	require.Equal(t, 3, f.state.loads, "two failed loads, then one that worked")
	f.state.mu.Unlock()
}

// Full pages are fetched back to back; after a short page the poller
// sleeps the interval.
func TestPollerPaging(t *testing.T) {
	t.Run("full pages back to back, then sleep", func(t *testing.T) {
		// With an hour's interval, the four pages can only all arrive if
		// full pages do not wait for it.
		f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) { s.Interval = time.Hour })
		ids, raws := makeEvents("p", 35, 0)
		f.sink.Before = onIntegration(func() { f.sim.org.Inject(raws...) })
		stop := f.start(t)
		eventually(t, func() bool { return len(f.sink.keptIDs()) == 35 && f.poller.Status().State == "caught_up" })
		// A poller that did not sleep would poll the (empty) next page at
		// once; give it the chance to.
		time.Sleep(200 * time.Millisecond)
		stop()

		var sizes []int
		for _, c := range f.sink.all()[1:] {
			sizes = append(sizes, len(c.Batch.Events))
			require.Equal(t, StatePolling, c.Status.State, "catching up")
		}
		require.Equal(t, []int{10, 10, 10, 5}, sizes)
		require.Len(t, f.src.fetched(), 4, "no fetch after the short page")
		require.Equal(t, ids, f.sink.keptIDs())
	})
	t.Run("next poll after the interval", func(t *testing.T) {
		f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) { s.Interval = 20 * time.Millisecond })
		f.start(t)
		eventually(t, func() bool { return f.poller.Status().State == "caught_up" })
		ids := inject(f.sim.org, "later", 3, 0)
		eventually(t, func() bool { return len(f.sink.keptIDs()) == 3 })
		require.Equal(t, ids, f.sink.keptIDs())
		require.Greater(t, len(f.src.fetched()), 1)
	})
}

// The cursor advances only after a Write succeeded: a failing Write is
// retried with the same page, which is not fetched again; at most the next
// page is fetched while it waits.
func TestPollerWriteFailureKeepsPageAndCursor(t *testing.T) {
	f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) { s.WritePages = 1 })
	ids, raws := makeEvents("w", 25, 0)
	const failures = 3
	f.sink.Before = func(n int, b store.Batch) error {
		switch {
		case n == 0:
			f.sim.org.Inject(raws...)
		case n <= failures: // the first page's first writes
			return errCHDown
		}
		return nil
	}
	stop := f.start(t)
	eventually(t, func() bool { return len(f.sink.keptIDs()) == 25 && f.poller.Status().State == "caught_up" })
	stop()

	calls := f.sink.all()
	firstPage := calls[1]
	require.Len(t, firstPage.Batch.Events, 10)
	for k := 1; k <= failures+1; k++ {
		c := calls[k]
		require.Equal(t, idsOf(firstPage.Batch.Events), idsOf(c.Batch.Events), "write %d: the same page", k)
		require.Equal(t, firstPage.Batch.State.Cursor, c.Batch.State.Cursor, "write %d: the same cursor", k)
		require.LessOrEqual(t, c.Requests, firstPage.Requests+1, "write %d: at most the next page fetched while the page waits", k)
		if k > 1 {
			require.Equal(t, StateWriteError, c.Status.State, "write %d", k)
			require.Equal(t, k-1, c.Status.ConsecutiveFailures, "write %d", k)
			require.Contains(t, c.Status.LastError, "clickhouse down")
		}
	}
	require.Error(t, calls[failures].Err)
	require.NoError(t, calls[failures+1].Err)

	// Every page is fetched once, at the cursor of the batch before it
	// (committed[0] is the integration's; the last fetch may have been cut
	// short by stop).
	committed := f.sink.committed()
	fetched := f.src.fetched()
	require.LessOrEqual(t, len(fetched), len(committed))
	for k, u := range fetched {
		require.Equal(t, committed[k].State.Cursor, u, "fetch %d", k)
	}
	require.Equal(t, ids, f.sink.keptIDs(), "every event once, in order")
	require.InDelta(t, failures, value(t, f.metrics.writeErrors.WithLabelValues(tenant)), 0)
	st := f.poller.Status()
	require.Zero(t, st.ConsecutiveFailures)
	require.Empty(t, st.LastError)

	// The cursor never moves backwards.
	prev := int64(-1)
	for _, b := range committed {
		idx := cursorIndex(t, b.State.Cursor)
		require.GreaterOrEqual(t, idx, prev)
		prev = idx
	}
}

// A page whose body is not a JSON array is fetched again; when it stays
// invalid it is dead-lettered whole and the poller moves on.
func TestPollerInvalidPage(t *testing.T) {
	const retries = 3
	tests := []struct {
		name        string
		giveInvalid int // invalid answers in a row
		wantDead    bool
	}{
		{name: "valid again within the retries", giveInvalid: retries},
		{name: "dead-lettered after the retries", giveInvalid: retries + 1, wantDead: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) { s.InvalidPageRetries = retries })
			ids, raws := makeEvents("inv", 25, 0)
			f.sink.Before = onIntegration(func() {
				f.sim.org.Inject(raws...)
				require.NoError(t, f.sim.org.SetFault(oktasim.Fault{Kind: oktasim.FaultInvalidJSON, Count: tt.giveInvalid}))
			})
			f.start(t)
			want := ids
			if tt.wantDead {
				eventually(t, func() bool { return len(f.sink.keptIDs()) == 15 && f.poller.Status().State == "caught_up" })
				want = ids[10:]
			} else {
				eventually(t, func() bool { return len(f.sink.keptIDs()) == 25 && f.poller.Status().State == "caught_up" })
			}
			require.Equal(t, want, f.sink.keptIDs())

			fetched := f.src.fetched()
			firstURL := fetched[0]
			wantFetches := tt.giveInvalid // every invalid answer, the last one dead-lettered
			if !tt.wantDead {
				wantFetches++ // and the valid one
			}
			require.Equal(t, wantFetches, countOf(fetched, firstURL), "fetches of the first page")
			require.InDelta(t, retries, value(t, f.metrics.fetchErrors.WithLabelValues(tenant, "invalid_page")), 0)

			dead := f.sink.deadLetters()
			if !tt.wantDead {
				require.Empty(t, dead)
				return
			}
			require.Len(t, dead, 1)
			require.True(t, strings.HasPrefix(dead[0].Reason, "invalid page: "), dead[0].Reason)
			require.False(t, json.Valid(dead[0].Payload))
			for _, id := range ids[:9] { // the 10th event is cut in half
				require.Contains(t, string(dead[0].Payload), id, "the page's events are kept in the dead letter")
			}
			// The dead letter moved the cursor past the page, once.
			committed := f.sink.committed()
			var deadBatch store.Batch
			for _, b := range committed {
				if len(b.DeadLetters) > 0 {
					deadBatch = b
				}
			}
			require.Empty(t, deadBatch.Events)
			require.EqualValues(t, cursorIndex(t, deadBatch.State.Cursor), 10)
			st := f.poller.Status()
			require.Empty(t, st.LastError)
			require.Zero(t, st.ConsecutiveFailures)
		})
	}
}

// Every kind of fetch failure is reported in the status and the metrics,
// and the poller recovers with nothing lost and nothing twice.
func TestPollerFetchErrors(t *testing.T) {
	tests := []struct {
		name      string
		give      oktasim.Fault
		wantState State
		wantKind  string
		wantErr   string
	}{
		{"500", oktasim.Fault{Kind: oktasim.FaultServerError}, "backing_off", "retryable", "status 500"},
		{"500 query timeout", oktasim.Fault{Kind: oktasim.FaultTimeout}, "backing_off", "retryable", "too long"},
		{"503 html", oktasim.Fault{Kind: oktasim.FaultUnavailable}, "backing_off", "retryable", "503"},
		{"connection reset", oktasim.Fault{Kind: oktasim.FaultReset, Count: 2}, "backing_off", "retryable", ""},
		{"truncated body", oktasim.Fault{Kind: oktasim.FaultTruncated}, "backing_off", "retryable", ""},
		{"429", oktasim.Fault{Kind: oktasim.FaultRateLimited, ResetIn: time.Second}, "backing_off", "rate_limited", "rate limit"},
		{"concurrency 429", oktasim.Fault{Kind: oktasim.FaultConcurrency}, "backing_off", "rate_limited", "concurrency limit"},
		{"401", oktasim.Fault{Kind: oktasim.FaultUnauthorized}, "auth_error", "auth", "E0000011"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, oktasim.OrgOptions{}, nil)
			ids, raws := makeEvents("f", 15, 0)
			f.sink.Before = onIntegration(func() {
				f.sim.org.Inject(raws...)
				require.NoError(t, f.sim.org.SetFault(tt.give))
			})
			f.start(t)
			eventually(t, func() bool { return len(f.sink.keptIDs()) == 15 && f.poller.Status().State == "caught_up" })

			require.Equal(t, ids, f.sink.keptIDs(), "nothing lost, nothing twice")
			calls := f.sink.all()
			// The write after the failed fetch sees the failure.
			st := calls[1].Status
			require.Equal(t, tt.wantState, st.State)
			require.GreaterOrEqual(t, st.ConsecutiveFailures, 1)
			require.Contains(t, st.LastError, tt.wantErr)
			require.GreaterOrEqual(t, value(t, f.metrics.fetchErrors.WithLabelValues(tenant, tt.wantKind)), 1.0)
			fetched := f.src.fetched()
			require.Equal(t, fetched[0], fetched[1], "the failed page is fetched again at the same cursor")

			final := f.poller.Status()
			require.Zero(t, final.ConsecutiveFailures)
			require.Empty(t, final.LastError)
			require.EqualValues(t, 15, final.EventsPolled)
			require.EqualValues(t, 15, final.EventsKept)
		})
	}
}

// The status walks starting → polling → caught_up, and through the
// failure states and back.
func TestPollerStatusTransitions(t *testing.T) {
	failWrite := make(chan struct{}, 1)
	f := newFixture(t, oktasim.OrgOptions{}, nil)
	f.sink.Before = func(n int, b store.Batch) error {
		select {
		case <-failWrite:
			return errCHDown
		default:
			return nil
		}
	}
	require.Equal(t, Status{Tenant: tenant, State: "starting"}, f.poller.Status())
	f.start(t)
	eventually(t, func() bool { return f.poller.Status().State == "caught_up" })
	require.Equal(t, StateStarting, f.sink.all()[0].Status.State, "during the integration write")

	steps := []struct {
		name      string
		give      func()
		wantState State
	}{
		{"fetch fails", func() { require.NoError(t, f.sim.org.SetFault(oktasim.Fault{Kind: oktasim.FaultServerError})) }, "backing_off"},
		{"auth fails", func() { require.NoError(t, f.sim.org.SetFault(oktasim.Fault{Kind: oktasim.FaultUnauthorized})) }, "auth_error"},
		{"write fails", func() { failWrite <- struct{}{} }, "write_error"},
		{"rate limited", func() {
			require.NoError(t, f.sim.org.SetFault(oktasim.Fault{Kind: oktasim.FaultRateLimited, ResetIn: time.Second}))
		}, "backing_off"},
	}
	for _, step := range steps {
		n0 := len(f.sink.all())
		step.give()
		eventually(t, func() bool {
			for _, c := range f.sink.all()[n0:] {
				if c.Status.State == step.wantState && c.Status.ConsecutiveFailures > 0 && c.Status.LastError != "" {
					return true
				}
			}
			return false
		}, "%s: no write saw state %s", step.name, step.wantState)
		eventually(t, func() bool {
			st := f.poller.Status()
			return st.State == "caught_up" && st.ConsecutiveFailures == 0 && st.LastError == ""
		}, "%s: recovered", step.name)
	}

	// A page of events: polling while it is written, caught_up after it.
	n0 := len(f.sink.all())
	inject(f.sim.org, "s", 3, 0)
	eventually(t, func() bool { return len(f.sink.keptIDs()) == 3 && f.poller.Status().State == "caught_up" })
	for _, c := range f.sink.all()[n0:] {
		if len(c.Batch.Events) > 0 {
			require.Contains(t, []State{StatePolling, StateCaughtUp}, c.Status.State)
		}
	}
	st := f.poller.Status()
	require.False(t, st.LastSuccess.IsZero())
	require.False(t, st.LastCursorAdvance.IsZero())
	require.False(t, st.NewestPublished.IsZero())
	require.False(t, st.LastPoll.Before(st.LastSuccess.Add(-time.Minute)))
}

// The metrics count what the poller saw, by tenant.
func TestPollerMetrics(t *testing.T) {
	f := newFixture(t, oktasim.OrgOptions{}, nil)
	_, raws := makeEvents("m", 30, 3) // every third event is dropped
	f.sink.Before = onIntegration(func() {
		f.sim.org.Inject(raws...)
		require.NoError(t, f.sim.org.SetFault(oktasim.Fault{Kind: oktasim.FaultServerError}))
	})
	f.start(t)
	eventually(t, func() bool { return len(f.sink.keptIDs()) == 20 && f.poller.Status().State == "caught_up" })

	require.InDelta(t, 30, value(t, f.metrics.polled.WithLabelValues(tenant)), 0)
	require.InDelta(t, 20, value(t, f.metrics.kept.WithLabelValues(tenant, "user_risk")), 0)
	require.InDelta(t, 10, value(t, f.metrics.dropped.WithLabelValues(tenant, "not_risk_event")), 0)
	require.InDelta(t, 1, value(t, f.metrics.fetchErrors.WithLabelValues(tenant, "retryable")), 0)
	require.Positive(t, value(t, f.metrics.lastSuccess.WithLabelValues(tenant)))
	require.Equal(t, 1, series(f.metrics.lag))
	require.Positive(t, series(f.metrics.pollDuration))

	st := f.poller.Status()
	require.EqualValues(t, 30, st.EventsPolled)
	require.EqualValues(t, 20, st.EventsKept)

	// Registering twice is an error, not a panic.
	_, err := NewMetrics(f.reg)
	require.Error(t, err)
}

// A poller without metrics works (nil *Metrics records nothing).
func TestPollerWithoutMetrics(t *testing.T) {
	f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) { s.Metrics = nil })
	ids, raws := makeEvents("n", 5, 0)
	f.sink.Before = onIntegration(func() { f.sim.org.Inject(raws...) })
	f.start(t)
	eventually(t, func() bool { return len(f.sink.keptIDs()) == 5 })
	require.Equal(t, ids, f.sink.keptIDs())
}

// The integration write is retried until it succeeds, and Run returns
// promptly when cancelled at any point.
func TestPollerIntegrationWriteRetried(t *testing.T) {
	f := newFixture(t, oktasim.OrgOptions{}, nil)
	f.sink.Before = func(n int, b store.Batch) error {
		if n < 2 {
			return errCHDown
		}
		return nil
	}
	f.start(t)
	eventually(t, func() bool { _, ok := f.state.get(); return ok && f.poller.Status().State == "caught_up" })
	calls := f.sink.all()
	require.Error(t, calls[0].Err)
	require.Error(t, calls[1].Err)
	require.NoError(t, calls[2].Err)
	require.Equal(t, StateWriteError, calls[1].Status.State)
	st, _ := f.state.get()
	require.Equal(t, st.IntegratedAt, f.poller.Status().IntegratedAt)
	require.Equal(t, f.client.PollURL(st.IntegratedAt, 10), calls[2].Batch.State.Cursor)
}

// Run returns promptly when cancelled while it waits, whatever it waits
// for (the poll interval here is an hour).
func TestPollerStopsWhileWaiting(t *testing.T) {
	tests := []struct {
		name     string
		giveWait time.Duration // MaxStartDelay
		give     func(t *testing.T, f *fixture)
	}{
		{name: "in the start delay", giveWait: time.Hour},
		{name: "while ClickHouse is down", give: func(t *testing.T, f *fixture) {
			f.sink.Before = func(int, store.Batch) error { return errCHDown }
		}},
		{name: "while rate limited", give: func(t *testing.T, f *fixture) {
			f.sink.Before = onIntegration(func() {
				require.NoError(t, f.sim.org.SetFault(oktasim.Fault{Kind: oktasim.FaultRateLimited, ResetIn: time.Hour}))
			})
		}},
		{name: "while caught up", give: func(t *testing.T, f *fixture) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oktasim.OrgOptions{}, func(s *Settings) {
				s.Interval = time.Hour
				if tt.giveWait > 0 {
					s.MaxStartDelay = tt.giveWait
					s.Tenant = "a-tenant-whose-offset-is-long" // fnv(name) mod 1h: about 35 min
					require.Greater(t, (&Poller{s: *s}).startOffset(), time.Minute)
				}
			})
			if tt.give != nil {
				tt.give(t, f)
			}
			stop := f.start(t)
			if tt.giveWait == 0 {
				eventually(t, func() bool {
					st := f.poller.Status()
					return len(f.sink.all()) > 0 && (st.ConsecutiveFailures > 0 || st.State == "caught_up")
				})
			}
			stop() // returns nil without waiting out the hour
			if tt.giveWait > 0 {
				require.Empty(t, f.sink.all(), "nothing happens before the start offset")
				require.Equal(t, StateStarting, f.poller.Status().State)
			}
		})
	}
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
