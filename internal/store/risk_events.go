package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	kinds "github.com/riskpipe/riskpipe/internal/classify"
	"github.com/riskpipe/riskpipe/internal/threat"
)

// The read queries over risk_events (schema/001): the kept events. The
// writer's side is tables.go (riskEventColumns, riskEventRows).

// Event is one kept System Log event as read back (a row of risk_events).
type Event struct {
	Tenant  string
	EventID string
	// Published is Okta's `published`, to the millisecond, in UTC.
	Published         time.Time
	EventType         string
	Category          string
	Severity          string
	DisplayMessage    string
	RiskLevel         string
	RiskReasons       string
	RiskDetection     string
	PreviousRiskLevel string
	UserID            string
	UserLogin         string
	ActorLogin        string
	ClientIP          string
	Country           string
	Outcome           string
	OutcomeReason     string
	ThreatSuspected   bool
	// ThreatDetections maps ThreatInsight detection names to their level.
	ThreatDetections map[string]string
	TransactionID    string
	IngestedAt       time.Time
	// Raw is the event's JSON exactly as Okta sent it (only when asked
	// for; a JSON string of it when it is not valid JSON).
	Raw json.RawMessage
}

const eventColumns = `tenant, event_id, published, published_ms, event_type, category, severity,
    display_message, risk_level, risk_reasons, risk_detection, previous_risk_level, user_id, user_login,
    actor_login, client_ip, country, outcome, outcome_reason, threat_suspected,
    threat_detection_names, threat_detection_levels, transaction_id, ingested_at`

// EventKey is a position in the events' (published_ms, event_id) order.
type EventKey struct {
	PublishedMS uint64
	EventID     string
}

// EventFilter selects a tenant's events for Events.
type EventFilter struct {
	// From and To bound published to [From, To) (seconds); both zero: no
	// bound.
	From, To time.Time
	// After, when set, keeps the events after it in ascending order.
	After      *EventKey
	Categories []string // any of them; empty: all
	UserID     string   // empty: all
	// Desc orders newest first; Limit is how many (> 0); Raw reads the raw
	// JSON too.
	Desc  bool
	Limit int
	Raw   bool
}

// where is the filter as conditions on a row's columns, with their args.
func (f EventFilter) where() (string, []any) {
	var where []string
	var args []any
	if !f.From.IsZero() || !f.To.IsZero() {
		where = append(where, "published >= toDateTime(?)", "published < toDateTime(?)")
		args = append(args, f.From.Unix(), f.To.Unix())
	}
	if k := f.After; k != nil {
		where = append(where, "(published_ms > ? OR (published_ms = ? AND event_id > ?))")
		args = append(args, k.PublishedMS, k.PublishedMS, k.EventID)
	}
	if len(f.Categories) > 0 {
		where = append(where, "category IN "+in(&args, f.Categories))
	}
	if f.UserID != "" {
		where = append(where, "user_id = ?")
		args = append(args, f.UserID)
	}
	if len(where) == 0 {
		return "1", nil
	}
	return strings.Join(where, " AND "), args
}

// EventByID returns one event of tenant with its raw JSON; false when
// there is none.
func (r *Reader) EventByID(ctx context.Context, tenant, eventID string) (Event, bool, error) {
	// PREWHERE on the sorting key before FINAL is the same as WHERE after
	// it, and skips reading the other columns (raw above all) of the
	// granules that do not hold the event.
	query := fmt.Sprintf("SELECT %s, raw FROM %s FINAL PREWHERE tenant = ? AND event_id = ? LIMIT 1",
		eventColumns, r.table("risk_events"))
	events, _, err := r.queryEvents(ctx, query, true, tenant, eventID)
	if err != nil || len(events) == 0 {
		return Event{}, false, err
	}
	return events[0], true, nil
}

