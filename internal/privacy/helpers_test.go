package privacy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/store"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const hashKey = "test-hash-key-0123456789"

// fixture is a migrated database with a known population.
type fixture struct {
	st   *store.Store
	conn driver.Conn
	db   string
}

func newFixture(t *testing.T) *fixture { return newFixtureTB(t) }

func newFixtureTB(t testing.TB) *fixture {
	t.Helper()
	srv := chtest.Start(t)
	db := chtest.NewDatabase(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, chtest.Config(srv, db), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))
	return &fixture{st: st, conn: st.Conn(), db: db}
}

func (f *fixture) service(t testing.TB, o Options) *Service {
	t.Helper()
	o.Conn, o.Database, o.HashKey = f.conn, f.db, hashKey
	if o.PollInterval == 0 {
		o.PollInterval = 50 * time.Millisecond
	}
	s, err := New(o)
	require.NoError(t, err)
	return s
}

func (f *fixture) insert(t *testing.T, table string, cols []string, rows ...[]any) {
	t.Helper()
	ctx := context.Background()
	b, err := f.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO `%s`.%s (%s)", f.db, table, strings.Join(cols, ", ")))
	require.NoError(t, err)
	for _, r := range rows {
		require.NoError(t, b.Append(r...), table)
	}
	require.NoError(t, b.Send(), table)
}

func (f *fixture) exec(t *testing.T, q string) {
	t.Helper()
	require.NoError(t, f.conn.Exec(context.Background(), strings.ReplaceAll(q, "{db}", "`"+f.db+"`")), q)
}

// person is one Okta user of the fixture.
type person struct {
	email, name string
	ids         map[string]string // tenant → user id
}

var (
	joren = person{email: "Joren.M@example.com", name: "Joren Martens",
		ids: map[string]string{"acme": "00ujoren0000acme0001", "globex": "00ujoren000globex001"}}
	anna = person{email: "anna.k@example.com", name: "Anna Kowalska",
		ids: map[string]string{"acme": "00uanna00000acme0002", "globex": "00uanna00000globex02"}}
	bob = person{email: "bob.admin@example.com", name: "Bob Admin",
		ids: map[string]string{"acme": "00ubob000000acme0003"}}
	carla = person{email: "carla@example.org", name: "Carla Diaz",
		ids: map[string]string{"globex": "00ucarla0000globex03"}}
)

func actorJSON(p person, tenant string) map[string]any {
	return map[string]any{"id": p.ids[tenant], "type": "User", "alternateId": strings.ToLower(p.email), "displayName": p.name}
}

var pub0 = time.Date(2026, 10, 3, 10, 0, 0, 0, time.UTC)

var eventCols = []string{"tenant", "event_id", "published", "published_ms", "event_type", "category", "user_id", "user_login",
	"actor_id", "actor_login", "target_user_id", "target_user_login", "client_ip", "raw", "ingested_at", "version"}

// event is a risk event of tenant with actor a and target tg (tg may be
// the zero person); the attributed user is attributed.
func event(tenant, id string, n int, a, tg, attributed person, extra map[string]any) []any {
	pub := pub0.Add(time.Duration(n) * time.Hour * 24 * 11) // spread over months
	raw := map[string]any{"uuid": id, "published": pub.Format(time.RFC3339), "eventType": "user.session.start",
		"actor": actorJSON(a, tenant), "client": map[string]any{"ipAddress": fmt.Sprintf("203.0.113.%d", n)}}
	tid, tlogin := "", ""
	if tg.email != "" {
		raw["target"] = []any{actorJSON(tg, tenant)}
		tid, tlogin = tg.ids[tenant], strings.ToLower(tg.email)
	}
	for k, v := range extra {
		raw[k] = v
	}
	b, _ := json.Marshal(raw)
	return []any{tenant, id, pub, uint64(pub.UnixMilli()), "user.session.start", "user_risk", attributed.ids[tenant],
		strings.ToLower(attributed.email), a.ids[tenant], strings.ToLower(a.email), tid, tlogin,
		fmt.Sprintf("203.0.113.%d", n), string(b), pub, uint64(1000 + n)}
}

