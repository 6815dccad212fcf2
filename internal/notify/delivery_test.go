package notify

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/score"
	"github.com/riskpipe/riskpipe/internal/store"
)

func statusOf(rows []Row, recipient string) []Status {
	var out []Status
	for _, r := range rows {
		if r.Recipient == recipient {
			out = append(out, r.Status)
		}
	}
	return out
}

// TestSMTPDownForAMinute: the server refuses for a minute (injected clock,
// no real minute); the message is retried with backoff, visible as pending
// with its error meanwhile, then sent exactly once.
func TestSMTPDownForAMinute(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	n := e.notifier()
	e.mb.setDown(true)
	n.Offer("acme", []event.Event{attack("att-1", e.clock.Now(), false)}, nil)
	n.Step(ctx)
	var r Row
	for _, x := range e.rows("acme") {
		if x.Recipient == "secops@acme.example" {
			r = x
		}
	}
	require.Equal(t, StatusPending, r.Status)
	require.EqualValues(t, 1, r.Attempts)
	require.Contains(t, r.LastError, "421")
	for range 6 { // a minute of 10-second ticks, still down
		e.clock.Advance(10 * time.Second)
		n.Step(ctx)
	}
	require.Empty(t, e.mb.all())
	e.mb.setDown(false)
	e.clock.Advance(2 * time.Minute) // the next retry is due (10s, 20s, 40s, 80s ...)
	n.Step(ctx)
	e.clock.Advance(time.Hour)
	n.Step(ctx)
	require.Equal(t, []string{"ThreatInsight attack on acme started"}, e.mb.to("secops@acme.example"), "nothing lost, nothing twice")
	require.Equal(t, []Status{StatusSent}, statusOf(e.rows("acme"), "secops@acme.example"))
	// The webhook was up all along: sent once, at once.
	require.Len(t, e.hook.calls(), 1)
	// Visible in the metrics.
	require.Equal(t, 1.0, metric(t, e, "riskpipe_notifications_total", map[string]string{"tenant": "acme", "kind": "attack_started", "channel": "email", "status": "sent"}))
	require.GreaterOrEqual(t, metric(t, e, "riskpipe_notification_retries_total", nil), 3.0) // attempts at 0s, 10s and 30s failed
	require.Equal(t, 0.0, metric(t, e, "riskpipe_notifications_pending", nil))
}

// metric returns the value of the series of name with labels (nil: the
// only series).
func metric(t *testing.T, e *env, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s %v", name, labels)
	return 0
}

// TestWebhook500Then200: a receiver answering 500 gets the same message
// (same webhook-id, a valid signature) again after the backoff.
func TestWebhook500Then200(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "", 500)
	n := e.notifier()
	n.Offer("acme", []event.Event{attack("att-1", e.clock.Now(), false)}, nil)
	n.Step(ctx)
	require.Equal(t, []Status{StatusPending}, statusOf(e.rows("acme"), "soc-json"))
	n.Step(ctx)
	require.Len(t, e.hook.calls(), 1, "not before the backoff")
	e.clock.Advance(Backoff(1))
	n.Step(ctx)
	calls := e.hook.calls()
	require.Len(t, calls, 2)
	require.Equal(t, 500, calls[0].Status)
	require.Equal(t, 200, calls[1].Status)
	require.Equal(t, calls[0].ID, calls[1].ID, "webhook-id is the idempotency key")
	require.Zero(t, e.hook.badSig)
	rows := e.rows("acme")
	require.Equal(t, []Status{StatusSent}, statusOf(rows, "soc-json"))
	for _, r := range rows {
		if r.Recipient == "soc-json" {
			require.EqualValues(t, 2, r.Attempts)
		}
	}
}

// TestWebhookPermanentFailure: a 4xx answer is not retried.
func TestWebhookPermanentFailure(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "", 404)
	n := e.notifier()
	n.Offer("acme", []event.Event{attack("att-1", e.clock.Now(), false)}, nil)
	n.Step(ctx)
	e.clock.Advance(time.Hour)
	n.Step(ctx)
	require.Len(t, e.hook.calls(), 1)
	require.Equal(t, []Status{StatusFailed}, statusOf(e.rows("acme"), "soc-json"))
}

