package app

import (
	"context"

	"github.com/riskpipe/riskpipe/internal/notify"
	"github.com/riskpipe/riskpipe/internal/poll"
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
