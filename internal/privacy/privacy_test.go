package privacy

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func ids(recs []map[string]any, col string) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r[col].(string))
	}
	sort.Strings(out)
	return out
}

func TestAccessGroundTruth(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.populate(t)
	s := f.service(t, Options{})
	ctx := context.Background()

	res, err := s.Access(ctx, "  JOREN.m@Example.COM ", "test")
	require.NoError(t, err)
	require.Equal(t, "joren.m@example.com", res.Email)
	require.Equal(t, []string{"acme", "globex"}, res.Tenants)
	require.Equal(t, map[string]int{"risk_events": 6, "org_users": 2, "attack_factor_updates": 3, "attack_factor_latest": 2, "dead_letters": 1,
		"risk_event_subjects": 10}, res.Counts)
	require.Equal(t, []string{"e01", "e02", "e03", "e04", "e05", "e09"}, ids(res.Records["risk_events"], "event_id"))
	require.Equal(t, []string{joren.ids["acme"], joren.ids["globex"]}, ids(res.Records["org_users"], "user_id"))
	require.Equal(t, []string{"fp1"}, ids(res.Records["dead_letters"], "fingerprint"))
	// The index (schema/007) lists joren's identifiers of exactly those
	// events: the email (from the login columns and, for e05, raw in
	// capitals) and his ids (e09: only in raw).
	var subjects []string
	for _, r := range res.Records["risk_event_subjects"] {
		subjects = append(subjects, r["event_id"].(string)+" "+r["identifier"].(string))
	}
	sort.Strings(subjects)
	jl, ja, jg := "joren.m@example.com", strings.ToLower(joren.ids["acme"]), strings.ToLower(joren.ids["globex"])
	require.Equal(t, []string{"e01 " + ja, "e01 " + jl, "e02 " + jg, "e02 " + jl, "e03 " + ja, "e03 " + jl, "e04 " + ja, "e04 " + jl,
		"e05 " + jl, "e09 " + jg}, subjects)

	// Another person: only theirs.
	res, err = s.Access(ctx, carla.email, "test")
	require.NoError(t, err)
	require.Equal(t, []string{"e07", "e08", "e09"}, ids(res.Records["risk_events"], "event_id"))

	// Unknown: empty, not an error.
	res, err = s.Access(ctx, "nobody@example.net", "test")
	require.NoError(t, err)
	require.Empty(t, res.Records)
	require.Empty(t, res.Tenants)

	_, err = s.Access(ctx, "not an email", "test")
	require.ErrorIs(t, err, ErrInvalidEmail)

	// The audit holds the hash, never the email; no temporary table is left.
	var n uint64
	require.NoError(t, f.conn.QueryRow(ctx, "SELECT count() FROM `"+f.db+"`.privacy_requests WHERE status = 'done' AND kind = 'access' AND email_hash = ?",
		s.Hasher().Email("joren.m@example.com")).Scan(&n))
	require.Equal(t, uint64(1), n)
	require.NoError(t, f.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND startsWith(name, 'privacy_tmp_')", f.db).Scan(&n))
	require.Zero(t, n)
}

// needlesOf are the strings that must not remain for p.
func needlesOf(p person) []string {
	out := []string{strings.ToLower(p.email)}
	for _, id := range p.ids {
		out = append(out, strings.ToLower(id))
	}
	return out
}

func mentions(s string, p person) bool {
	l := strings.ToLower(s)
	for _, n := range needlesOf(p) {
		if strings.Contains(l, n) {
			return true
		}
	}
	return strings.Contains(s, p.name)
}

func TestDeletionGroundTruth(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.populate(t)
	mem := &memForget{users: map[string]string{joren.ids["acme"]: "joren.m@example.com", anna.ids["acme"]: anna.email, "00uother": "Joren.M@example.com"}}
	s := f.service(t, Options{Forgetter: mem})
	ctx := context.Background()
	before := f.snapshot(t)

	res, err := s.Delete(ctx, "joren.m@EXAMPLE.com", "test")
	require.NoError(t, err)
	require.True(t, res.Done(), "%+v", res)
	require.Equal(t, map[string]int{"risk_events": 3, "org_users": 2, "attack_factor_updates": 3, "attack_factor_latest": 2,
		"risk_event_subjects": 10}, res.Deleted)
	require.Equal(t, map[string]int{"risk_events": 3, "dead_letters": 1}, res.Redacted)
	require.Zero(t, res.Remaining)
	require.Equal(t, map[string]string{anna.ids["acme"]: anna.email}, mem.users, "in-memory state forgot joren by id and by login")

	after := f.snapshot(t)
	for table, rows := range before {
		var kept []string // the rows that do not mention joren
		for _, r := range rows {
			if !mentions(r, joren) {
				kept = append(kept, r)
			}
		}
		// Everyone else's rows are byte-for-byte intact.
		for _, r := range kept {
			require.Contains(t, after[table], r, table)
		}
		// Nothing in the table mentions joren any more.
		for _, r := range after[table] {
			require.False(t, mentions(r, joren), "%s: %s", table, r)
		}
		require.LessOrEqual(t, len(after[table]), len(rows), table)
	}
	// Redacted rows: only the fields that named joren changed (and version).
	assertRedacted(t, before["risk_events"], after["risk_events"], "event_id", "e04", "e05", "e09")
	assertRedacted(t, before["dead_letters"], after["dead_letters"], "fingerprint", "fp1")

	// Access now finds nothing; the request is recorded done; a rerun is
	// done too and deletes nothing.
	acc, err := s.Access(ctx, joren.email, "test")
	require.NoError(t, err)
	require.Empty(t, acc.Records)
	st, err := s.Request(ctx, res.RequestID)
	require.NoError(t, err)
	require.Equal(t, StatusDone, st.Status)
	require.Equal(t, res.Deleted, st.Deleted)
	res2, err := s.Delete(ctx, joren.email, "test")
	require.NoError(t, err)
	require.True(t, res2.Done())
	require.Empty(t, res2.Deleted)

	// ClickHouse's bookkeeping holds no identifier: mutations name only
	// the request's key tables; no inactive part is left.
	f.assertNoBookkeeping(t, joren)
}

func (f *fixture) assertNoBookkeeping(t *testing.T, p person) {
	t.Helper()
	ctx := context.Background()
	rows, err := f.conn.Query(ctx, "SELECT command FROM system.mutations WHERE database = ?", f.db)
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		var cmd string
		require.NoError(t, rows.Scan(&cmd))
		require.False(t, mentions(cmd, p), cmd)
		require.Contains(t, cmd, "privacy_tmp_")
		n++
	}
	rows.Close()
	require.NotZero(t, n)
	var inactive uint64
	require.NoError(t, f.conn.QueryRow(ctx, "SELECT count() FROM system.parts WHERE database = ? AND active = 0 AND table IN ('risk_events', 'org_users', 'attack_factor_updates', 'attack_factor_latest', 'dead_letters')", f.db).Scan(&inactive))
	require.Zero(t, inactive)
}

