package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/riskpipe/riskpipe/internal/app"
	"github.com/riskpipe/riskpipe/internal/score"
	"github.com/riskpipe/riskpipe/internal/store"
)

// Queries measures the latency of the dashboard's and the API's queries,
// served by the real riskpipe binary over HTTP, and of the demo summary
// (internal/app/report.go), over Rows kept events spread over Tenants
// tenants. The rows are generated inside ClickHouse (INSERT ... SELECT
// from system.numbers), not through the pipeline.
type Queries struct {
	Rows     int64
	Tenants  int // default 10
	Reps     int // per query, after one warm-up (default 20)
	Optimize bool
}

// QueryLatency is one query's latency over Reps runs.
type QueryLatency struct {
	Name     string
	P50, P99 time.Duration
	Bytes    int // response size (API) or rows (summary), last run
}

// QueriesResult is one query-scale measurement.
type QueriesResult struct {
	Rows, Users, Updates int64
	Generate             time.Duration // INSERT ... SELECT (and OPTIMIZE)
	DiskBytes            int64         // risk_events on disk (compressed)
	Parts                int           // risk_events active parts when measured
	Queries              []QueryLatency
}

// QueryNames are the measured queries, in report order.
var QueryNames = []string{
	"GET /api/v1/orgs", "GET /api/v1/activity (7d, hourly)", "GET /api/v1/users (dashboard page)",
	"GET /api/v1/orgs/{org}/users/{user}", "GET /api/v1/orgs/{org}/events (24h)", "GET /api/v1/orgs/{org}/events/{id}",
	"GET /api/v1/factor-updates", "app.Summary (report.go)",
	"GET /api/v1/users/search (login prefix)", "GET /api/v1/users/search (name substring)",
	"GET /api/v1/users (category, changed, 7d)", "GET /api/v1/orgs/{org}/health (7d, hourly)",
	"GET /api/v1/orgs/{org}/attacks (7d)",
}

func queryTenant(i int) string { return fmt.Sprintf("q-%d", i) }

// RunQueries runs one query-scale measurement.
func (h *Harness) RunQueries(ctx context.Context, q Queries) (res QueriesResult, err error) {
	if q.Tenants <= 0 {
		q.Tenants = 10
	}
	if q.Reps <= 0 {
		q.Reps = 20
	}
	var tenants []string
	for i := range q.Tenants {
		tenants = append(tenants, queryTenant(i))
	}
	// One idle polled org (riskpipe needs one); the data belongs to
	// configured but disabled tenants, which the API serves.
	r, err := h.Start(ctx, Setup{Orgs: 1, Interval: 15 * time.Second, HTTP: true, DisabledTenants: tenants})
	if err != nil {
		return res, err
	}
	defer func() {
		if _, serr := r.Stop(); err == nil && serr != nil {
			err = serr
		}
	}()

	res.Rows = q.Rows
	res.Users = min(max(q.Rows/20, 100), 500_000)
	res.Updates = 3 * res.Users
	start := time.Now()
	if err := r.generate(ctx, q.Tenants, q.Rows, res.Users, q.Optimize); err != nil {
		return res, err
	}
	res.Generate = time.Since(start)
	var disk, parts uint64
	if err := h.conn.QueryRow(ctx, "SELECT sum(bytes), count() FROM system.parts WHERE active AND database = ? AND table = 'risk_events'",
		r.db).Scan(&disk, &parts); err != nil {
		return res, fmt.Errorf("risk_events size: %w", err)
	}
	res.DiskBytes, res.Parts = int64(disk), int(parts)

	org := queryTenant(1)
	eventID, err := r.reader().AnyEventID(ctx, org)
	if err != nil {
		return res, fmt.Errorf("pick an event: %w", err)
	}
	user := "00u1"
	week := url.QueryEscape(time.Now().Add(-7 * 24 * time.Hour).UTC().Format(time.RFC3339))
	client := &http.Client{Timeout: 2 * time.Minute}
	// Each query is a path of the riskpipe binary's API, or else run: it
	// returns its answer's size.
	queries := []struct {
		name, path string
		run        func() (int, error)
	}{
		{name: QueryNames[0], path: "/api/v1/orgs"},
		{name: QueryNames[1], path: "/api/v1/activity?step=hour"},
		{name: QueryNames[2], path: "/api/v1/users?limit=25&offset=0&history=30&sort=score&order=desc"},
		{name: QueryNames[3], path: "/api/v1/orgs/" + org + "/users/" + user},
		{name: QueryNames[4], path: "/api/v1/orgs/" + org + "/events?limit=100"},
		{name: QueryNames[5], path: "/api/v1/orgs/" + org + "/events/" + url.PathEscape(eventID)},
		{name: QueryNames[6], path: "/api/v1/factor-updates?limit=500"},
		{name: QueryNames[7], run: func() (int, error) {
			s, err := app.Summary(ctx, h.conn, r.db, score.DefaultConfig(), 5)
			return len(s), err
		}},
		// The dashboard's endpoints of issue 12.
		{name: QueryNames[8], path: "/api/v1/users/search?q=user12"},
		{name: QueryNames[9], path: "/api/v1/users/search?q=nobody+by+that+name"},
		{name: QueryNames[10], path: "/api/v1/users?limit=25&history=30&category=threat_insight&changed=true&from=" + week},
		{name: QueryNames[11], path: "/api/v1/orgs/" + org + "/health?step=hour"},
		{name: QueryNames[12], path: "/api/v1/orgs/" + org + "/attacks"},
	}
	for _, qu := range queries {
		run := qu.run
		if run == nil {
			run = func() (int, error) { return r.apiGet(ctx, client, qu.path) }
		}
		var size int
		lat, err := measure(ctx, q.Reps, func() error {
			var err error
			size, err = run()
			return err
		})
		if err != nil {
			return res, fmt.Errorf("%s: %w", qu.name, err)
		}
		lat.Name, lat.Bytes = qu.name, size
		res.Queries = append(res.Queries, lat)
	}
	return res, nil
}

