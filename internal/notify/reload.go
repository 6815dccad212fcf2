package notify

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/riskpipe/riskpipe/internal/config"
)

// A reload (internal/app) hands the notifier a new configuration with
// Apply. It takes effect in the notifier's own goroutine, before the next
// batch is handled (Run) or at the start of the next Step, and keeps every
// piece of pending state:
//
//   - dedup keys: a finding already notified is not notified again;
//   - grouping windows in progress keep their due time (a changed
//     notify.group_interval applies to windows opened afterwards) and go
//     to the contacts in force when they close;
//   - messages already created (waiting for delivery, retries, folded
//     into a digest) keep their recipient: they were that org's contact
//     when the finding was made. A webhook's new url or an SMTP server's
//     new settings are used by the next attempt; a webhook removed from
//     notify.webhooks fails its messages (as after a restart);
//   - the detectors keep their levels and incident windows; a changed
//     notify.critical_incident applies from the next rows.
//
// Changed contacts of an org are recorded in org_contacts and the old and
// new contacts are told, as at a start. A tenant that appears gets its
// contacts and detector; one that disappears has its open grouping
// windows sent to its contacts first, then its detector and contacts are
// dropped (its messages already created are still delivered).

// Apply makes cfg the notifier's configuration (see above). It never
// blocks on the notifier: it may be called from any goroutine.
func (n *Notifier) Apply(cfg *config.Config) {
	n.mu.Lock()
	n.next = cfg
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// applyNext applies the configuration Apply left, if any (no I/O: Run
// calls it before every batch). It runs in the notifier's goroutine.
func (n *Notifier) applyNext() {
	n.mu.Lock()
	cfg := n.next
	n.next = nil
	n.mu.Unlock()
	if cfg != nil {
		n.applyConfig(cfg)
	}
}

// applyPending is applyNext, then the recording (and telling) of changed
// contacts in org_contacts, again at every tick while ClickHouse refuses
// it. It runs in the notifier's goroutine.
func (n *Notifier) applyPending(ctx context.Context) {
	n.applyNext()
	now := n.now().UTC()
	for _, name := range slices.Sorted(maps.Keys(n.contactsDue)) {
		t, ok := n.cfg.Tenant(name)
		if !ok {
			delete(n.contactsDue, name)
			continue
		}
		if err := n.applyContacts(ctx, t, now); err != nil {
			n.log.Warn("reload: cannot record the changed contacts; will retry", "tenant", name, "err", err)
			continue
		}
		delete(n.contactsDue, name)
	}
}

func (n *Notifier) applyConfig(cfg *config.Config) {
	old := n.cfg
	n.cfg = cfg
	n.dash = cfg.EffectiveDashboardURL()
	n.d.smtp = cfg.Notify.SMTP
	n.d.webhooks = map[string]config.Webhook{}
	for _, w := range cfg.Notify.Webhooks {
		n.d.webhooks[w.Name] = w
	}
	if !reflect.DeepEqual(old.Notify.CriticalIncident, cfg.Notify.CriticalIncident) {
		for _, d := range n.detectors {
			d.rule = cfg.Notify.CriticalIncident
		}
	}
	seen := map[string]bool{}
	for _, t := range cfg.Tenants {
		seen[t.Name] = true
		prev, known := n.contacts[t.Name]
		if !known {
			n.m.init(t.Name)
		}
		if known && reflect.DeepEqual(prev, t.Contacts) {
			continue
		}
		n.contacts[t.Name] = t.Contacts
		n.contactsDue[t.Name] = true
		n.log.Info("reload: contacts applied", "tenant", t.Name, "added", !known)
	}
	for name := range n.contacts {
		if seen[name] {
			continue
		}
		// Its grouping windows go out now, to the contacts it had.
		n.flushTenant(name)
		delete(n.contacts, name)
		delete(n.detectors, name)
		delete(n.records, name)
		delete(n.contactsDue, name)
		n.mu.Lock()
		delete(n.resync, name)
		n.mu.Unlock()
		n.log.Info("reload: tenant removed; its detector and contacts dropped", "tenant", name)
	}
}

// flushTenant emits the tenant's open grouping windows now.
func (n *Notifier) flushTenant(tenant string) {
	now := n.now().UTC()
	for _, k := range slices.Sorted(maps.Keys(n.groups)) {
		if strings.HasPrefix(k, tenant+"|") {
			n.emit(n.groups[k].findings, now)
			delete(n.groups, k)
		}
	}
}