func assertRedacted(t *testing.T, before, after []string, key string, keys ...string) {
	t.Helper()
	find := func(rows []string, k string) map[string]any {
		for _, r := range rows {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(r), &m))
			if m[key] == k {
				return m
			}
		}
		return nil
	}
	for _, k := range keys {
		b, a := find(before, k), find(after, k)
		require.NotNil(t, b, k)
		require.NotNil(t, a, "%s: the redacted row is kept", k)
		for col, bv := range b {
			bs, _ := json.Marshal(bv)
			as, _ := json.Marshal(a[col])
			switch {
			case col == "version":
				require.Greater(t, a[col].(float64), bv.(float64))
			case mentions(string(bs), joren):
				require.Contains(t, string(as), Marker, "%s.%s", k, col)
				require.False(t, mentions(string(as), joren), "%s.%s", k, col)
			default:
				require.Equal(t, string(bs), string(as), "%s.%s unchanged", k, col)
			}
		}
	}
}

func TestUndeclaredTableBlocksDone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.populate(t)
	f.exec(t, "CREATE TABLE {db}.plain_notes (id UInt32, note Nullable(String), tags Array(String)) ENGINE = MergeTree ORDER BY id")
	f.insert(t, "plain_notes", []string{"id", "note", "tags"}, []any{uint32(1), (*string)(nil), []string{"x", "JOREN.M@example.com"}}, []any{uint32(2), (*string)(nil), []string{"y"}})
	s := f.service(t, Options{})
	ctx := context.Background()

	acc, err := s.Access(ctx, joren.email, "test")
	require.NoError(t, err)
	require.Equal(t, 1, acc.Counts["plain_notes"], "access shows an undeclared table's rows too")

	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res, err := s.Delete(ctx, joren.email, "test")
	require.NoError(t, err)
	require.False(t, res.Done())
	require.Equal(t, StatusIncomplete, res.Status)
	require.Equal(t, uint64(1), res.Remaining)
	require.Contains(t, res.Detail, "plain_notes")
	require.NotContains(t, res.Detail, "joren")
	st, err := s.Request(ctx, res.RequestID)
	require.NoError(t, err)
	require.Equal(t, StatusIncomplete, st.Status)
}