// TestMaxPerHourFolding: over max_per_hour a recipient's messages are
// folded into one digest an hour later, never dropped; critical incidents
// are never folded.
func TestMaxPerHourFolding(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	e.cfg.Notify.MaxPerHour = 2
	n := e.notifier()
	now := e.clock.Now()
	for i, id := range []string{"a1", "a2", "a3", "a4"} {
		n.Offer("acme", []event.Event{attack(id, now.Add(time.Duration(i)*3*time.Hour), false)}, nil)
	}
	n.Step(ctx)
	require.Len(t, e.mb.to("secops@acme.example"), 2)
	require.ElementsMatch(t, []Status{StatusSent, StatusSent, StatusFolded, StatusFolded}, statusOf(e.rows("acme"), "secops@acme.example"))
	e.clock.Advance(30 * time.Minute)
	n.Step(ctx)
	require.Len(t, e.mb.to("secops@acme.example"), 2, "the digest waits for the hour")
	e.clock.Advance(31 * time.Minute)
	n.Step(ctx)
	got := e.mb.to("secops@acme.example")
	require.Len(t, got, 3)
	require.Equal(t, "riskpipe digest: 2 more notifications", got[2])
	last := e.mb.all()
	require.Contains(t, last[len(last)-1].Body, "ThreatInsight attack on acme started")
	// A restart does not send the digest again.
	e.clock.Advance(2 * time.Hour)
	n2 := e.notifier()
	n2.Step(ctx)
	require.Len(t, e.mb.to("secops@acme.example"), 3)
}

// TestDedupAcrossRestart: a batch written through the real writer and
// offered twice (a replay), Okta's duplicate of an event, and a restart
// that replays the recent rows from ClickHouse all send the finding once.
// A finding whose batch was written but never offered (a crash between the
// write and the hand-over) is sent at the restart.
func TestDedupAcrossRestart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, "")
	e.clock.t = time.Now().UTC().Truncate(time.Second) // replay reads by wall-clock windows of real rows
	w := store.NewWriter(e.st, store.WriterOptions{MaxRows: 1000, WriteTimeout: 30 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("writer: %v", err)
		}
	}()

	now := e.clock.Now()
	att := attack("att-1", now.Add(-time.Minute), false)
	att.Raw = []byte(`{"uuid":"att-1"}`)
	b := store.Batch{Tenant: "acme", Events: []event.Event{att, att}}
	require.NoError(t, w.Write(ctx, b))
	n := e.notifier()
	n.Offer("acme", b.Events, nil)
	n.Offer("acme", b.Events, nil)
	n.Step(ctx)
	require.Len(t, e.mb.to("secops@acme.example"), 1)

	// Written, then "crashed" before the hand-over: no Offer.
	up := crit("00u9", now, "ev-9")
	up.Tenant = "acme"
	require.NoError(t, w.Write(ctx, store.Batch{Tenant: "acme", Scores: score.Output{Updates: []score.Update{up}}}))

	e.clock.Advance(time.Minute)
	n2 := e.notifier() // the restart: replays the last hour from ClickHouse
	n2.Step(ctx)
	require.Len(t, e.mb.to("secops@acme.example"), 1, "the attack is not sent again")
	e.clock.Advance(5 * time.Minute)
	n2.Step(ctx)
	require.Equal(t, []string{"ThreatInsight attack on acme started", "1 user of acme reached a critical attack factor"}, e.mb.to("secops@acme.example"))
	e.clock.Advance(time.Minute)
	n3 := e.notifier()
	e.clock.Advance(10 * time.Minute)
	n3.Step(ctx)
	require.Len(t, e.mb.to("secops@acme.example"), 2)
}

// TestRunStops: Run ends with its context and leaves no goroutine.
func TestRunStops(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // runs last: after the servers and ClickHouse closed
	e := newEnv(t, "")
	n := e.notifier()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	n.Offer("acme", []event.Event{attack("att-1", e.clock.Now(), false)}, nil)
	cancel()
	require.NoError(t, <-done)
}

// TestOfferNeverBlocks: a full queue makes Offer return at once and the
// tenant is resynced from ClickHouse instead.
func TestOfferNeverBlocks(t *testing.T) {
	e := newEnv(t, "")
	n, err := New(Settings{Config: e.cfg, Store: e.ns, Now: e.clock.Now, QueueSize: 1})
	require.NoError(t, err)
	for range 100 {
		n.Offer("acme", []event.Event{attack("x", e.clock.Now(), false)}, nil)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	require.True(t, n.resync["acme"])
}
