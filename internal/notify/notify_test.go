package notify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/classify"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/score"
)

func attack(id string, at time.Time, end bool) event.Event {
	t := classify.TypeAttackStart
	if end {
		t = classify.TypeAttackEnd
	}
	return event.Event{ID: id, EventType: t, Category: event.CategoryThreatInsight, Published: at}
}

func leak(id string, at time.Time) event.Event {
	return event.Event{ID: id, EventType: "security.breached_credential.detected", Category: event.CategoryLeakedCredentials, Published: at, UserID: "00u-leak"}
}

func crit(user string, at time.Time, cause string) score.Update {
	return score.Update{Tenant: "acme", UpdatedAt: at, CauseEventID: cause, Factor: score.Factor{UserID: user, UserLogin: user + "@acme.example",
		Score: 80, Percentile: 99, Level: score.LevelCritical, Explanation: "leaked_credentials 60%; threat_insight 40%"}}
}

// TestWhoIsToldWhat proves each row of the table in docs/notifications.md
// against a real SMTP server and a real webhook receiver.
func TestWhoIsToldWhat(t *testing.T) {
	ctx := context.Background()
	t.Run("attack start and end: primary security (email and its webhook), within one step", func(t *testing.T) {
		e := newEnv(t, "")
		n := e.notifier()
		now := e.clock.Now()
		n.Offer("acme", []event.Event{attack("att-1", now.Add(-time.Second), false)}, nil)
		n.Step(ctx) // the next tick after ingestion: no clock movement needed
		require.Equal(t, []string{"ThreatInsight attack on acme started"}, e.mb.to("secops@acme.example"))
		require.Empty(t, e.mb.to("ciso@acme.example"))
		require.Empty(t, e.mb.to("it@acme.example"))
		require.Empty(t, e.mb.to("soc@globex.example"))
		calls := e.hook.calls()
		require.Len(t, calls, 1)
		require.Equal(t, "riskpipe.notification.attack_started", calls[0].Payload["type"])

		n.Offer("acme", []event.Event{attack("att-1-end", now.Add(time.Minute), true)}, nil)
		n.Step(ctx)
		require.Equal(t, []string{"ThreatInsight attack on acme started", "ThreatInsight attack on acme ended"}, e.mb.to("secops@acme.example"))
		require.Empty(t, e.mb.to("ciso@acme.example"))

		// Every message names the org, the time in UTC and links to the dashboard; nothing raw.
		m := e.mb.all()[0]
		require.Contains(t, m.Body, "Org: acme")
		require.Contains(t, m.Body, "UTC")
		require.Contains(t, m.Body, "https://riskpipe.example.com/#/org/acme")
		require.Equal(t, "auto-generated", m.Header.Get("Auto-Submitted"))
		require.Contains(t, m.Header.Get("Content-Type"), "multipart/alternative")
		for _, r := range e.rows("acme") {
			require.Equal(t, StatusSent, r.Status, r.Recipient)
		}
	})

	t.Run("users reaching critical: primary only, grouped per org per group_interval", func(t *testing.T) {
		e := newEnv(t, "")
		n := e.notifier()
		now := e.clock.Now()
		n.Offer("acme", nil, []score.Update{crit("00u1", now, "ev-1")})
		n.Step(ctx)
		e.clock.Advance(2 * time.Minute)
		n.Offer("acme", nil, []score.Update{crit("00u2", e.clock.Now(), "ev-2")})
		n.Step(ctx)
		require.Empty(t, e.mb.all(), "the group's window (5m) is still open")
		e.clock.Advance(3 * time.Minute)
		n.Step(ctx)
		require.Equal(t, []string{"2 users of acme reached a critical attack factor"}, e.mb.to("secops@acme.example"))
		require.Empty(t, e.mb.to("ciso@acme.example"), "two users are not a critical incident (critical_users: 3)")
		body := e.mb.all()[0].Body
		require.Contains(t, body, "00u1@acme.example: score 80 (critical, percentile 99): leaked_credentials 60%")
		require.Contains(t, body, "https://riskpipe.example.com/#/user/acme/00u2")
	})

	t.Run("critical incident by critical_users within the window: primary and cio_ciso", func(t *testing.T) {
		e := newEnv(t, "")
		n := e.notifier()
		now := e.clock.Now()
		n.Offer("acme", nil, []score.Update{crit("00u1", now, "ev-1"), crit("00u2", now.Add(time.Minute), "ev-2"), crit("00u3", now.Add(2*time.Minute), "ev-3")})
		n.Step(ctx)
		require.Equal(t, []string{"Critical security incident in acme"}, e.mb.to("ciso@acme.example"))
		require.Contains(t, e.mb.to("secops@acme.example"), "Critical security incident in acme")
		require.Empty(t, e.mb.to("it@acme.example"))
		// A fourth critical user within the hour is no second incident.
		n.Offer("acme", nil, []score.Update{crit("00u4", now.Add(3*time.Minute), "ev-4")})
		e.clock.Advance(10 * time.Minute)
		n.Step(ctx)
		require.Equal(t, []string{"Critical security incident in acme"}, e.mb.to("ciso@acme.example"))
	})

	t.Run("critical incident by an attack and a leaked credential in the same hour", func(t *testing.T) {
		e := newEnv(t, "")
		n := e.notifier()
		now := e.clock.Now()
		n.Offer("acme", []event.Event{leak("leak-1", now.Add(-40*time.Minute))}, nil)
		n.Step(ctx)
		require.Empty(t, e.mb.all(), "a leaked credential alone is no org finding")
		n.Offer("acme", []event.Event{attack("att-2", now, false)}, nil)
		n.Step(ctx)
		require.Equal(t, []string{"Critical security incident in acme"}, e.mb.to("ciso@acme.example"))
		require.ElementsMatch(t, []string{"ThreatInsight attack on acme started", "Critical security incident in acme"}, e.mb.to("secops@acme.example"))
		// A leaked credential of another org, or two hours away, makes none.
		n.Offer("globex", []event.Event{attack("g-att", now, false)}, nil)
		n.Offer("acme", []event.Event{leak("leak-2", now.Add(3*time.Hour)), attack("att-3", now.Add(5*time.Hour), false)}, nil)
		n.Step(ctx)
		require.Equal(t, []string{"Critical security incident in acme"}, e.mb.to("ciso@acme.example"))
		require.Equal(t, []string{"ThreatInsight attack on globex started"}, e.mb.to("soc@globex.example"))
	})

	t.Run("integration failing for operational_after: it, or primary when it is empty", func(t *testing.T) {
		e := newEnv(t, "")
		start := e.clock.Now()
		statuses := func() []poll.Status {
			return []poll.Status{
				{Tenant: "acme", State: "auth_error", LastSuccess: start.Add(-time.Minute), LastError: "okta: 401 E0000011", ConsecutiveFailures: 7},
				{Tenant: "globex", State: "backing_off", ConsecutiveFailures: 3},
			}
		}
		n := e.notifier(statuses)
		n.Step(ctx)
		e.clock.Advance(28 * time.Minute)
		n.Step(ctx)
		require.Empty(t, e.mb.all(), "acme has failed for 29m, globex for 28m (operational_after 30m)")
		e.clock.Advance(2 * time.Minute)
		n.Step(ctx)
		require.Equal(t, []string{"riskpipe cannot read the Okta System Log of acme"}, e.mb.to("it@acme.example"))
		require.Empty(t, e.mb.to("secops@acme.example"))
		require.Equal(t, []string{"riskpipe cannot read the Okta System Log of globex"}, e.mb.to("soc@globex.example"), "globex has no it contacts")
		e.clock.Advance(time.Hour)
		n.Step(ctx)
		require.Len(t, e.mb.to("it@acme.example"), 1, "one notice per outage")
	})

	t.Run("integration stalled (polling, but no event for api.stall_after): it", func(t *testing.T) {
		e := newEnv(t, "")
		start := e.clock.Now()
		statuses := func() []poll.Status {
			return []poll.Status{
				{Tenant: "acme", State: "caught_up", IntegratedAt: start.Add(-24 * time.Hour), LastCursorAdvance: start.Add(-10 * time.Minute), LastSuccess: start},
				{Tenant: "globex", State: "caught_up", IntegratedAt: start.Add(-24 * time.Hour), LastCursorAdvance: e.clock.Now(), LastSuccess: e.clock.Now()},
			}
		}
		n := e.notifier(statuses)
		e.clock.Advance(59 * time.Minute)
		n.Step(ctx)
		require.Empty(t, e.mb.all(), "no event since this process started 59m ago: not yet stalled (api.stall_after 1h)")
		e.clock.Advance(2 * time.Minute)
		n.Step(ctx)
		require.Equal(t, []string{"riskpipe cannot read the Okta System Log of acme"}, e.mb.to("it@acme.example"))
		require.Empty(t, e.mb.to("soc@globex.example"), "globex receives events")
	})

	t.Run("contacts changed: old and new contacts of every role", func(t *testing.T) {
		e := newEnv(t, "")
		n := e.notifier() // first start: contacts applied, nobody told
		n.Step(ctx)
		require.Empty(t, e.mb.all())
		e.cfg.Tenants[0].Contacts.CIOCISO[0].Email = "newciso@acme.example"
		e.clock.Advance(time.Hour)
		n2 := e.notifier()
		n2.Step(ctx)
		for _, to := range []string{"secops@acme.example", "ciso@acme.example", "newciso@acme.example", "it@acme.example"} {
			require.Equal(t, []string{"Security contacts of acme changed"}, e.mb.to(to), to)
		}
		require.Empty(t, e.mb.to("soc@globex.example"))
		require.Contains(t, e.mb.all()[0].Body, "added Jane Roe <newciso@acme.example> as cio_ciso; removed Jane Roe <ciso@acme.example> from cio_ciso")
		e.notifier().Step(ctx) // unchanged at the next start
		require.Len(t, e.mb.to("newciso@acme.example"), 1)
	})

	t.Run("contacts not reviewed for contacts_review_every: primary, weekly until reviewed", func(t *testing.T) {
		e := newEnv(t, "")
		n := e.notifier()
		n.Step(ctx)
		e.clock.Advance(179 * 24 * time.Hour)
		n.Step(ctx)
		require.Empty(t, e.mb.all())
		e.clock.Advance(25 * time.Hour)
		n.Step(ctx)
		require.Equal(t, []string{"Please review the security contacts of acme"}, e.mb.to("secops@acme.example"))
		require.Empty(t, e.mb.to("ciso@acme.example"))
		require.Empty(t, e.mb.to("it@acme.example"))
		e.clock.Advance(3 * 24 * time.Hour)
		n.Step(ctx)
		require.Len(t, e.mb.to("secops@acme.example"), 1, "weekly, not hourly")
		e.clock.Advance(4 * 24 * time.Hour)
		n.Step(ctx)
		require.Len(t, e.mb.to("secops@acme.example"), 2, "a week later")
		_, err := NewAdmin(e.cfg, e.ns, e.clock.Now).Review(ctx, "acme", "jane")
		require.NoError(t, err)
		e.clock.Advance(8 * 24 * time.Hour)
		n.Step(ctx)
		require.Len(t, e.mb.to("secops@acme.example"), 2, "reviewed: no more reminders")
	})
}

// TestReportedFindings: findings of other components (a response action
// waiting for approval, a spent budget) go to the org's primary security
// contacts only, once per key however often they are reported.
func TestReportedFindings(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	n := e.notifier()
	now := e.clock.Now()
	pending := Finding{Tenant: "acme", Kind: KindActionPending, Key: "action_pending|acme|act-1", At: now,
		Detail: "suspend of joren.m@acme.example proposed by critical-factor"}
	n.Report(pending)
	n.Report(pending) // the same proposal again (evidence added): no second message
	n.Report(Finding{Tenant: "acme", Kind: KindResponseBudget, Key: "response_budget|acme|hour-1", At: now, Detail: "10 actions ran"})
	n.Step(ctx)
	require.Equal(t, []string{"1 response action in acme waits for approval", "Response actions in acme wait: the hourly budget is spent"},
		e.mb.to("secops@acme.example"))
	require.Empty(t, e.mb.to("ciso@acme.example"))
	require.Empty(t, e.mb.to("it@acme.example"))
	require.Contains(t, e.mb.all()[0].Body, "suspend of joren.m@acme.example proposed by critical-factor")
	require.Contains(t, e.mb.all()[0].Body, "following a link approves nothing")
}