// A table added later (as issue 13's notifications) is a few lines in the
// registry: its rows for the person are deleted, others' rows mentioning
// them redacted, like the core tables.
func TestRegisteredNewTable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.populate(t)
	f.exec(t, `CREATE TABLE {db}.later_messages (tenant String, notification_id String, recipient String, user_id String,
		payload String, created_at DateTime, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY (tenant, notification_id)`)
	cols := []string{"tenant", "notification_id", "recipient", "user_id", "payload", "created_at", "version"}
	f.insert(t, "later_messages", cols,
		[]any{"acme", "n1", "Joren.M@example.com", joren.ids["acme"], `{"text":"you were attacked"}`, pub0, uint64(1)},
		[]any{"acme", "n2", "soc@example.com", anna.ids["acme"], `{"text":"anna and joren.m@example.com attacked"}`, pub0, uint64(1)},
		[]any{"acme", "n3", "soc@example.com", anna.ids["acme"], `{"text":"anna attacked"}`, pub0, uint64(1)})
	reg := NewRegistry(append(CoreTables(), Table{Name: "later_messages", Key: []string{"tenant", "notification_id"},
		LoginColumns: []string{"recipient"}, IDColumns: []string{"user_id"}, Version: "version", Final: true})...)
	s := f.service(t, Options{Registry: reg})
	ctx := context.Background()

	acc, err := s.Access(ctx, joren.email, "test")
	require.NoError(t, err)
	require.Equal(t, []string{"n1", "n2"}, ids(acc.Records["later_messages"], "notification_id"))

	res, err := s.Delete(ctx, joren.email, "test")
	require.NoError(t, err)
	require.True(t, res.Done(), "%+v", res)
	require.Equal(t, 1, res.Deleted["later_messages"])
	require.Equal(t, 1, res.Redacted["later_messages"])
	var payload string
	require.NoError(t, f.conn.QueryRow(ctx, "SELECT payload FROM `"+f.db+"`.later_messages FINAL WHERE notification_id = 'n2'").Scan(&payload))
	require.Equal(t, `{"text":"anna and [redacted] attacked"}`, payload)
	var n uint64
	require.NoError(t, f.conn.QueryRow(ctx, "SELECT count() FROM `"+f.db+"`.later_messages").Scan(&n))
	require.Equal(t, uint64(2), n, "n1 deleted; n2 redacted and merged into one row; n3 intact")
}

