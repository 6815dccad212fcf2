package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// A table is what one flush inserts into one ClickHouse table: its columns
// and how the flush's batches become rows. Adding a table (issue 4: attack
// factors) is a field in Batch, a rows function and an entry in rowTables.
type table struct {
	name    string
	columns []string
	rows    func(f *flush, add func(values ...any) error) error
}

func (t table) insertSQL(db string) string {
	return "INSERT INTO " + db + "." + t.name + " (" + strings.Join(t.columns, ", ") + ")"
}

// rowTables are inserted in this order, then stateTable. event_type_counts
// comes last of them: it is the one table where a retried flush is not
// idempotent (SummingMergeTree adds the counts again), so as little as
// possible can fail after it.
var rowTables = append(append([]table{
	{name: "risk_events", columns: riskEventColumns, rows: riskEventRows},
	{name: "dead_letters", columns: deadLetterColumns, rows: deadLetterRows},
}, scoreTables...),
	table{name: "event_type_counts", columns: typeCountColumns, rows: typeCountRows},
)

// Columns returns the columns riskpipe inserts into table (its schema's
// columns, in insert order), nil for a table the writer does not fill: the
// one list of each table's columns, for the generators and fixtures that
// write the same tables (bench, tests).
func Columns(table string) []string {
	for _, t := range append(rowTables, stateTable) {
		if t.name == table {
			return append([]string(nil), t.columns...)
		}
	}
	return nil
}

// stateTable is inserted only after every row table was acknowledged.
var stateTable = table{name: "poll_state", columns: pollStateColumns, rows: pollStateRows}

// flush is one coalesced write of several callers' batches.
type flush struct {
	batches []Batch   // the requests' batches, in queue order
	now     time.Time // ingested_at, updated_at, received_at defaults
	// base is the first version of this flush; batch i gets base+i, so a
	// later batch wins over an earlier one for the same key.
	base uint64
}

func (f *flush) version(i int) uint64 { return f.base + uint64(i) }

var riskEventColumns = []string{
	"tenant", "event_id", "published", "published_ms", "event_type", "legacy_event_type",
	"category", "severity", "display_message", "risk_level", "risk_reasons", "risk_detection",
	"previous_risk_level", "user_id", "user_login", "actor_id", "actor_type", "actor_login",
	"target_user_id", "target_user_login", "client_ip", "country", "outcome", "outcome_reason",
	"threat_suspected", "threat_detection_names", "threat_detection_levels", "transaction_id",
	"session_id", "published_note", "id_derived", "raw", "ingested_at", "version",
}

func riskEventRows(f *flush, add func(...any) error) error {
	for i, b := range f.batches {
		v := f.version(i)
		for _, e := range b.Events {
			names, levels := detections(e.ThreatDetections)
			if err := add(
				b.Tenant, e.ID, dateTime(e.Published), unixMilli(e.Published), e.EventType, e.LegacyEventType,
				string(e.Category), e.Severity, e.DisplayMessage, e.RiskLevel, e.RiskReasons, e.RiskDetection,
				e.PreviousLevel, e.UserID, e.UserLogin, e.ActorID, e.ActorType, e.ActorLogin,
				e.TargetUserID, e.TargetUserLogin, e.ClientIP, e.Country, e.Outcome, e.OutcomeReason,
				boolUInt8(e.ThreatSuspected), names, levels, e.TransactionID,
				e.SessionID, e.PublishedNote, boolUInt8(e.IDDerived), e.Raw, f.now, v, // Raw appended without a copy
			); err != nil {
				return fmt.Errorf("event %s of %s: %w", e.ID, b.Tenant, err)
			}
		}
	}
	return nil
}

var deadLetterColumns = []string{"tenant", "received_at", "reason", "payload", "fingerprint"}

func deadLetterRows(f *flush, add func(...any) error) error {
	for _, b := range f.batches {
		for _, d := range b.DeadLetters {
			at := d.ReceivedAt
			if at.IsZero() {
				at = f.now
			}
			if err := add(b.Tenant, dateTime(at), d.Reason, d.Payload, Fingerprint(d.Payload)); err != nil {
				return fmt.Errorf("dead letter of %s: %w", b.Tenant, err)
			}
		}
	}
	return nil
}

// Fingerprint is the dead_letters key of a payload: hex sha256.
func Fingerprint(payload []byte) string {
	sum := sha256.Sum256(payload)
	return hex.EncodeToString(sum[:])
}

var typeCountColumns = []string{"tenant", "day", "event_type", "kept", "reason", "events"}

// typeCountRows adds up the flush's counts per key first: fewer rows, and
// SummingMergeTree would add them up anyway.
func typeCountRows(f *flush, add func(...any) error) error {
	type key struct {
		tenant, eventType, reason string
		day                       int64
		kept                      bool
	}
	sums := map[key]uint64{}
	var keys []key
	for _, b := range f.batches {
		for _, c := range b.Counts {
			d := c.Day.UTC()
			k := key{
				tenant: b.Tenant, eventType: c.EventType, reason: c.Reason, kept: c.Kept,
				day: time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).Unix(),
			}
			if _, ok := sums[k]; !ok {
				keys = append(keys, k)
			}
			sums[k] += c.Events
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.tenant != b.tenant {
			return a.tenant < b.tenant
		}
		if a.day != b.day {
			return a.day < b.day
		}
		if a.eventType != b.eventType {
			return a.eventType < b.eventType
		}
		if a.kept != b.kept {
			return !a.kept
		}
		return a.reason < b.reason
	})
	for _, k := range keys {
		if err := add(k.tenant, time.Unix(k.day, 0).UTC(), k.eventType, boolUInt8(k.kept), k.reason, sums[k]); err != nil {
			return fmt.Errorf("event type count of %s: %w", k.tenant, err)
		}
	}
	return nil
}

var pollStateColumns = []string{"tenant", "integrated_at", "integrated_at_ms", "cursor", "updated_at", "version"}

func pollStateRows(f *flush, add func(...any) error) error {
	for i, b := range f.batches {
		st := b.State
		if st == nil {
			continue
		}
		updated := st.UpdatedAt
		if updated.IsZero() {
			updated = f.now
		}
		if err := add(b.Tenant, dateTime(st.IntegratedAt), unixMilli(st.IntegratedAt), st.Cursor,
			dateTime(updated), f.version(i)); err != nil {
			return fmt.Errorf("poll state of %s: %w", b.Tenant, err)
		}
	}
	return nil
}

// dateTime clamps t to what a DateTime column holds (1970 to 2106, in
// seconds); the zero time becomes 1970-01-01.
func dateTime(t time.Time) time.Time {
	switch u := t.Unix(); {
	case u < 0:
		return time.Unix(0, 0).UTC()
	case u > math.MaxUint32:
		return time.Unix(math.MaxUint32, 0).UTC()
	}
	return t
}

func unixMilli(t time.Time) uint64 {
	if ms := t.UnixMilli(); ms > 0 {
		return uint64(ms)
	}
	return 0
}

func boolUInt8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// detections splits threat detections into parallel arrays, by name.
func detections(m map[string]string) (names, levels []string) {
	names = make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	levels = make([]string, len(names))
	for i, n := range names {
		levels[i] = m[n]
	}
	return names, levels
}