// queryEvents runs a query selecting eventColumns (and raw when withRaw),
// and also returns each event's published_ms column as stored.
func (r *Reader) queryEvents(ctx context.Context, query string, withRaw bool, args ...any) ([]Event, []uint64, error) {
	rows, err := r.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	var msOut []uint64
	for rows.Next() {
		var (
			e             Event
			ms            uint64
			threat        uint8
			names, levels []string
			raw           string
		)
		dst := []any{&e.Tenant, &e.EventID, &e.Published, &ms, &e.EventType, &e.Category, &e.Severity,
			&e.DisplayMessage, &e.RiskLevel, &e.RiskReasons, &e.RiskDetection, &e.PreviousRiskLevel, &e.UserID, &e.UserLogin,
			&e.ActorLogin, &e.ClientIP, &e.Country, &e.Outcome, &e.OutcomeReason, &threat,
			&names, &levels, &e.TransactionID, &e.IngestedAt}
		if withRaw {
			dst = append(dst, &raw)
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, nil, fmt.Errorf("scan event: %w", err)
		}
		if ms > 0 {
			e.Published = time.UnixMilli(int64(ms))
		}
		e.Published, e.IngestedAt = e.Published.UTC(), e.IngestedAt.UTC()
		e.ThreatSuspected = threat == 1
		e.ThreatDetections = map[string]string{}
		for i, n := range names {
			if i < len(levels) {
				e.ThreatDetections[n] = levels[i]
			}
		}
		if withRaw {
			e.Raw = rawJSON(raw)
		}
		out = append(out, e)
		msOut = append(msOut, ms)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read events: %w", err)
	}
	return out, msOut, nil
}

// rawJSON is raw as JSON: itself when valid, else a JSON string of it.
func rawJSON(raw string) json.RawMessage {
	if json.Valid([]byte(raw)) {
		return json.RawMessage(raw)
	}
	b, _ := json.Marshal(raw)
	return b
}

// EventsFinal is the plain query Events answers without reading the whole
// range with FINAL:
//
//	SELECT eventColumns FROM risk_events FINAL WHERE tenant = ? AND <filter>
//	ORDER BY published_ms, event_id LIMIT <limit>
//
// (what Events falls back to; the reference its tests compare with).
func (r *Reader) EventsFinal(ctx context.Context, tenant string, f EventFilter) ([]Event, error) {
	where, args := f.where()
	events, _, err := r.queryEvents(ctx, r.finalEventsSQL(where, f), f.Raw, append([]any{tenant}, args...)...)
	return events, err
}

func (r *Reader) finalEventsSQL(where string, f EventFilter) string {
	return fmt.Sprintf("SELECT %s FROM %s FINAL WHERE tenant = ? AND %s %s", eventSelect(f.Raw), r.table("risk_events"), where, eventOrder(f.Desc, f.Limit))
}

func eventSelect(raw bool) string {
	if raw {
		return eventColumns + ", raw"
	}
	return eventColumns
}

// eventOrder is the (published_ms, event_id) order of event reads,
// descending with desc, and their LIMIT.
func eventOrder(desc bool, limit int) string {
	dir := ""
	if desc {
		dir = " DESC"
	}
	return fmt.Sprintf("ORDER BY published_ms%s, event_id%s LIMIT %d", dir, dir, limit)
}