// TestDeletionIndexIncomplete: rows the index (risk_event_subjects) does
// not list are still found: the proof scans every row, and the next round
// searches without the index.
func TestDeletionIndexIncomplete(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.populate(t)
	ctx := context.Background()
	f.exec(t, "ALTER TABLE {db}.risk_event_subjects DELETE WHERE event_id IN ('e04', 'e05', 'e09')")
	require.Eventually(t, func() bool {
		var n uint64
		require.NoError(t, f.conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0", f.db).Scan(&n))
		return n == 0
	}, time.Minute, 50*time.Millisecond)
	s := f.service(t, Options{})
	res, err := s.Delete(ctx, joren.email, "test")
	require.NoError(t, err)
	require.True(t, res.Done(), "%+v", res)
	require.Equal(t, 3, res.Redacted["risk_events"], "e04, e05, e09 found by the full search of the second round")
	after := f.snapshot(t)
	for table, rows := range after {
		for _, r := range rows {
			require.False(t, mentions(r, joren), "%s: %s", table, r)
		}
	}
}

// TestIndexBackfill: migration 007 lists the events stored before it (its
// backfill), as the view lists those inserted after.
func TestIndexBackfill(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.populate(t)
	ctx := context.Background()
	listing := func() []string {
		rows, err := f.conn.Query(ctx, "SELECT concat(identifier, ' ', tenant, ' ', event_id) FROM `"+f.db+"`.risk_event_subjects FINAL ORDER BY identifier, tenant, event_id")
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out = append(out, s)
		}
		require.NoError(t, rows.Err())
		return out
	}
	byView := listing()
	require.NotEmpty(t, byView)
	// As before migration 007: no index, no record of it.
	f.exec(t, "DROP TABLE {db}.risk_event_subjects_mv")
	f.exec(t, "DROP TABLE {db}.risk_event_subjects")
	f.exec(t, "ALTER TABLE {db}.schema_migrations DELETE WHERE version = 7")
	require.Eventually(t, func() bool {
		var n uint64
		require.NoError(t, f.conn.QueryRow(ctx, "SELECT count() FROM `"+f.db+"`.schema_migrations WHERE version = 7").Scan(&n))
		return n == 0
	}, time.Minute, 50*time.Millisecond)
	require.NoError(t, f.st.Migrate(ctx))
	require.Equal(t, byView, listing(), "the backfill lists what the view listed")

	s := f.service(t, Options{})
	res, err := s.Access(ctx, joren.email, "test")
	require.NoError(t, err)
	require.Equal(t, []string{"e01", "e02", "e03", "e04", "e05", "e09"}, ids(res.Records["risk_events"], "event_id"))
}

// An address the index cannot hold whole (an apostrophe: the index keeps
// "brien@example.com") is searched in every row: access finds an event of
// someone else that names it in raw, and a deletion redacts it.
func TestEmailOutsideIndex(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const email = "o'brien@example.com"
	cols := []string{"tenant", "event_id", "published", "user_id", "user_login", "raw", "version"}
	at := time.Date(2026, 10, 14, 10, 0, 0, 0, time.UTC)
	f.insert(t, "risk_events", cols,
		[]any{"acme", "evt-obrien", at, "00uadmin", "admin@example.com", `{"target":[{"alternateId":"` + email + `"}]}`, uint64(1)},
		[]any{"acme", "evt-other", at, "00uadmin", "admin@example.com", `{"target":[{"alternateId":"brien@example.com"}]}`, uint64(1)})
	s := f.service(t, Options{})
	ctx := context.Background()
	acc, err := s.Access(ctx, email, "test")
	require.NoError(t, err)
	require.Len(t, acc.Records["risk_events"], 1)
	require.Equal(t, "evt-obrien", acc.Records["risk_events"][0]["event_id"])

	res, err := s.Delete(ctx, email, "test")
	require.NoError(t, err)
	require.True(t, res.Done(), "%+v", res)
	require.Equal(t, 1, res.Redacted["risk_events"])
	acc, err = s.Access(ctx, email, "test")
	require.NoError(t, err)
	require.Empty(t, acc.Records["risk_events"])
}
