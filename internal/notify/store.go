package notify

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/riskpipe/riskpipe/internal/classify"
	"github.com/riskpipe/riskpipe/internal/event"
	"github.com/riskpipe/riskpipe/internal/score"
	"github.com/riskpipe/riskpipe/internal/store"
)

// Row is one row of notifications: one message to one recipient.
type Row struct {
	Tenant         string    `json:"tenant"`
	NotificationID string    `json:"notification_id"`
	Kind           Kind      `json:"kind"`
	Recipient      string    `json:"recipient"`
	Channel        Channel   `json:"channel"`
	Subject        string    `json:"subject"`
	Status         Status    `json:"status"`
	Attempts       uint32    `json:"attempts"`
	LastError      string    `json:"last_error,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	SentAt         time.Time `json:"sent_at"`
	NextAttemptAt  time.Time `json:"next_attempt_at"`
	DedupKey       string    `json:"dedup_key"`
	Body           string    `json:"-"`
	// Stalled (not stored) is true for a message still pending
	// StalledAfter after it was created.
	Stalled bool `json:"stalled"`
}

// StalledAfter is when a pending message is flagged stalled.
const StalledAfter = 15 * time.Minute

var rowColumns = "tenant, notification_id, kind, recipient, channel, subject, status, attempts, last_error, created_at, sent_at, next_attempt_at, dedup_key, body, version"

// Store reads and writes the notifications and org_contacts tables.
type Store struct {
	conn driver.Conn
	db   string
}

// NewStore uses conn and the database db (already migrated).
func NewStore(conn driver.Conn, db string) *Store { return &Store{conn: conn, db: db} }

func (s *Store) table(name string) string { return s.db + "." + name }

var lastVersion atomic.Uint64

// nextVersion is a strictly increasing version from the wall clock, so a
// later write of a row always wins (also across restarts).
func nextVersion() uint64 {
	for {
		last := lastVersion.Load()
		v := max(uint64(time.Now().UnixNano()), last+1)
		if lastVersion.CompareAndSwap(last, v) {
			return v
		}
	}
}

func dt(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}

func undt(t time.Time) time.Time {
	if t.Unix() <= 0 {
		return time.Time{}
	}
	return t.UTC()
}

// WriteRows inserts rows (new versions of their keys) in one batch.
func (s *Store) WriteRows(ctx context.Context, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := store.Insert(ctx, s.conn, "INSERT INTO "+s.table("notifications")+" ("+rowColumns+")", func(add func(values ...any) error) error {
		for _, r := range rows {
			if err := add(r.Tenant, r.NotificationID, string(r.Kind), r.Recipient, string(r.Channel), r.Subject, string(r.Status),
				r.Attempts, r.LastError, dt(r.CreatedAt), dt(r.SentAt), dt(r.NextAttemptAt), r.DedupKey, r.Body, nextVersion()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write notifications: %w", err)
	}
	return nil
}

const rowSelect = `SELECT tenant, notification_id, kind, recipient, channel, subject, status, attempts, last_error,
	created_at, sent_at, next_attempt_at, dedup_key, body FROM %s FINAL`

func (s *Store) query(ctx context.Context, where string, args ...any) ([]Row, error) {
	rows, err := s.conn.Query(ctx, fmt.Sprintf(rowSelect, s.table("notifications"))+" "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var kind, ch, st string
		if err := rows.Scan(&r.Tenant, &r.NotificationID, &kind, &r.Recipient, &ch, &r.Subject, &st, &r.Attempts, &r.LastError,
			&r.CreatedAt, &r.SentAt, &r.NextAttemptAt, &r.DedupKey, &r.Body); err != nil {
			return nil, err
		}
		r.Kind, r.Channel, r.Status = Kind(kind), Channel(ch), Status(st)
		r.CreatedAt, r.SentAt, r.NextAttemptAt = undt(r.CreatedAt), undt(r.SentAt), undt(r.NextAttemptAt)
		out = append(out, r)
	}
	return out, rows.Err()
}

// List returns the newest notifications of tenant, newest first.
func (s *Store) List(ctx context.Context, tenant string, limit int) ([]Row, error) {
	return s.query(ctx, "WHERE tenant = ? ORDER BY created_at DESC, notification_id, recipient LIMIT ?", tenant, limit)
}

// open returns the rows still to deliver (pending) or to fold (folded and
// not yet in a sent digest).
func (s *Store) open(ctx context.Context) ([]Row, error) {
	return s.query(ctx, "WHERE status = 'pending' OR (status = 'folded' AND toUInt32(sent_at) = 0) ORDER BY created_at, notification_id, recipient")
}

// keys returns the dedup keys of every notification created since.
func (s *Store) keys(ctx context.Context, since time.Time) (map[string]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT dedup_key FROM "+s.table("notifications")+" WHERE created_at >= ?", dt(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		for _, x := range strings.Fields(k) {
			out[x] = true
		}
	}
	return out, rows.Err()
}

// sentSince counts the messages sent per recipient since t (max_per_hour).
func (s *Store) sentSince(ctx context.Context, t time.Time) (map[string][]time.Time, error) {
	rows, err := s.conn.Query(ctx, "SELECT recipient, sent_at FROM "+s.table("notifications")+" FINAL WHERE status = 'sent' AND sent_at >= ? ORDER BY recipient, sent_at", dt(t))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]time.Time{}
	for rows.Next() {
		var r string
		var at time.Time
		if err := rows.Scan(&r, &at); err != nil {
			return nil, err
		}
		out[r] = append(out[r], at.UTC())
	}
	return out, rows.Err()
}

// lastIncident is when the last users critical incident of tenant was
// created (zero: none).
func (s *Store) lastIncident(ctx context.Context, tenant string) (time.Time, error) {
	var t time.Time
	err := s.conn.QueryRow(ctx, "SELECT max(created_at) FROM "+s.table("notifications")+
		" WHERE tenant = ? AND kind = 'critical_incident' AND position(dedup_key, '|users|') > 0", tenant).Scan(&t)
	return undt(t), err
}

// ContactsRecord is the row of org_contacts of one tenant.
type ContactsRecord struct {
	Tenant     string    `json:"tenant"`
	Contacts   string    `json:"-"` // canonical JSON of config.Contacts
	AppliedAt  time.Time `json:"applied_at"`
	ReviewedAt time.Time `json:"reviewed_at"`
	ReviewedBy string    `json:"reviewed_by"`
}

// Contacts returns tenant's last applied contacts (found false: never).
func (s *Store) Contacts(ctx context.Context, tenant string) (ContactsRecord, bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT tenant, contacts, applied_at, reviewed_at, reviewed_by FROM "+s.table("org_contacts")+
		" WHERE tenant = ? ORDER BY version DESC LIMIT 1", tenant)
	if err != nil {
		return ContactsRecord{}, false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return ContactsRecord{}, false, rows.Err()
	}
	var r ContactsRecord
	if err := rows.Scan(&r.Tenant, &r.Contacts, &r.AppliedAt, &r.ReviewedAt, &r.ReviewedBy); err != nil {
		return ContactsRecord{}, false, err
	}
	r.AppliedAt, r.ReviewedAt = undt(r.AppliedAt), undt(r.ReviewedAt)
	return r, true, rows.Err()
}

// WriteContacts inserts a new org_contacts row.
func (s *Store) WriteContacts(ctx context.Context, r ContactsRecord) error {
	_, err := store.Insert(ctx, s.conn, "INSERT INTO "+s.table("org_contacts")+" (tenant, contacts, applied_at, reviewed_at, reviewed_by, version)",
		func(add func(values ...any) error) error {
			return add(r.Tenant, r.Contacts, dt(r.AppliedAt), dt(r.ReviewedAt), r.ReviewedBy, nextVersion())
		})
	if err != nil {
		return fmt.Errorf("write org_contacts: %w", err)
	}
	return nil
}

// replay reads what a tenant's Detector needs to re-derive the findings
// since t: the users' levels before t, then the kept attack and leaked
// credential events and the attack-factor updates since t.
func (s *Store) replay(ctx context.Context, tenant string, since time.Time) (map[string]string, []event.Event, []score.Update, error) {
	levels := map[string]string{}
	rows, err := s.conn.Query(ctx, "SELECT user_id, argMax(level, updated_at) FROM "+s.table("attack_factor_updates")+
		" WHERE tenant = ? AND updated_at < ? GROUP BY user_id", tenant, dt(since))
	if err != nil {
		return nil, nil, nil, err
	}
	for rows.Next() {
		var u, l string
		if err := rows.Scan(&u, &l); err != nil {
			rows.Close()
			return nil, nil, nil, err
		}
		levels[u] = l
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, err
	}

	var evs []event.Event
	rows, err = s.conn.Query(ctx, "SELECT event_id, published_ms, event_type, category FROM "+s.table("risk_events")+
		" FINAL WHERE tenant = ? AND published_ms >= ? AND (category = ? OR event_type IN (?, ?)) ORDER BY published_ms, event_id",
		tenant, uint64(since.UnixMilli()), string(event.CategoryLeakedCredentials), classify.TypeAttackStart, classify.TypeAttackEnd)
	if err != nil {
		return nil, nil, nil, err
	}
	for rows.Next() {
		var e event.Event
		var ms uint64
		var cat string
		if err := rows.Scan(&e.ID, &ms, &e.EventType, &cat); err != nil {
			rows.Close()
			return nil, nil, nil, err
		}
		e.Published, e.Category = time.UnixMilli(int64(ms)).UTC(), event.Category(cat)
		evs = append(evs, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, err
	}

	var ups []score.Update
	rows, err = s.conn.Query(ctx, "SELECT user_id, user_login, updated_at, score, percentile, level, cause_event_id, explanation FROM "+
		s.table("attack_factor_updates")+" FINAL WHERE tenant = ? AND updated_at >= ? ORDER BY updated_at, version, user_id", tenant, dt(since))
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		u := score.Update{Tenant: tenant}
		if err := rows.Scan(&u.UserID, &u.UserLogin, &u.UpdatedAt, &u.Score, &u.Percentile, &u.Level, &u.CauseEventID, &u.Explanation); err != nil {
			return nil, nil, nil, err
		}
		ups = append(ups, u)
	}
	return levels, evs, ups, rows.Err()
}

// Problems returns the messages created since t that failed or are still
// waiting for a retry after a failed attempt, newest first.
func (s *Store) Problems(ctx context.Context, since time.Time) ([]Row, error) {
	return s.query(ctx, "WHERE created_at >= ? AND (status = 'failed' OR (status = 'pending' AND attempts > 0)) ORDER BY created_at DESC, notification_id, recipient LIMIT 100", dt(since))
}