// Events returns the first f.Limit events of risk_events FINAL in tenant
// that satisfy f, in (published_ms, event_id) order, descending when
// f.Desc: what EventsFinal returns, without merging the tenant's whole key
// range: FINAL reads every selected column of every row in the range
// before WHERE filters, as published and user_id are not in the sorting
// key. It first picks candidates without FINAL, from the sorted rows
// satisfying the filter (two narrow columns, a top-n sort of 2*limit rows:
// bounded memory): the first limit distinct event ids, each at its first
// row, i.e. keyed by its first (last when desc) published_ms among its
// versions satisfying the filter. Then it reads only those ids with FINAL,
// selected by PREWHERE on the sorting key (tenant, event_id): PREWHERE
// runs before FINAL, which is the same as after it for conditions on key
// columns only (every version of a row has the same key), and it skips the
// granules that hold no candidate.
//
// That is exact unless a candidate's newest version no longer satisfies
// the filter or sorts elsewhere than its key (an event rewritten with
// another user, category or published time), or unless more than limit of
// the rows are versions of events already seen: when the candidates were
// cut and the FINAL rows do not fill the limit up to the cut, an event
// beyond it could belong in the answer, and EventsFinal's query runs as it
// is (counted by FullReads).
func (r *Reader) Events(ctx context.Context, tenant string, f EventFilter) ([]Event, error) {
	where, args := f.where()
	desc, limit := f.Desc, f.Limit
	maxRows := 2 * limit
	cq := fmt.Sprintf("SELECT event_id, published_ms FROM %s WHERE tenant = ? AND %s %s",
		r.table("risk_events"), where, eventOrder(desc, maxRows))
	rows, err := r.conn.Query(ctx, cq, append([]any{tenant}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("query event candidates: %w", err)
	}
	var (
		ids      []string
		seen     = map[string]bool{}
		n        int    // rows read
		cutMS    uint64 // the key after which no candidate starts
		cutID    string
		complete = true // every row satisfying where was read
	)
	for rows.Next() {
		var (
			id string
			ms uint64
		)
		if err := rows.Scan(&id, &ms); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan event candidates: %w", err)
		}
		n++
		if len(ids) == limit {
			complete = false // rows beyond the limit-th distinct id
			continue
		}
		cutMS, cutID = ms, id
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read event candidates: %w", err)
	}
	if n == maxRows {
		complete = false
	}
	if len(ids) == 0 && complete {
		return []Event{}, nil // no version of any event satisfies where
	}
	if len(ids) > 0 {
		pargs := []any{tenant}
		q := fmt.Sprintf("SELECT %s FROM %s FINAL PREWHERE tenant = ? AND event_id IN %s WHERE %s %s",
			eventSelect(f.Raw), r.table("risk_events"), in(&pargs, ids), where, eventOrder(f.Desc, f.Limit))
		events, ms, err := r.queryEvents(ctx, q, f.Raw, append(pargs, args...)...)
		if err != nil {
			return nil, err
		}
		if complete {
			return events, nil // every event with a version in where was a candidate
		}
		if k := len(events); k == limit {
			// Every other event's versions in where sort after the cut:
			// the answer is exact if its last row does not.
			c := cmp.Compare(ms[k-1], cutMS)
			if c == 0 {
				c = strings.Compare(events[k-1].EventID, cutID)
			}
			if (!desc && c <= 0) || (desc && c >= 0) {
				return events, nil
			}
		}
	}
	r.fullReads.Add(1)
	return r.EventsFinal(ctx, tenant, f)
}

// CategoryCount is how many events of one category were published in the
// bucket starting at Bucket.
type CategoryCount struct {
	Bucket   time.Time
	Category string
	Events   uint64
}

