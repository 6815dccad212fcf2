package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/store"
)

// A tenant is read forward from its first start: events persisted before
// it never reach ClickHouse, those after all do, and the integration time
// survives restarts.
func TestForwardOnlyFromIntegration(t *testing.T) {
	t.Parallel()
	// Two minutes of history at 50 events/s plus a backlog, all persisted
	// before riskpipe first starts.
	h := newHarness(t, nil, orgSpec{name: "acme", start: time.Now().Add(-2 * time.Minute), backlog: 500, eps: 50})
	o := h.orgs["acme"]
	require.Greater(t, o.org.Len(), int64(5000))
	cfg := h.config()

	before := time.Now().UTC().Truncate(time.Millisecond)
	r := h.start(t, cfg, nil)
	integratedAt := r.integrated(t, "acme")
	require.False(t, integratedAt.Before(before), "integrated at %s, before the first start at %s", integratedAt, before)
	require.False(t, integratedAt.After(time.Now()))

	o.injectRisk("first-run", 10)
	eventually(t, waitFor, func() bool { return len(h.kept(t, "acme")) >= 20 })
	r.stop(t)

	st, ok := h.state(t, "acme")
	require.True(t, ok)
	require.Equal(t, integratedAt, st.IntegratedAt, "poll_state.integrated_at is the first start time, to the millisecond")
	require.EqualValues(t, integratedAt.Unix(), h.uint(t,
		"SELECT toUInt64(toUnixTimestamp(argMax(integrated_at, version))) FROM "+h.table("poll_state")+" WHERE tenant = 'acme'"))

	// A second start keeps the integration time and goes on from the cursor.
	o.injectRisk("between-runs", 10)
	r2 := h.start(t, cfg, nil)
	require.Equal(t, integratedAt, r2.integrated(t, "acme"))
	eventually(t, waitFor, func() bool { s, _ := r2.status("acme"); return s.EventsPolled > 0 })
	o.org.SetRate(0)
	h.converged(t, "acme", h.want(t, "acme", integratedAt), waitFor)

	st, _ = h.state(t, "acme")
	require.Equal(t, integratedAt, st.IntegratedAt, "a second start keeps integrated_at")

	// None of the history: the kept events persisted before the integration
	// are not there (converged also proved nothing else is).
	history := h.keptBefore(t, "acme", integratedAt)
	require.NotEmpty(t, history, "the history holds kept events riskpipe must not fetch")
	got := h.kept(t, "acme")
	for id := range history {
		require.NotContains(t, got, id)
	}
	r2.stop(t)
}

// Stopping riskpipe and starting it again loses nothing Okta persisted in
// between, and writes nothing twice.
func TestRestartResumesWithoutLoss(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, orgSpec{name: "acme", eps: 100})
	o := h.orgs["acme"]
	cfg := h.config()

	r := h.start(t, cfg, nil)
	integratedAt := r.integrated(t, "acme")
	eventually(t, waitFor, func() bool { return len(h.kept(t, "acme")) >= 10 })
	r.stop(t)
	stopped, ok := h.state(t, "acme")
	require.True(t, ok)
	lenAtStop := o.org.Len()

	// riskpipe is down; Okta is not: the rate goes on, plus a burst and
	// some injected events.
	o.org.AddBacklog(700)
	o.injectRisk("while-down", 20)
	eventually(t, waitFor, func() bool { return o.org.Len() >= lenAtStop+1000 })
	require.Less(t, cursorIndex(t, stopped.Cursor), lenAtStop+720, "events wait behind the stored cursor")

	r2 := h.start(t, cfg, nil)
	eventually(t, waitFor, func() bool { s, _ := r2.status("acme"); return s.EventsPolled > 0 })
	o.org.SetRate(0)
	want := h.want(t, "acme", integratedAt)
	h.converged(t, "acme", want, waitFor)

	// The events persisted while riskpipe was down are among them.
	_, to := o.org.TruthRange(integratedAt)
	down := 0
	for i := lenAtStop; i < to; i++ {
		ev, _, _ := o.org.EventAt(i)
		if _, kept := want[ev.ID]; kept {
			down++
		}
	}
	require.Greater(t, down, 100)
	s, _ := r2.status("acme")
	require.Empty(t, s.LastError)
	r2.stop(t)
}

// A crash between writing a page's rows and storing its cursor replays the
// page after a restart: every event is in ClickHouse exactly once (FINAL),
// and the stored cursor never passed an event that was not written.
func TestCrashMidBatchExactlyOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// crash is what the write of the second page does before the
		// process dies.
		crash        func(b store.Batch, write func(store.Batch) error) error
		wantReplayed bool // the second page is fetched and written again
	}{
		{
			name: "rows written, cursor not",
			crash: func(b store.Batch, write func(store.Batch) error) error {
				b.State = nil
				if err := write(b); err != nil {
					return err
				}
				return errCrash
			},
			wantReplayed: true,
		},
		{
			name:         "nothing written",
			crash:        func(store.Batch, func(store.Batch) error) error { return errCrash },
			wantReplayed: true,
		},
		{
			name: "rows and cursor written, acknowledgement lost",
			crash: func(b store.Batch, write func(store.Batch) error) error {
				if err := write(b); err != nil {
					return err
				}
				return errCrash
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil, orgSpec{name: "acme"})
			o := h.orgs["acme"]
			cfg := h.config()

			ctx, cancel := context.WithCancel(context.Background())
			crashing := &hookSink{org: o.org, hook: func(n int, b store.Batch, write func(store.Batch) error) error {
				switch n {
				case 0: // integration: then 350 events, pages of 100
					err := write(b)
					if err == nil {
						o.org.AddBacklog(350)
					}
					return err
				case 2: // the second page: crash while writing it
					err := tt.crash(b, write)
					cancel()
					return err
				}
				return write(b)
			}}
			r := h.startCtx(t, ctx, cancel, cfg, hooks(map[string]*hookSink{"acme": crashing}))
			r.wait(t) // the crash stopped it

			calls := crashing.pages()
			require.Len(t, calls, 3)
			crashed := calls[2]
			require.ErrorIs(t, crashed.Err, errCrash)
			require.NotEmpty(t, crashed.Events)

			st, ok := h.state(t, "acme")
			require.True(t, ok)
			from, _ := o.org.TruthRange(st.IntegratedAt)
			stored := cursorIndex(t, st.Cursor)
			got := h.kept(t, "acme")
			if tt.wantReplayed {
				require.Equal(t, from+100, stored, "the cursor stays before the second page")
			} else {
				require.Equal(t, from+200, stored, "the cursor was stored with the page")
			}
			for _, id := range crashed.Events {
				if tt.name == "nothing written" {
					require.NotContains(t, got, id)
				} else {
					require.Contains(t, got, id, "rows written before the crash")
				}
			}

			// Restart from what ClickHouse holds.
			replay := &hookSink{org: o.org}
			r2 := h.start(t, cfg, hooks(map[string]*hookSink{"acme": replay}))
			h.converged(t, "acme", h.want(t, "acme", st.IntegratedAt), waitFor)
			calls2 := replay.pages()
			if tt.wantReplayed {
				require.Equal(t, crashed.Events, calls2[0].Events, "the second page is written again")
			} else {
				require.NotEqual(t, crashed.Events, calls2[0].Events)
				require.Equal(t, from+300, cursorIndex(t, calls2[0].Cursor), "the restart goes on with the third page")
			}
			requireMonotonicCursors(t, append(calls[:2], calls2...))
			r2.stop(t)
		})
	}
}
