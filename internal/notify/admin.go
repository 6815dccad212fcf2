package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riskpipe/riskpipe/internal/config"
)

// Admin is what operators do with contacts and notifications, outside the
// running pipeline: list, review, send test messages, read the history. The
// CLI and the API use it.
type Admin struct {
	cfg   *config.Config
	store *Store
	d     *deliverer
	now   func() time.Time
}

// NewAdmin builds an Admin; now nil means time.Now.
func NewAdmin(cfg *config.Config, st *Store, now func() time.Time) *Admin {
	if now == nil {
		now = time.Now
	}
	return &Admin{cfg: cfg, store: st, d: newDeliverer(cfg, now), now: now}
}

// ErrUnknownTenant is returned for a tenant that is not configured.
var ErrUnknownTenant = errors.New("unknown tenant")

func (a *Admin) tenant(name string) (config.Tenant, error) {
	i := slices.IndexFunc(a.cfg.Tenants, func(t config.Tenant) bool { return t.Name == name })
	if i < 0 {
		return config.Tenant{}, fmt.Errorf("%w %q", ErrUnknownTenant, name)
	}
	return a.cfg.Tenants[i], nil
}

// ContactView is one tenant's contacts as configured and as last applied
// and reviewed.
type ContactView struct {
	Tenant          string           `json:"tenant"`
	PrimarySecurity []config.Contact `json:"primary_security"`
	CIOCISO         []config.Contact `json:"cio_ciso"`
	IT              []config.Contact `json:"it"`
	// ITFallback is true when it is empty and operational notices go to
	// primary_security.
	ITFallback bool      `json:"it_fallback"`
	AppliedAt  time.Time `json:"applied_at"`
	ReviewedAt time.Time `json:"reviewed_at"`
	ReviewedBy string    `json:"reviewed_by"`
	// ReviewDue is when a reminder goes out (contacts_review_every after
	// the later of applied_at and reviewed_at); zero before they are applied.
	ReviewDue time.Time `json:"review_due"`
	Warnings  []string  `json:"warnings"`
}

// Contacts returns a tenant's contacts.
func (a *Admin) Contacts(ctx context.Context, tenant string) (ContactView, error) {
	t, err := a.tenant(tenant)
	if err != nil {
		return ContactView{}, err
	}
	v := ContactView{Tenant: t.Name, PrimarySecurity: nonNil(t.Contacts.PrimarySecurity), CIOCISO: nonNil(t.Contacts.CIOCISO),
		IT: nonNil(t.Contacts.IT), ITFallback: len(t.Contacts.IT) == 0, Warnings: []string{}}
	rec, ok, err := a.store.Contacts(ctx, tenant)
	if err != nil {
		return ContactView{}, err
	}
	if ok {
		v.AppliedAt, v.ReviewedAt, v.ReviewedBy = rec.AppliedAt, rec.ReviewedAt, rec.ReviewedBy
		v.ReviewDue = reviewBase(rec).Add(a.cfg.Notify.ContactsReviewEvery)
	}
	prefix := ""
	for i, tt := range a.cfg.Tenants {
		if tt.Name == tenant {
			prefix = fmt.Sprintf("tenants[%d].", i)
		}
	}
	for _, w := range a.cfg.Warnings() {
		if strings.HasPrefix(w.Path, prefix) {
			v.Warnings = append(v.Warnings, w.String())
		}
	}
	return v, nil
}

func nonNil(c []config.Contact) []config.Contact {
	if c == nil {
		return []config.Contact{}
	}
	return c
}

// reviewBase is when the contacts were last confirmed: reviewed, or
// applied (a change counts as a review).
func reviewBase(r ContactsRecord) time.Time {
	if r.ReviewedAt.After(r.AppliedAt) {
		return r.ReviewedAt
	}
	return r.AppliedAt
}

// Review records that by reviewed tenant's contacts now. The contacts are
// applied first when they never were.
func (a *Admin) Review(ctx context.Context, tenant, by string) (ContactView, error) {
	t, err := a.tenant(tenant)
	if err != nil {
		return ContactView{}, err
	}
	rec, ok, err := a.store.Contacts(ctx, tenant)
	if err != nil {
		return ContactView{}, err
	}
	now := a.now().UTC().Truncate(time.Second)
	if !ok {
		rec = ContactsRecord{Tenant: tenant, Contacts: canonical(t.Contacts), AppliedAt: now}
	}
	rec.ReviewedAt, rec.ReviewedBy = now, by
	if err := a.store.WriteContacts(ctx, rec); err != nil {
		return ContactView{}, err
	}
	return a.Contacts(ctx, tenant)
}

// Delivery is the outcome of one test message.
type Delivery struct {
	Recipient string  `json:"recipient"`
	Channel   Channel `json:"channel"`
	Status    Status  `json:"status"`
	Error     string  `json:"error,omitempty"`
}

// Test sends a test message to every contact and channel of tenant, once
// each, and reports each delivery (also written to notifications).
func (a *Admin) Test(ctx context.Context, tenant string) ([]Delivery, error) {
	t, err := a.tenant(tenant)
	if err != nil {
		return nil, err
	}
	now := a.now().UTC()
	f := Finding{Tenant: tenant, Kind: KindTest, Key: fmt.Sprintf("test|%s|%d", tenant, now.UnixNano()), At: now,
		Detail: "This is a test message from riskpipe: this address or channel is configured as a security contact of " + tenant + "."}
	msg := render([]Finding{f}, a.cfg.EffectiveDashboardURL())
	body, _ := json.Marshal(msg)
	id := hashID(f.Key)
	out := []Delivery{}
	var rows []Row
	for _, r := range Recipients(f, t.Contacts) {
		row := Row{Tenant: tenant, NotificationID: id, Kind: KindTest, Recipient: r.ID(), Channel: r.Channel, Subject: msg.Subject,
			Status: StatusSent, Attempts: 1, CreatedAt: now, SentAt: now, DedupKey: f.Key, Body: string(body)}
		d := Delivery{Recipient: r.ID(), Channel: r.Channel, Status: StatusSent}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := a.d.send(sctx, r, msg, messageID(id, r))
		cancel()
		if err != nil {
			d.Status, d.Error = StatusFailed, err.Error()
			row.Status, row.LastError, row.SentAt = StatusFailed, err.Error(), time.Time{}
		}
		out = append(out, d)
		rows = append(rows, row)
	}
	if err := a.store.WriteRows(ctx, rows); err != nil {
		return out, err
	}
	return out, nil
}

// History returns a tenant's newest notifications, newest first.
func (a *Admin) History(ctx context.Context, tenant string, limit int) ([]Row, error) {
	if _, err := a.tenant(tenant); err != nil {
		return nil, err
	}
	rows, err := a.store.List(ctx, tenant, limit)
	if rows == nil {
		rows = []Row{}
	}
	now := a.now()
	for i := range rows {
		rows[i].Stalled = rows[i].Status == StatusPending && now.Sub(rows[i].CreatedAt) > StalledAfter
	}
	return rows, err
}

// canonical is the stored form of a tenant's contacts.
func canonical(c config.Contacts) string {
	b, _ := json.Marshal(c)
	return string(b)
}

// messageID is the id of one message to one recipient: the Message-ID of
// its email, the webhook-id of its webhook call, the same on every attempt.
func messageID(notificationID string, r Recipient) string {
	return "rp-" + notificationID + "-" + hashID(string(r.Channel), r.Address)[:8]
}
