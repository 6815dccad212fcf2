package notify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskpipe/riskpipe/internal/config"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/poll"
	"github.com/riskpipe/riskpipe/internal/score"
)

// Defaults of Settings.
const (
	DefaultQueueSize = 1024
	DefaultTick      = time.Second
	// MaxAttempts is how often a message is tried before it is failed.
	MaxAttempts = 12
	// keysKept is how far back dedup keys are loaded at start.
	keysKept = 90 * 24 * time.Hour
)

// Settings are a Notifier's dependencies.
type Settings struct {
	Config *config.Config
	Store  *Store
	// Registerer gets the metrics (nil: none registered).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock (default time.Now); tests inject one.
	Now func() time.Time
	// Statuses are the pollers' statuses, for operational notices (nil:
	// none are sent).
	Statuses func() []poll.Status
	// QueueSize bounds the batches waiting between the pipeline and the
	// notifier (default DefaultQueueSize).
	QueueSize int
	// Tick is how often Run checks timers, retries and the pollers
	// (default DefaultTick).
	Tick time.Duration
	// TLSConfig, when set, is used to reach the SMTP server (tests).
	TLSConfig *tls.Config
}

// batch is what the pipeline hands over after ClickHouse confirmed a write.
type batch struct {
	tenant   string
	events   []event.Event
	updates  []score.Update
	findings []Finding // from other components (Report)
}

// delivery is one message to one recipient being delivered.
type delivery struct {
	row    Row
	msg    Message
	rcpt   Recipient
	stored bool // the current row version is in ClickHouse
}

type group struct {
	due      time.Time
	findings []Finding
}

// Notifier turns confirmed pipeline batches into notifications and
// delivers them. Offer may be called from any goroutine; everything else
// runs in Run's goroutine (or a test's, through Start and Step).
type Notifier struct {
	s     Settings
	cfg   *config.Config
	log   *slog.Logger
	now   func() time.Time
	d     *deliverer
	m     *metrics
	queue chan batch
	dash  string

	mu        sync.Mutex
	resync    map[string]bool // tenants whose batches did not fit the queue
	started   time.Time
	contacts  map[string]config.Contacts
	detectors map[string]*Detector
	keys      map[string]bool
	groups    map[string]*group
	pending   []*delivery
	// sent holds, per recipient, the send times within the last hour.
	sent map[string][]time.Time
	// folded holds, per recipient, the messages waiting for a digest.
	folded        map[string][]*delivery
	reviewChecked time.Time
	records       map[string]ContactsRecord
	// next is a configuration Apply left for the notifier's goroutine
	// (under mu); wake tells Run; contactsDue are tenants whose changed
	// contacts are not recorded in org_contacts yet.
	next        *config.Config
	wake        chan struct{}
	contactsDue map[string]bool
}