// CategoryCounts counts the kept events of orgs (not empty) published in
// [from, to) per bucket of step (whole seconds, aligned to the Unix epoch:
// UTC whatever the server's time zone) and category, each event once.
func (r *Reader) CategoryCounts(ctx context.Context, orgs []string, from, to time.Time, step time.Duration) ([]CategoryCount, error) {
	args := []any{}
	// uniqExact(event_id) counts replayed events once without FINAL.
	query := fmt.Sprintf(`SELECT toUInt64(intDiv(toUInt32(published), ?) * ?) AS bucket, category, uniqExact(event_id)
FROM %s
WHERE tenant IN %s AND published >= toDateTime(?) AND published < toDateTime(?)
GROUP BY bucket, category`, r.table("risk_events"), in(&args, orgs))
	secs := uint32(step / time.Second)
	args = append([]any{secs, secs}, args...)
	args = append(args, from.Unix(), to.Unix())
	var out []CategoryCount
	err := r.eachRow(ctx, query, args, func(rows driver.Rows) error {
		var (
			bucket uint64
			c      CategoryCount
		)
		if err := rows.Scan(&bucket, &c.Category, &c.Events); err != nil {
			return fmt.Errorf("scan activity: %w", err)
		}
		c.Bucket = time.Unix(int64(bucket), 0)
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query activity: %w", err)
	}
	return out, nil
}

// LagBucket is the ingestion lag of the events published in the bucket
// starting at Start: how many, and their average and largest lag from
// published to their first landing in risk_events, in seconds.
type LagBucket struct {
	Start          time.Time
	Events         uint64
	AvgLag, MaxLag float64
}

// IngestLag returns tenant's lag per bucket of step over [from, to): one
// row per event (a replay keeps its first landing), events whose published
// Okta gave us (published_note = ”).
func (r *Reader) IngestLag(ctx context.Context, tenant string, from, to time.Time, step time.Duration) ([]LagBucket, error) {
	secs := uint32(step / time.Second)
	var out []LagBucket
	err := r.eachRow(ctx, fmt.Sprintf(`SELECT bucket, count(), avg(lag_s), max(lag_s)
FROM
(
    SELECT toUInt64(intDiv(toUInt32(any(published)), ?) * ?) AS bucket,
        if(toInt64(min(ingested_at)) < toInt64(any(published)), 0, toInt64(min(ingested_at)) - toInt64(any(published))) AS lag_s
    FROM %s
    WHERE tenant = ? AND published >= toDateTime(?) AND published < toDateTime(?) AND published_note = ''
    GROUP BY event_id
) AS per_event
GROUP BY bucket`, r.table("risk_events")), []any{secs, secs, tenant, from.Unix(), to.Unix()}, func(rows driver.Rows) error {
		var (
			bucket uint64
			b      LagBucket
			mx     int64
		)
		if err := rows.Scan(&bucket, &b.Events, &b.AvgLag, &mx); err != nil {
			return err
		}
		b.Start, b.MaxLag = time.Unix(int64(bucket), 0), float64(mx)
		out = append(out, b)
		return nil
	})
	return out, err
}

// AttackMarks returns tenant's security.attack.start and .end events
// published in [from, to), one per event id (replays collapse), for
// threat.Timeline.
func (r *Reader) AttackMarks(ctx context.Context, tenant string, from, to time.Time) ([]threat.Mark, error) {
	var marks []threat.Mark
	// One row per event_id (GROUP BY), replays collapse; min, not any(),
	// so that every ClickHouse version picks the same row's values.
	err := r.eachRow(ctx, fmt.Sprintf(`SELECT event_id, min(published_ms), min(event_type)
FROM %s
WHERE tenant = ? AND event_type IN (?, ?) AND published >= toDateTime(?) AND published < toDateTime(?)
GROUP BY event_id`, r.table("risk_events")),
		[]any{tenant, kinds.TypeAttackStart, kinds.TypeAttackEnd, from.Unix(), to.Unix()}, func(rows driver.Rows) error {
			var (
				m   threat.Mark
				ms  uint64
				typ string
			)
			if err := rows.Scan(&m.EventID, &ms, &typ); err != nil {
				return err
			}
			m.At, m.Start = time.UnixMilli(int64(ms)).UTC(), typ == kinds.TypeAttackStart
			marks = append(marks, m)
			return nil
		})
	return marks, err
}

// KeptSince counts, per tenant, the distinct kept events (risk_events)
// published at or after since.
func (s *Store) KeptSince(ctx context.Context, since time.Time) (map[string]uint64, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, "SELECT tenant, uniqExact(event_id) FROM "+s.table("risk_events")+
		" WHERE published >= toDateTime(?) GROUP BY tenant", uint32(dateTime(since).Unix()))
	if err != nil {
		return nil, classify(fmt.Errorf("count kept events: %w", err))
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var (
			tenant string
			n      uint64
		)
		if err := rows.Scan(&tenant, &n); err != nil {
			return nil, classify(fmt.Errorf("count kept events: %w", err))
		}
		out[tenant] = n
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("count kept events: %w", err))
	}
	return out, nil
}