// measure runs f once to warm up, then reps times, and returns the
// latency quantiles (nearest rank: with 20 runs p99 is the slowest).
func measure(ctx context.Context, reps int, f func() error) (QueryLatency, error) {
	if err := f(); err != nil {
		return QueryLatency{}, err
	}
	d := make([]time.Duration, 0, reps)
	for range reps {
		if ctx.Err() != nil {
			return QueryLatency{}, ctx.Err()
		}
		t := time.Now()
		if err := f(); err != nil {
			return QueryLatency{}, err
		}
		d = append(d, time.Since(t))
	}
	slices.Sort(d)
	return QueryLatency{P50: quantile(d, 0.5), P99: quantile(d, 0.99)}, nil
}

func (r *Run) apiGet(ctx context.Context, c *http.Client, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.apiURL+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+r.apiToken)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s: %.300s", path, resp.Status, b)
	}
	return len(b), nil
}

// generate fills risk_events, attack_factor_latest and
// attack_factor_updates of tenants q-0..q-<tenants-1>: rows kept events
// published over the last 30 days, each of one of users users (user ids
// 00u<k>, as many per tenant), and three factor updates per user.
func (r *Run) generate(ctx context.Context, tenants int, rows, users int64, optimize bool) error {
	perTenant := max(users/int64(tenants), 1)
	now := time.Now().Unix()
	// A realistic raw event is about 2.5 KB of JSON; most of it repeats,
	// as in real System Log events.
	pad := strings.Repeat(`"debugContext":{"debugData":{"requestUri":"/idp/idx/identify","threatSuspected":"false","url":"/idp/idx/identify?"}},`, 12)
	riskEvents := fmt.Sprintf(`INSERT INTO %[1]s.risk_events (%[2]s)
SELECT
    concat('q-', toString(number %% %[3]d)) AS tenant,
    concat(lower(hex(intHash64(number))), '-', toString(number)) AS event_id,
    toDateTime(%[4]d - (intHash32(number) %% 2592000)) AS published,
    toUInt64(published) * 1000 + number %% 1000 AS published_ms,
    arrayElement(['user.risk.detect', 'policy.entity_risk.evaluate', 'security.threat.detected',
        'security.breached_credential.detected', 'user.session.start'], number %% 5 + 1) AS event_type,
    '' AS legacy_event_type,
    arrayElement(['user_risk', 'entity_risk', 'threat_insight', 'leaked_credentials', 'high_risk'], number %% 5 + 1) AS category,
    'WARN' AS severity,
    'User risk detected' AS display_message,
    arrayElement(['LOW', 'MEDIUM', 'HIGH'], number %% 3 + 1) AS risk_level,
    'Anomalous Location' AS risk_reasons,
    'Anomalous Location' AS risk_detection,
    'LOW' AS previous_risk_level,
    concat('00u', toString(intHash32(number + 7919) %% %[5]d)) AS user_id,
    concat('user', toString(intHash32(number + 7919) %% %[5]d), '@q.example.com') AS user_login,
    user_id AS actor_id,
    'User' AS actor_type,
    user_login AS actor_login,
    '' AS target_user_id,
    '' AS target_user_login,
    concat('10.', toString(number %% 256), '.', toString(intDiv(number, 256) %% 256), '.7') AS client_ip,
    'United States' AS country,
    'SUCCESS' AS outcome,
    '' AS outcome_reason,
    toUInt8(number %% 5 = 2) AS threat_suspected,
    if(number %% 5 = 2, ['Password Spray'], emptyArrayString()) AS threat_detection_names,
    if(number %% 5 = 2, ['HIGH'], emptyArrayString()) AS threat_detection_levels,
    lower(hex(intHash64(number + 1))) AS transaction_id,
    lower(hex(intHash64(number + 2))) AS session_id,
    '' AS published_note,
    toUInt8(0) AS id_derived,
    concat('{"uuid":"', event_id, '","published":"', toString(published), '","eventType":"', event_type,
        '","actor":{"id":"', user_id, '","alternateId":"', user_login, '"},', '%[6]s', '"end":true}') AS raw,
    published + 2 AS ingested_at,
    number AS version
FROM (SELECT number + {from} AS number FROM system.numbers LIMIT {count})`,
		r.db, strings.Join(riskEventColumns, ", "), tenants, now, perTenant, pad)

	factorSelect := func(table string, n int64, updated string) string {
		return fmt.Sprintf(`INSERT INTO %[1]s.%[2]s (%[7]s)
SELECT
    concat('q-', toString(number %% %[3]d)) AS tenant,
    concat('00u', toString(intDiv(number, %[3]d) %% %[4]d)) AS user_id,
    concat('user', toString(intDiv(number, %[3]d) %% %[4]d), '@q.example.com') AS user_login,
    toDateTime(%[5]s) AS updated_at,
    toFloat64(intHash32(number) %% 1000) / 10 AS score,
    toFloat64(intHash32(number + 7) %% 1000) / 10 AS percentile,
    arrayElement(['none', 'low', 'medium', 'high'], number %% 4 + 1) AS level,
    toUInt32(number %% 40) AS signals,
    concat(lower(hex(intHash64(number))), '-', toString(number)) AS cause_event_id,
    'user_risk' AS cause_category,
    'user_risk HIGH (40) + threat_insight (25), decayed' AS explanation,
    number AS version
FROM system.numbers LIMIT %[6]d`, r.db, table, tenants, perTenant, updated, n, strings.Join(store.Columns(table), ", "))
	}
	// Chunks of a million rows, in small blocks: one INSERT ... SELECT of
	// wide rows would squash a million of them into one block, beyond
	// the server's per-query memory limit.
	const chunk = 1_000_000
	var stmts []string
	for from := int64(0); from < rows; from += chunk {
		stmts = append(stmts, strings.NewReplacer("{from}", fmt.Sprint(from), "{count}", fmt.Sprint(min(chunk, rows-from))).Replace(riskEvents))
	}
	stmts = append(stmts,
		factorSelect("attack_factor_latest", perTenant*int64(tenants), fmt.Sprintf("%d - number %% 86400", now)),
		factorSelect("attack_factor_updates", 3*perTenant*int64(tenants), fmt.Sprintf("%d - intDiv(number, %d) * 86400", now, perTenant*int64(tenants))),
	)
	if optimize {
		for _, t := range []string{"risk_events", "attack_factor_latest", "attack_factor_updates"} {
			stmts = append(stmts, fmt.Sprintf("OPTIMIZE TABLE %s.%s FINAL", r.db, t))
		}
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_block_size":              8192,
		"min_insert_block_size_rows":  65536,
		"min_insert_block_size_bytes": 64 << 20,
	}))
	for _, s := range stmts {
		if err := r.h.conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("generate rows: %w\n%.200s", err, s)
		}
	}
	return nil
}

// riskEventColumns are risk_events' columns as the store inserts them
// (store.Columns): generate selects them in this order.
var riskEventColumns = store.Columns("risk_events")