// New builds a Notifier; it touches no network.
func New(s Settings) (*Notifier, error) {
	if s.Config == nil || s.Store == nil {
		return nil, errors.New("notify: config and store are required")
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.QueueSize <= 0 {
		s.QueueSize = DefaultQueueSize
	}
	if s.Tick <= 0 {
		s.Tick = DefaultTick
	}
	m, err := newMetrics(s.Registerer)
	if err != nil {
		return nil, err
	}
	n := &Notifier{s: s, cfg: s.Config, log: s.Logger.With("component", "notify"), now: s.Now, m: m,
		queue: make(chan batch, s.QueueSize), dash: s.Config.EffectiveDashboardURL(),
		resync: map[string]bool{}, contacts: map[string]config.Contacts{}, detectors: map[string]*Detector{},
		keys: map[string]bool{}, groups: map[string]*group{}, sent: map[string][]time.Time{},
		folded: map[string][]*delivery{}, records: map[string]ContactsRecord{},
		wake: make(chan struct{}, 1), contactsDue: map[string]bool{}}
	n.d = newDeliverer(s.Config, s.Now)
	n.d.tlsConfig = s.TLSConfig
	for _, t := range s.Config.Tenants {
		n.contacts[t.Name] = t.Contacts
		m.init(t.Name)
	}
	return n, nil
}

// Offer hands over the rows of a batch ClickHouse confirmed. It never
// blocks: when the queue is full the batch is not queued and the tenant's
// recent rows are re-read from ClickHouse instead (nothing is lost, the
// dedup keys keep it from being sent twice).
func (n *Notifier) Offer(tenant string, events []event.Event, updates []score.Update) {
	// Keep only what the Detector reads, copied: the queue must not hold
	// the pipeline's pages (raw events) in memory.
	var evs []event.Event
	for _, e := range events {
		if relevant(e) {
			evs = append(evs, event.Event{ID: e.ID, EventType: e.EventType, Category: e.Category, Published: e.Published})
		}
	}
	if len(evs) == 0 && len(updates) == 0 {
		return
	}
	select {
	case n.queue <- batch{tenant: tenant, events: evs, updates: slices.Clone(updates)}:
		n.m.queue.Set(float64(len(n.queue)))
	default:
		n.mu.Lock()
		n.resync[tenant] = true
		n.mu.Unlock()
		n.m.overflows.Inc()
	}
}

// Report hands a finding of another component (a response action waiting
// for approval) to the notifier; like Offer it never blocks. Its Key
// dedups it as every finding's. A full queue drops it with a warning and
// the overflow metric (these findings are not re-derived from ClickHouse).
func (n *Notifier) Report(f Finding) {
	select {
	case n.queue <- batch{tenant: f.Tenant, findings: []Finding{f}}:
		n.m.queue.Set(float64(len(n.queue)))
	default:
		n.m.overflows.Inc()
		n.log.Warn("notification queue full: finding dropped", "tenant", f.Tenant, "kind", f.Kind)
	}
}

// replayWindow is how far back Start (and a resync) re-derives findings
// from ClickHouse.
func (n *Notifier) replayWindow() time.Duration {
	return max(time.Hour, n.cfg.Notify.CriticalIncident.Within, 2*n.cfg.Notify.GroupInterval)
}

// Start loads the dedup keys and undelivered messages, notifies changed
// contacts, and replays the recent rows of every tenant. Call it once,
// before Run and before the pipeline writes.
func (n *Notifier) Start(ctx context.Context) error {
	now := n.now().UTC()
	n.started = now
	keys, err := n.s.Store.keys(ctx, now.Add(-keysKept))
	if err != nil {
		return fmt.Errorf("notify: load dedup keys: %w", err)
	}
	n.keys = keys
	open, err := n.s.Store.open(ctx)
	if err != nil {
		return fmt.Errorf("notify: load open notifications: %w", err)
	}
	for _, r := range open {
		var msg Message
		if err := json.Unmarshal([]byte(r.Body), &msg); err != nil {
			n.log.Warn("notification body unreadable; marking failed", "notification_id", r.NotificationID, "err", err)
			r.Status, r.LastError = StatusFailed, "body unreadable after restart"
			n.pending = append(n.pending, &delivery{row: r})
			continue
		}
		dv := &delivery{row: r, msg: msg, rcpt: Recipient{Channel: r.Channel, Address: r.Recipient}, stored: true}
		if r.Status == StatusFolded {
			n.folded[r.Recipient] = append(n.folded[r.Recipient], dv)
		} else {
			n.pending = append(n.pending, dv)
		}
	}
	sent, err := n.s.Store.sentSince(ctx, now.Add(-time.Hour))
	if err != nil {
		return fmt.Errorf("notify: load sent counts: %w", err)
	}
	n.sent = sent
	for _, t := range n.cfg.Tenants {
		if err := n.applyContacts(ctx, t, now); err != nil {
			return err
		}
		if err := n.replay(ctx, t.Name, now); err != nil {
			return fmt.Errorf("notify: replay %s: %w", t.Name, err)
		}
	}
	n.m.pending.Set(float64(len(n.pending)))
	return nil
}

// replay rebuilds a tenant's detector from ClickHouse: the levels before
// the window, then the window's rows; findings already notified are
// skipped by their keys.
func (n *Notifier) replay(ctx context.Context, tenant string, now time.Time) error {
	since := now.Add(-n.replayWindow())
	levels, evs, ups, err := n.s.Store.replay(ctx, tenant, since)
	if err != nil {
		return err
	}
	last, err := n.s.Store.lastIncident(ctx, tenant)
	if err != nil {
		return err
	}
	d := NewDetector(tenant, n.cfg.Notify.CriticalIncident)
	d.SeedLevels(levels)
	d.SeedIncident(last)
	n.detectors[tenant] = d
	n.findings(d.Observe(evs, ups), now)
	return nil
}

// applyContacts compares tenant's contacts with the ones last applied and
// notifies old and new contacts of a change, then records the new ones.
func (n *Notifier) applyContacts(ctx context.Context, t config.Tenant, now time.Time) error {
	rec, ok, err := n.s.Store.Contacts(ctx, t.Name)
	if err != nil {
		return fmt.Errorf("notify: read org_contacts: %w", err)
	}
	cur := canonical(t.Contacts)
	if ok && rec.Contacts == cur {
		n.records[t.Name] = rec
		return nil
	}
	if ok {
		var old config.Contacts
		_ = json.Unmarshal([]byte(rec.Contacts), &old)
		lines := contactChanges(old, t.Contacts)
		f := Finding{Tenant: t.Name, Kind: KindContactsChanged, Key: "contacts_changed|" + t.Name + "|" + hashID(rec.Contacts) + "|" + hashID(cur),
			At: now, Detail: "The security contacts of " + t.Name + " in riskpipe changed: " + strings.Join(lines, "; ") + "."}
		for _, r := range config.ContactRoles {
			f.Extra = append(f.Extra, old.List(r)...)
		}
		n.findings([]Finding{f}, now)
		if err := n.store(ctx); err != nil { // written before the new contacts are recorded
			return err
		}
	}
	nr := ContactsRecord{Tenant: t.Name, Contacts: cur, AppliedAt: now.Truncate(time.Second), ReviewedAt: rec.ReviewedAt, ReviewedBy: rec.ReviewedBy}
	if err := n.s.Store.WriteContacts(ctx, nr); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	n.records[t.Name] = nr
	return nil
}

// contactChanges describes what changed between two contact sets.
func contactChanges(old, cur config.Contacts) []string {
	id := func(c config.Contact) string {
		var ch []string
		if c.Email != "" {
			ch = append(ch, c.Email)
		}
		if c.Webhook != "" {
			ch = append(ch, "webhook "+c.Webhook)
		}
		return c.Name + " <" + strings.Join(ch, ", ") + ">"
	}
	var lines []string
	for _, r := range config.ContactRoles {
		o, c := old.List(r), cur.List(r)
		for _, x := range c {
			if !slices.ContainsFunc(o, func(y config.Contact) bool { return y == x }) {
				lines = append(lines, "added "+id(x)+" as "+string(r))
			}
		}
		for _, x := range o {
			if !slices.ContainsFunc(c, func(y config.Contact) bool { return y == x }) {
				lines = append(lines, "removed "+id(x)+" from "+string(r))
			}
		}
	}
	if len(lines) == 0 {
		lines = []string{"the order of the contacts changed"}
	}
	return lines
}

// Run processes the queue and the timers until ctx ends. Messages not yet
// delivered stay pending in ClickHouse for the next start.
func (n *Notifier) Run(ctx context.Context) error {
	t := time.NewTicker(n.s.Tick)
	defer t.Stop()
	defer n.d.http.CloseIdleConnections()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-n.wake:
			n.applyPending(ctx)
		case b := <-n.queue:
			n.applyNext() // a reload before this batch applies to it
			n.handle(b)
		case <-t.C:
			n.Step(ctx)
		}
	}
}

