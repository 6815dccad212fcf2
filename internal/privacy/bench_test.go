package privacy

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkPrivacy times an access and a deletion of one person in a store
// of RISKPIPE_PRIVACY_BENCH_EVENTS risk events (default 1,000,000; the
// issue's figure is 10,000,000) across 10 orgs of 5,000 users each, ~800-byte
// raw JSON, over 12 monthly partitions, generated inside ClickHouse:
//
//	RISKPIPE_PRIVACY_BENCH_EVENTS=10000000 go test -run '^$' -bench BenchmarkPrivacy -benchtime 1x ./internal/privacy/
//
// The person (user7@org3.example.com) has N/50,000 events of their own and
// is the target of as many of others' events. Each deletion iteration
// writes the person's rows back first (not timed). Both report the time of
// each step of the request (*_ms metrics).
func BenchmarkPrivacy(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("RISKPIPE_PRIVACY_BENCH_EVENTS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err)
	}
	f := newFixtureTB(b)
	ctx := context.Background()
	start := time.Now()
	f.generate(b, n)
	b.Logf("generated %d events in %s", n, time.Since(start).Round(time.Millisecond))
	s, err := New(Options{Conn: f.conn, Database: f.db, HashKey: hashKey, PollInterval: 50 * time.Millisecond})
	require.NoError(b, err)
	const email = "user7@org3.example.com"

	b.Run("access", func(b *testing.B) {
		// The time of each step of the last access, in ms: resolving the
		// ids, then reading each table.
		st := newStepTimer(s)
		for b.Loop() {
			st.reset()
			res, err := s.Access(ctx, email, "bench")
			require.NoError(b, err)
			require.NotZero(b, res.Counts["risk_events"])
		}
		st.report(b)
	})
	b.Run("deletion", func(b *testing.B) {
		// The time of each step (since the previous one) of the last
		// deletion, in ms: search, first-phase mutations, last-phase
		// mutations (risk_events and its index), the wait for old parts
		// to be removed, and the proof scan.
		st := newStepTimer(s)
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			if i > 0 {
				f.person(b, n, i)
			}
			st.reset()
			b.StartTimer()
			res, err := s.Delete(ctx, email, "bench")
			require.NoError(b, err)
			require.True(b, res.Done(), "%+v", res)
			b.ReportMetric(float64(res.Deleted["risk_events"]), "deleted_events")
			b.ReportMetric(float64(res.Redacted["risk_events"]), "redacted_events")
		}
		st.report(b)
	})
}

// stepTimer adds up the time before each step the service reports (its
// test hook), since the previous step or reset.
type stepTimer struct {
	last  time.Time
	steps map[string]time.Duration
}

func newStepTimer(s *Service) *stepTimer {
	st := &stepTimer{steps: map[string]time.Duration{}}
	s.hook = func(step string) {
		now := time.Now()
		st.steps[step] += now.Sub(st.last)
		st.last = now
	}
	return st
}

func (st *stepTimer) reset() {
	clear(st.steps)
	st.last = time.Now()
}

// report writes the steps of at least 10 ms as metrics (step_ms).
func (st *stepTimer) report(b *testing.B) {
	for step, d := range st.steps {
		if d >= 10*time.Millisecond {
			b.ReportMetric(float64(d.Milliseconds()), step+"_ms")
		}
	}
}

