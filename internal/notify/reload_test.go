package notify

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/score"
)

// edited parses the env's config with each (old, new) pair replaced.
func (e *env) edited(pairs ...string) *config.Config {
	e.t.Helper()
	y := e.yaml
	for i := 0; i < len(pairs); i += 2 {
		require.Contains(e.t, y, pairs[i])
		y = strings.Replace(y, pairs[i], pairs[i+1], 1)
	}
	cfg, err := config.Parse([]byte(y), config.MapEnv(nil))
	require.NoError(e.t, err)
	e.yaml = y
	return cfg
}

// count returns how often subject reached addr.
func count(subjects []string, subject string) int {
	n := 0
	for _, s := range subjects {
		if s == subject {
			n++
		}
	}
	return n
}

// TestApplyContacts: a reload replaces acme's primary security contact,
// adds a tenant and removes one. The old and new contacts are told of the
// change; the next finding reaches the new contact and not the removed
// one; a grouping window open at the reload goes to the contact in force
// when it closes; the added tenant is notified; the removed tenant's open
// window is sent to its contacts at once and nothing is sent twice.
func TestApplyContacts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	n := e.notifier()
	now := e.clock.Now()
	n.Offer("acme", []event.Event{attack("att-1", now, false)}, nil)
	n.Offer("acme", nil, []score.Update{crit("00u1", now, "ev-1")})
	n.Offer("globex", nil, []score.Update{crit("00u9", now, "ev-9")})
	n.Step(ctx)
	require.Equal(t, []string{"ThreatInsight attack on acme started"}, e.mb.to("secops@acme.example"))

	n.Apply(e.edited(
		"primary_security: [{name: Acme SecOps, email: secops@acme.example, webhook: soc-json}]",
		"primary_security: [{name: Acme SOC, email: soc@acme.example}]",
		"  - name: globex\n    base_url: https://globex.okta.com\n    auth: {method: api_token, token: t}\n    contacts:\n      primary_security: [{name: Globex SOC, email: soc@globex.example}]\n",
		"  - name: initech\n    base_url: https://initech.okta.com\n    auth: {method: api_token, token: t}\n    contacts:\n      primary_security: [{name: Initech SOC, email: soc@initech.example}]\n"))
	n.Step(ctx)
	changed := "Security contacts of acme changed"
	requireSubjectPrefix(t, e.mb.to("secops@acme.example"), changed, "the removed contact is told of the change")
	requireSubjectPrefix(t, e.mb.to("soc@acme.example"), changed, "the new contact is told of the change")
	require.Equal(t, []string{"1 user of globex reached a critical attack factor"}, e.mb.to("soc@globex.example"),
		"the removed tenant's open window went out at once")

	e.clock.Advance(time.Minute)
	n.Offer("acme", []event.Event{attack("att-2", e.clock.Now(), false)}, nil)
	n.Offer("initech", []event.Event{attack("att-3", e.clock.Now(), false)}, nil)
	n.Step(ctx)
	e.clock.Advance(5 * time.Minute) // acme's window, opened before the reload, closes
	n.Step(ctx)
	require.Equal(t, 1, count(e.mb.to("soc@acme.example"), "ThreatInsight attack on acme started"))
	require.Equal(t, 1, count(e.mb.to("secops@acme.example"), "ThreatInsight attack on acme started"), "the first attack only: nothing re-sent")
	require.Equal(t, 1, count(e.mb.to("soc@acme.example"), "1 user of acme reached a critical attack factor"))
	require.Zero(t, count(e.mb.to("secops@acme.example"), "1 user of acme reached a critical attack factor"))
	require.Equal(t, []string{"ThreatInsight attack on initech started"}, e.mb.to("soc@initech.example"), "the added tenant is notified")
	require.Len(t, e.mb.to("soc@globex.example"), 1, "nothing for the removed tenant afterwards")
	var hooked []any
	for _, c := range e.hook.calls() {
		hooked = append(hooked, c.Payload["type"])
	}
	require.Equal(t, []any{"riskpipe.notification.attack_started", "riskpipe.notification.contacts_changed"}, hooked,
		"the removed contact's webhook: the first attack and the change, nothing after")

	// The change is recorded: a restart finds the contacts applied.
	rec, ok, err := e.ns.Contacts(ctx, "acme")
	require.NoError(t, err)
	require.True(t, ok)
	require.Contains(t, rec.Contacts, "soc@acme.example")
	require.NotContains(t, rec.Contacts, "secops@acme.example")
}

func requireSubjectPrefix(t *testing.T, subjects []string, prefix, msg string) {
	t.Helper()
	require.True(t, slices.ContainsFunc(subjects, func(s string) bool { return strings.HasPrefix(s, prefix) }), "%s: %v", msg, subjects)
}

// TestApplyWebhookURL: a webhook's url changes while a message to it waits
// for a retry: the retry and the next message go to the new receiver,
// with the same webhook-id for the retry, and the old receiver gets
// nothing more.
func TestApplyWebhookURL(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "", 500)
	n := e.notifier()
	n.Offer("acme", []event.Event{attack("att-1", e.clock.Now(), false)}, nil)
	n.Step(ctx)
	first := e.hook.calls()
	require.Len(t, first, 1)
	require.Equal(t, 500, first[0].Status)

	moved := newHook(t, testSecret)
	n.Apply(e.edited(e.hook.srv.URL+"/hook", moved.srv.URL+"/hook"))
	e.clock.Advance(Backoff(1))
	n.Step(ctx)
	n.Offer("acme", []event.Event{attack("att-1-end", e.clock.Now(), true)}, nil)
	n.Step(ctx)
	got := moved.calls()
	require.Len(t, got, 2)
	require.Equal(t, first[0].ID, got[0].ID, "the retry keeps its webhook-id")
	require.Equal(t, "riskpipe.notification.attack_started", got[0].Payload["type"])
	require.Equal(t, "riskpipe.notification.attack_ended", got[1].Payload["type"])
	require.Len(t, e.hook.calls(), 1, "the old receiver gets nothing more")
	require.Equal(t, []Status{StatusSent, StatusSent}, statusOf(e.rows("acme"), "soc-json"))
	// Email was unaffected: each message once.
	require.Equal(t, []string{"ThreatInsight attack on acme started", "ThreatInsight attack on acme ended"}, e.mb.to("secops@acme.example"))
}