// Step handles every queued batch, then does what is due now: groups whose
// window closed, operational and review checks, resyncs, storing and
// delivering messages, digests. Run calls it every tick; tests call it
// after moving their clock.
func (n *Notifier) Step(ctx context.Context) {
	n.applyPending(ctx)
	for {
		select {
		case b := <-n.queue:
			n.handle(b)
			continue
		default:
		}
		break
	}
	n.m.queue.Set(float64(len(n.queue)))
	now := n.now().UTC()
	n.mu.Lock()
	resync := n.resync
	n.resync = map[string]bool{}
	n.mu.Unlock()
	for tenant := range resync {
		if err := n.replay(ctx, tenant, now); err != nil {
			n.log.Warn("resync failed; will retry", "tenant", tenant, "err", err)
			n.mu.Lock()
			n.resync[tenant] = true
			n.mu.Unlock()
		}
	}
	n.flushGroups(now, false)
	n.checkOperational(now)
	n.checkReview(ctx, now)
	if err := n.store(ctx); err != nil {
		n.log.Warn("cannot write notifications; will retry", "err", err)
	}
	n.digests(ctx, now)
	n.deliver(ctx, now)
	n.m.pending.Set(float64(len(n.pending)))
}

func (n *Notifier) handle(b batch) {
	if len(b.findings) > 0 {
		n.findings(b.findings, n.now().UTC())
	}
	if len(b.events) == 0 && len(b.updates) == 0 {
		return
	}
	d := n.detectors[b.tenant]
	if d == nil {
		d = NewDetector(b.tenant, n.cfg.Notify.CriticalIncident)
		n.detectors[b.tenant] = d
	}
	n.findings(d.Observe(b.events, b.updates), n.now().UTC())
}

