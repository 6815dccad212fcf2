package app

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/riskpipe/riskpipe/internal/notify"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/respond"
	"github.com/riskpipe/riskpipe/internal/store"
)

// notifySink hands every batch ClickHouse confirmed to the notifier. The
// hand-over never blocks (notify.Notifier.Offer), so notification sending
// can never slow ingestion down.
type notifySink struct {
	next poll.Sink
	n    *notify.Notifier
}

func (s notifySink) Write(ctx context.Context, bs ...store.Batch) error {
	if err := s.next.Write(ctx, bs...); err != nil {
		return err
	}
	for _, b := range bs {
		s.n.Offer(b.Tenant, b.Events, b.Scores.Updates)
	}
	return nil
}

// notifyEnabled reports whether a channel is configured: without one there
// is nobody to tell and no notifier runs.
func (a *App) notifyEnabled() bool {
	n := a.o.Config.Notify
	return n.SMTP.Host != "" || len(n.Webhooks) > 0
}

// newNotifier builds and starts the notifier (nil when notifications are
// not configured): undelivered messages, changed contacts and the replay
// of recent rows are handled before the pollers run.
func (a *App) newNotifier(ctx context.Context, st *store.Store) (*notify.Notifier, error) {
	for _, w := range a.o.Config.Warnings() {
		a.log.Warn("config: "+w.Msg, "key", w.Path)
	}
	if !a.notifyEnabled() {
		return nil, nil
	}
	n, err := notify.New(notify.Settings{Config: a.o.Config, Store: notify.NewStore(st.Conn(), st.Database()),
		Registerer: a.reg, Logger: a.log, Statuses: a.Statuses, Now: a.o.NotifyNow})
	if err != nil {
		return nil, err
	}
	if err := n.Start(ctx); err != nil {
		return nil, err
	}
	return n, nil
}

// respondNotifier tells the org's security contacts about response
// actions (respond.Notifier): a proposal waiting for a person, a spent
// hourly budget. The response service is built before the notifier (the
// API serves it from the start), so the notifier is set once built; until
// then, and without notifications configured, the service's log lines are
// all there is.
type respondNotifier struct {
	n   atomic.Pointer[notify.Notifier]
	now func() time.Time
}

func (r *respondNotifier) PendingApproval(_ context.Context, a respond.Action) {
	n := r.n.Load()
	if n == nil {
		return
	}
	what := fmt.Sprintf("%s of %s proposed by %s", a.Action, orDash(a.UserLogin, a.UserID, a.Identity), a.ProposedBy)
	if a.Reason != "" {
		what += ": " + a.Reason
	}
	if a.State == respond.StateNeedsIdentity {
		what += " (pick the Okta user first: the identity matches no user exactly)"
	}
	n.Report(notify.Finding{Tenant: a.Tenant, Kind: notify.KindActionPending, Key: "action_pending|" + a.Tenant + "|" + a.ID,
		At: a.CreatedAt, Detail: what})
}

func (r *respondNotifier) BudgetExhausted(_ context.Context, tenant string, limit int) {
	n := r.n.Load()
	if n == nil {
		return
	}
	hour := r.now().UTC().Truncate(time.Hour)
	n.Report(notify.Finding{Tenant: tenant, Kind: notify.KindResponseBudget, Key: "response_budget|" + tenant + "|" + hour.Format(time.RFC3339),
		At: r.now().UTC(), Detail: fmt.Sprintf("%d actions ran within the hour (response.max_actions_per_hour): every further action waits for approval.", limit)})
}

func orDash(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return "-"
}