const benchSelect = `SELECT concat('org', toString(number %% 10)) AS tenant,
	concat('ev', toString(number)) AS event_id,
	toDateTime(1767225600 + intDiv(number * 31104000, %[1]d)) AS published,
	toUInt64(published) * 1000 AS published_ms,
	'user.session.start' AS event_type, 'high_risk' AS category,
	concat('00u', leftPad0(toString(intDiv(number, 10) %% 5000)), 'o', toString(number %% 10)) AS user_id,
	concat('user', toString(intDiv(number, 10) %% 5000), '@org', toString(number %% 10), '.example.com') AS user_login,
	if(number %% 50000 = 37, concat('00u', leftPad0('7'), 'o3'), '') AS target_user_id,
	if(number %% 50000 = 37, 'user7@org3.example.com', '') AS target_user_login,
	concat('203.0.113.', toString(number %% 250)) AS client_ip,
	concat('{"uuid":"ev', toString(number), '","published":"', toString(published), '","eventType":"user.session.start","severity":"INFO",',
		'"actor":{"id":"', user_id, '","type":"User","alternateId":"', user_login, '","displayName":"User ', toString(intDiv(number, 10) %% 5000), '"},',
		'"client":{"ipAddress":"', client_ip, '","userAgent":{"rawUserAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36","os":"Linux","browser":"CHROME"},',
		'"geographicalContext":{"city":"Berlin","state":"Land Berlin","country":"Germany","postalCode":"10115"}},',
		'"debugContext":{"debugData":{"risk":"{level=HIGH, reasons=Anomalous Device}","requestUri":"/api/v1/authn","threatSuspected":"false"}},',
		'"outcome":{"result":"SUCCESS"},"transaction":{"type":"WEB","id":"tx', toString(number), '"}',
		if(target_user_id = '', '', concat(',"target":[{"id":"', target_user_id, '","type":"User","alternateId":"', target_user_login, '","displayName":"User 7"}]')),
		'}') AS raw,
	published AS ingested_at, toUInt64(1) AS version
FROM system.numbers WHERE %[2]s LIMIT %[3]d`

const benchCols = "tenant, event_id, published, published_ms, event_type, category, user_id, user_login, target_user_id, target_user_login, client_ip, raw, ingested_at, version"

func (f *fixture) generate(b testing.TB, n int) {
	ctx := context.Background()
	for from := 0; from < n; from += 100_000 {
		m := min(100_000, n-from)
		q := fmt.Sprintf("INSERT INTO `%s`.risk_events (%s) SELECT * FROM (%s) WHERE 1", f.db, benchCols,
			replaceLeftPad(fmt.Sprintf(benchSelect, n, fmt.Sprintf("number >= %d", from), m)))
		require.NoError(b, f.conn.Exec(ctx, q))
	}
	q := fmt.Sprintf(`INSERT INTO %[1]s.org_users (tenant, user_id, user_login, first_seen, last_seen, version)
SELECT concat('org', toString(number %% 10)), concat('00u', leftPad0(toString(intDiv(number, 10))), 'o', toString(number %% 10)),
	concat('user', toString(intDiv(number, 10)), '@org', toString(number %% 10), '.example.com'), toDateTime(1767225600), toDateTime(1767225600), toUInt64(1)
FROM system.numbers LIMIT 50000`, "`"+f.db+"`")
	require.NoError(b, f.conn.Exec(ctx, replaceLeftPad(q)))
}

// person writes the person's rows again (their own events and org_users).
func (f *fixture) person(b *testing.B, n, i int) {
	ctx := context.Background()
	q := fmt.Sprintf("INSERT INTO `%s`.risk_events (%s) SELECT * FROM (%s)", f.db, benchCols,
		replaceLeftPad(fmt.Sprintf(benchSelect, n, "number % 50000 = 37 OR (intDiv(number, 10) % 5000 = 7 AND number % 10 = 3)", max(n/25000, 2))))
	require.NoError(b, f.conn.Exec(ctx, q))
	b2, err := f.conn.PrepareBatch(ctx, "INSERT INTO `"+f.db+"`.org_users (tenant, user_id, user_login, first_seen, last_seen, version)")
	require.NoError(b, err)
	require.NoError(b, b2.Append("org3", "00u0007o3", "user7@org3.example.com", time.Now(), time.Now(), uint64(i+1)))
	require.NoError(b, b2.Send())
}

// replaceLeftPad turns leftPad0(x) into x padded with zeros to 4
// characters (18.16 has no leftPad).
func replaceLeftPad(q string) string {
	out := ""
	for {
		i := indexOf(q, "leftPad0(")
		if i < 0 {
			return out + q
		}
		j := i + len("leftPad0(")
		depth := 1
		k := j
		for ; k < len(q) && depth > 0; k++ {
			switch q[k] {
			case '(':
				depth++
			case ')':
				depth--
			}
		}
		arg := q[j : k-1]
		out += q[:i] + "concat(substring('0000', 1, 4 - length(" + arg + ")), " + arg + ")"
		q = q[k:]
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