// findings dedups, groups or emits findings.
func (n *Notifier) findings(fs []Finding, now time.Time) {
	for _, f := range fs {
		if n.keys[f.Key] {
			continue
		}
		n.keys[f.Key] = true
		if f.Kind == KindUserCritical {
			k := f.Tenant + "|" + string(f.Kind)
			g := n.groups[k]
			if g == nil {
				g = &group{due: now.Add(n.cfg.Notify.GroupInterval)}
				n.groups[k] = g
			}
			g.findings = append(g.findings, f)
			continue
		}
		n.emit([]Finding{f}, now)
	}
}

// flushGroups emits the groups whose window closed (all with force).
func (n *Notifier) flushGroups(now time.Time, force bool) {
	keys := make([]string, 0, len(n.groups))
	for k := range n.groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := n.groups[k]
		if force || !now.Before(g.due) {
			n.emit(g.findings, now)
			delete(n.groups, k)
		}
	}
}

// emit creates the rows of one message to each recipient (stored by the
// next store, before any is sent).
func (n *Notifier) emit(fs []Finding, now time.Time) {
	f := fs[0]
	msg := render(fs, n.dash)
	body, err := json.Marshal(msg)
	if err != nil {
		n.log.Error("render notification", "err", err)
		return
	}
	key := groupKey(msg.Keys)
	id := hashID(key)
	rcpts := Recipients(f, n.contacts[f.Tenant])
	if len(rcpts) == 0 {
		n.log.Warn("finding with no recipient (configure the tenant's contacts)", "tenant", f.Tenant, "kind", f.Kind, "subject", msg.Subject)
		n.m.count(f.Tenant, f.Kind, "", "no_recipient")
		return
	}
	for _, r := range rcpts {
		row := Row{Tenant: f.Tenant, NotificationID: id, Kind: f.Kind, Recipient: r.ID(), Channel: r.Channel, Subject: msg.Subject,
			Status: StatusPending, CreatedAt: now, NextAttemptAt: now, DedupKey: key, Body: string(body)}
		n.pending = append(n.pending, &delivery{row: row, msg: msg, rcpt: r})
		n.m.count(f.Tenant, f.Kind, r.Channel, StatusPending)
	}
	n.log.Info("notification", "tenant", f.Tenant, "kind", f.Kind, "subject", msg.Subject, "recipients", len(rcpts))
}