// TenantCategory is how many kept events of one category a tenant holds.
type TenantCategory struct {
	Tenant, Category string
	Events           uint64
}

// KeptByCategory counts every tenant's kept events (FINAL) per category,
// by tenant, then most events first, then category.
func (r *Reader) KeptByCategory(ctx context.Context) ([]TenantCategory, error) {
	var out []TenantCategory
	err := r.eachRow(ctx, fmt.Sprintf(
		"SELECT tenant, category, count() AS n FROM %s FINAL GROUP BY tenant, category ORDER BY tenant, n DESC, category", r.table("risk_events")),
		nil, func(rows driver.Rows) error {
			var c TenantCategory
			if err := rows.Scan(&c.Tenant, &c.Category, &c.Events); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	return out, err
}

// KeptPerTenant counts the rows of risk_events of each of tenants (FINAL:
// each event once); a tenant without any is 0.
func (r *Reader) KeptPerTenant(ctx context.Context, tenants []string, final bool) (map[string]uint64, error) {
	f := ""
	if final {
		f = " FINAL"
	}
	args := []any{}
	query := fmt.Sprintf("SELECT tenant, count() FROM %s%s WHERE tenant IN %s GROUP BY tenant", r.table("risk_events"), f, in(&args, tenants))
	out := map[string]uint64{}
	for _, t := range tenants {
		out[t] = 0
	}
	err := r.eachRow(ctx, query, args, func(rows driver.Rows) error {
		var t string
		var n uint64
		if err := rows.Scan(&t, &n); err != nil {
			return err
		}
		out[t] = n
		return nil
	})
	return out, err
}

// IngestedSince returns the ids of the rows of tenants' events written at
// or after since (seconds; a replayed event once per row).
func (r *Reader) IngestedSince(ctx context.Context, tenants []string, since time.Time) ([]string, error) {
	args := []any{}
	query := fmt.Sprintf("SELECT event_id FROM %s WHERE tenant IN %s AND ingested_at >= toDateTime(?)", r.table("risk_events"), in(&args, tenants))
	var out []string
	err := r.eachRow(ctx, query, append(args, since.Unix()), func(rows driver.Rows) error {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		out = append(out, id)
		return nil
	})
	return out, err
}

// AnyEventID returns the id of one of tenant's events.
func (r *Reader) AnyEventID(ctx context.Context, tenant string) (string, error) {
	var id string
	err := r.conn.QueryRow(ctx, fmt.Sprintf("SELECT event_id FROM %s WHERE tenant = ? LIMIT 1", r.table("risk_events")), tenant).Scan(&id)
	return id, err
}

// Stored is what risk_events holds for one tenant, read with FINAL: its
// rows, its distinct event ids (equal unless an event is held twice) and
// each event's category.
type Stored struct {
	Rows, Unique uint64
	Categories   map[string]string // event id → category
}

// StoredEvents reads what risk_events holds for tenant (the ground truth
// checks of the tests compare it with what the simulator served).
func (r *Reader) StoredEvents(ctx context.Context, tenant string) (Stored, error) {
	tbl := r.table("risk_events")
	s := Stored{Categories: map[string]string{}}
	if err := r.conn.QueryRow(ctx, "SELECT count(), uniqExact(event_id) FROM "+tbl+" FINAL WHERE tenant = ?", tenant).Scan(&s.Rows, &s.Unique); err != nil {
		return s, fmt.Errorf("count stored events: %w", err)
	}
	err := r.eachRow(ctx, "SELECT event_id, category FROM "+tbl+" FINAL WHERE tenant = ?", []any{tenant}, func(rows driver.Rows) error {
		var id, cat string
		if err := rows.Scan(&id, &cat); err != nil {
			return err
		}
		s.Categories[id] = cat
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("read stored events: %w", err)
	}
	return s, nil
}