// populate writes the ground truth: joren in acme and globex as actor,
// target, in the raw JSON of others' events and a dead letter; anna, bob
// and carla around him.
func (f *fixture) populate(t *testing.T) {
	t.Helper()
	var none person
	f.insert(t, "risk_events", eventCols,
		event("acme", "e01", 1, joren, none, joren, nil),   // joren's own
		event("globex", "e02", 2, joren, none, joren, nil), // joren's own, other tenant
		event("acme", "e03", 3, bob, joren, joren, nil),    // bob acted on joren, attributed to joren: joren's
		event("acme", "e04", 4, bob, joren, bob, nil),      // bob's event targeting joren: redacted
		event("acme", "e05", 5, anna, none, anna, map[string]any{"debugContext": map[string]any{"note": "shared device with JOREN.M@EXAMPLE.COM"}}), // mention in raw
		event("acme", "e06", 6, anna, none, anna, nil),     // untouched
		event("globex", "e07", 7, carla, none, carla, nil), // untouched
		event("globex", "e08", 8, carla, anna, carla, nil), // untouched
		// Only joren's globex id, no login: found through org_users, or
		// after an interrupted deletion through its hash.
		event("globex", "e09", 9, carla, none, carla, map[string]any{"debugContext": map[string]any{"relatedUser": joren.ids["globex"]}}),
	)
	ouCols := []string{"tenant", "user_id", "user_login", "first_seen", "last_seen", "version"}
	ou := func(p person, tenant string, login string) []any {
		return []any{tenant, p.ids[tenant], login, pub0, pub0.Add(time.Hour), uint64(7)}
	}
	f.insert(t, "org_users", ouCols,
		ou(joren, "acme", "joren.m@example.com"), ou(joren, "globex", "Joren.M@Example.com"),
		ou(anna, "acme", "anna.k@example.com"), ou(anna, "globex", "anna.k@example.com"),
		ou(bob, "acme", "bob.admin@example.com"), ou(carla, "globex", "carla@example.org"))
	afCols := []string{"tenant", "user_id", "user_login", "updated_at", "score", "percentile", "level", "signals", "cause_event_id", "cause_category", "explanation", "version"}
	af := func(p person, tenant, cause string, n int) []any {
		return []any{tenant, p.ids[tenant], strings.ToLower(p.email), pub0.Add(time.Duration(n) * time.Minute), float64(n), 0.5, "medium", uint32(n), cause, "user_risk", "1 signal", uint64(9)}
	}
	f.insert(t, "attack_factor_updates", afCols, af(joren, "acme", "e01", 1), af(joren, "acme", "e03", 2), af(joren, "globex", "e02", 3),
		af(anna, "acme", "e05", 4), af(carla, "globex", "e07", 5))
	f.insert(t, "attack_factor_latest", afCols, af(joren, "acme", "e03", 2), af(joren, "globex", "e02", 3), af(anna, "acme", "e05", 4), af(carla, "globex", "e07", 5))
	dlCols := []string{"tenant", "received_at", "reason", "payload", "fingerprint"}
	f.insert(t, "dead_letters", dlCols,
		[]any{"acme", pub0, "invalid_json", `{"actor":{"alternateId":"joren.m@example.com"`, "fp1"},
		[]any{"acme", pub0, "invalid_json", `{"actor":{"alternateId":"anna.k@example.com"`, "fp2"})
}

// snapshot reads every row of every non-temporary table (FINAL where the
// engine allows it) as JSON, keyed by table.
func (f *fixture) snapshot(t *testing.T) map[string][]string {
	t.Helper()
	ctx := context.Background()
	schema, order, err := readSchema(ctx, f.conn, f.db)
	require.NoError(t, err)
	out := map[string][]string{}
	for _, name := range order {
		if isTemp(name) || name == "privacy_requests" || name == "schema_migrations" {
			continue
		}
		_ = schema
		fin := " FINAL"
		if name == "plain_notes" {
			fin = ""
		}
		recs, err := queryRecords(ctx, f.conn, fmt.Sprintf("SELECT * FROM `%s`.%s%s", f.db, name, fin))
		require.NoError(t, err, name)
		var rows []string
		for i := range recs {
			b, err := json.Marshal(recs[i].asMap())
			require.NoError(t, err)
			rows = append(rows, string(b))
		}
		sort.Strings(rows)
		out[name] = rows
	}
	return out
}

// memForget records what it was told to forget.
type memForget struct {
	mu    sync.Mutex
	users map[string]string // id → login
}

func (m *memForget) Forget(s Matcher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, login := range m.users {
		if s.Matches(id, login) {
			delete(m.users, id)
		}
	}
}