// store writes every row version not yet in ClickHouse.
func (n *Notifier) store(ctx context.Context) error {
	var rows []Row
	var dvs []*delivery
	for _, dv := range n.pending {
		if !dv.stored {
			rows, dvs = append(rows, dv.row), append(dvs, dv)
		}
	}
	for _, list := range n.folded {
		for _, dv := range list {
			if !dv.stored {
				rows, dvs = append(rows, dv.row), append(dvs, dv)
			}
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := n.s.Store.WriteRows(ctx, rows); err != nil {
		return err
	}
	for _, dv := range dvs {
		dv.stored = true
	}
	n.pending = slices.DeleteFunc(n.pending, func(dv *delivery) bool { return dv.stored && dv.row.Status != StatusPending })
	return nil
}

// limited kinds may be folded into a digest; critical incidents, tests and
// digests always go out.
func limited(k Kind) bool {
	return k != KindCriticalIncident && k != KindTest && k != KindDigest
}

// deliver sends every stored pending message that is due, one at a time,
// and writes each outcome. A crash between a send and the write of its
// outcome resends that one message once after the restart, with the same
// Message-ID or webhook-id.
func (n *Notifier) deliver(ctx context.Context, now time.Time) {
	for _, dv := range slices.Clone(n.pending) {
		if ctx.Err() != nil {
			return
		}
		if !dv.stored || dv.row.Status != StatusPending || dv.row.NextAttemptAt.After(now) {
			continue
		}
		rc := dv.row.Recipient
		n.sent[rc] = slices.DeleteFunc(n.sent[rc], func(t time.Time) bool { return now.Sub(t) >= time.Hour })
		if limited(dv.row.Kind) && len(n.sent[rc]) >= n.cfg.Notify.MaxPerHour {
			dv.row.Status, dv.stored = StatusFolded, false
			n.folded[rc] = append(n.folded[rc], dv)
			n.pending = slices.DeleteFunc(n.pending, func(x *delivery) bool { return x == dv })
			n.m.count(dv.row.Tenant, dv.row.Kind, dv.row.Channel, StatusFolded)
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := n.d.send(sctx, dv.rcpt, dv.msg, messageID(dv.row.NotificationID, dv.rcpt))
		cancel()
		dv.row.Attempts++
		dv.stored = false
		var perm *PermanentError
		switch {
		case err == nil:
			dv.row.Status, dv.row.SentAt, dv.row.LastError = StatusSent, now, ""
			n.sent[rc] = append(n.sent[rc], now)
			n.m.count(dv.row.Tenant, dv.row.Kind, dv.row.Channel, StatusSent)
		case errors.As(err, &perm) || dv.row.Attempts >= MaxAttempts:
			dv.row.Status, dv.row.LastError = StatusFailed, err.Error()
			n.m.count(dv.row.Tenant, dv.row.Kind, dv.row.Channel, StatusFailed)
			n.log.Warn("notification failed", "tenant", dv.row.Tenant, "kind", dv.row.Kind, "recipient", rc, "attempts", dv.row.Attempts, "err", err)
		default:
			dv.row.LastError, dv.row.NextAttemptAt = err.Error(), now.Add(Backoff(int(dv.row.Attempts)))
			n.m.retries.Inc()
			n.log.Warn("notification not delivered; will retry", "tenant", dv.row.Tenant, "kind", dv.row.Kind, "recipient", rc,
				"attempts", dv.row.Attempts, "retry_at", dv.row.NextAttemptAt, "err", err)
		}
		if err := n.store(ctx); err != nil {
			n.log.Warn("cannot write notification outcome; will retry", "err", err)
		}
	}
	if err := n.store(ctx); err != nil { // folded rows
		n.log.Warn("cannot write folded notifications; will retry", "err", err)
	}
}

// Backoff is the wait after the nth failed attempt: 10s doubling up to 1h
// (10s, 20s, 40s, 80s, ...; 12 attempts span about 4h).
func Backoff(attempts int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// digests sends, per recipient, the messages folded over max_per_hour as
// one digest once the hour of the oldest one has passed.
func (n *Notifier) digests(ctx context.Context, now time.Time) {
	rcpts := make([]string, 0, len(n.folded))
	for r := range n.folded {
		rcpts = append(rcpts, r)
	}
	sort.Strings(rcpts)
	for _, rc := range rcpts {
		list := n.folded[rc]
		if len(list) == 0 || !list[0].stored {
			continue
		}
		oldest := list[0].row.CreatedAt
		for _, dv := range list {
			if dv.row.CreatedAt.Before(oldest) {
				oldest = dv.row.CreatedAt
			}
		}
		if now.Sub(oldest) < time.Hour {
			continue
		}
		var subjects, keys []string
		for _, dv := range list {
			subjects = append(subjects, fmtTime(dv.row.CreatedAt)+" "+dv.row.Subject)
			keys = append(keys, dv.row.NotificationID)
		}
		tenant := list[0].row.Tenant
		msg := digest(tenant, subjects, now, n.dash, n.cfg.Notify.MaxPerHour)
		msg.Keys = []string{"digest|" + rc + "|" + hashID(keys...)}
		body, _ := json.Marshal(msg)
		r := list[0].rcpt
		row := Row{Tenant: tenant, NotificationID: hashID(msg.Keys[0]), Kind: KindDigest, Recipient: rc, Channel: r.Channel,
			Subject: msg.Subject, Status: StatusPending, CreatedAt: now, NextAttemptAt: now, DedupKey: msg.Keys[0], Body: string(body)}
		n.pending = append(n.pending, &delivery{row: row, msg: msg, rcpt: r})
		n.m.count(tenant, KindDigest, r.Channel, StatusPending)
		// The folded rows are closed (sent_at set: part of this digest) in
		// the same write as the digest's pending row.
		for _, dv := range list {
			dv.row.SentAt, dv.stored = now, false
		}
		if err := n.store(ctx); err != nil {
			n.log.Warn("cannot write digest; will retry", "err", err)
			continue
		}
		delete(n.folded, rc)
	}
}

// checkOperational notifies a tenant whose poller has been failing (auth
// errors, Okta or ClickHouse unreachable) for notify.operational_after.
func (n *Notifier) checkOperational(now time.Time) {
	if n.s.Statuses == nil {
		return
	}
	for _, st := range n.s.Statuses() {
		var (
			since  time.Time
			detail string
			after  = n.cfg.Notify.OperationalAfter
		)
		switch st.State {
		case "auth_error", "backing_off", "write_error":
			since = st.LastSuccess
			if since.IsZero() { // never succeeded in this process: count from its start
				since = n.started
			}
			detail = fmt.Sprintf("riskpipe has not read the Okta System Log of %s since %s (state %s, %d consecutive failures",
				st.Tenant, fmtTime(since), st.State, st.ConsecutiveFailures)
			if st.LastError != "" {
				detail += ": " + st.LastError
			}
			detail += "). Findings for this org are delayed until it recovers; check the API token or OAuth app, and the network."
		default:
			// Stalled: polling works but no event arrived for longer than
			// api.stall_after (the rule of the dashboard's stalled flag),
			// told once it lasted operational_after too.
			since = latestOf(st.LastCursorAdvance, st.IntegratedAt, n.started)
			after = max(after, n.cfg.API.StallAfter)
			detail = fmt.Sprintf("riskpipe has received no System Log event of %s since %s (more than api.stall_after, %s). "+
				"An org always has some traffic: check that the API token or OAuth app may still read the System Log.",
				st.Tenant, fmtTime(since), fmtDur(n.cfg.API.StallAfter))
		}
		if now.Sub(since) < after {
			continue
		}
		n.findings([]Finding{{Tenant: st.Tenant, Kind: KindIntegrationFailing,
			Key: fmt.Sprintf("integration_failing|%s|%d", st.Tenant, since.Unix()), At: now, Detail: detail}}, now)
	}
}

func latestOf(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// checkReview reminds primary_security weekly once the contacts were not
// reviewed for notify.contacts_review_every (read from org_contacts hourly,
// so a review through the CLI or API is seen).
func (n *Notifier) checkReview(ctx context.Context, now time.Time) {
	if now.Sub(n.reviewChecked) < time.Hour {
		return
	}
	n.reviewChecked = now
	every := n.cfg.Notify.ContactsReviewEvery
	for _, t := range n.cfg.Tenants {
		rec, ok, err := n.s.Store.Contacts(ctx, t.Name)
		if err != nil {
			n.log.Warn("read org_contacts", "tenant", t.Name, "err", err)
			n.reviewChecked = time.Time{}
			return
		}
		if !ok {
			continue
		}
		base := reviewBase(rec)
		over := now.Sub(base) - every
		if over < 0 {
			continue
		}
		week := int(over / (7 * 24 * time.Hour))
		detail := fmt.Sprintf("The security contacts of %s were last reviewed or changed on %s, more than %s ago. Please check them "+
			"(riskpipe contacts list --tenant %s) and record the review (riskpipe contacts review --tenant %s, or the dashboard).",
			t.Name, fmtTime(base), fmtDur(every), t.Name, t.Name)
		n.findings([]Finding{{Tenant: t.Name, Kind: KindContactsReview, Key: fmt.Sprintf("contacts_review|%s|%d|%d", t.Name, base.Unix(), week),
			At: now, Detail: detail}}, now)
	}
}
