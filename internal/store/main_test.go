package store

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/event"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// newStore opens a migrated store on a fresh database of the shared server.
func newStore(tb testing.TB) *Store {
	tb.Helper()
	srv := chtest.Start(tb)
	return openStore(tb, srv, chtest.NewDatabase(tb, srv), true)
}

func openStore(tb testing.TB, srv *chserver.Server, db string, migrate bool) *Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, chtest.Config(srv, db), nil)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	if migrate {
		require.NoError(tb, s.Migrate(ctx))
	}
	return s
}

// runWriter runs w until the test ends; stop cancels Run and returns its
// result (also called by the cleanup).
func runWriter(tb testing.TB, w *Writer) (stop func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var (
		stopped bool
		err     error
	)
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	tb.Cleanup(func() { _ = stop() })
	return stop
}

func newWriter(tb testing.TB, s *Store, o WriterOptions) (*Writer, func() error) {
	tb.Helper()
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	w := NewWriter(s, o)
	return w, runWriter(tb, w)
}

var published0 = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// makeEvent builds event i with a realistic raw System Log event.
func makeEvent(i int) event.Event {
	id := fmt.Sprintf("evt-%08d", i)
	pub := published0.Add(time.Duration(i) * time.Millisecond)
	raw, _ := json.Marshal(map[string]any{
		"uuid":           id,
		"published":      pub.Format(time.RFC3339Nano),
		"eventType":      "user.risk.change",
		"severity":       "WARN",
		"displayMessage": "User risk level changed",
		"actor":          map[string]any{"id": "00u1", "type": "User", "alternateId": "alice@example.com", "displayName": "Alice"},
		"client": map[string]any{
			"ipAddress":           "203.0.113.7",
			"geographicalContext": map[string]any{"country": "Germany", "city": "Berlin"},
			"userAgent":           map[string]any{"rawUserAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"},
		},
		"outcome":         map[string]any{"result": "SUCCESS"},
		"transaction":     map[string]any{"type": "WEB", "id": "txn-" + id},
		"debugContext":    map[string]any{"debugData": map[string]any{"risk": "{level=HIGH, reasons=Anomalous Device, Anomalous Location}", "requestUri": "/api/v1/authn"}},
		"securityContext": map[string]any{"asNumber": 64500, "asOrg": "example", "isp": "example", "domain": "example.com", "isProxy": false},
		"target":          []any{map[string]any{"id": "00u1", "type": "User", "alternateId": "alice@example.com", "displayName": "Alice"}},
	})
	return event.Event{
		ID:               id,
		Published:        pub,
		EventType:        "user.risk.change",
		LegacyEventType:  "core.user.risk.change",
		Severity:         "WARN",
		DisplayMessage:   "User risk level changed",
		ActorID:          "00u1",
		ActorType:        "User",
		ActorLogin:       "alice@example.com",
		ActorName:        "Alice",
		TargetUserID:     "00u1",
		TargetUserLogin:  "alice@example.com",
		UserID:           "00u1",
		UserLogin:        "alice@example.com",
		ClientIP:         "203.0.113.7",
		Country:          "Germany",
		Outcome:          "SUCCESS",
		OutcomeReason:    "",
		RiskLevel:        "HIGH",
		RiskReasons:      "Anomalous Device, Anomalous Location",
		RiskDetection:    "",
		PreviousLevel:    "LOW",
		ThreatSuspected:  i%2 == 0,
		ThreatDetections: map[string]string{"Password Spray": "HIGH", "Credential Stuffing": "MEDIUM"},
		TransactionID:    "txn-" + id,
		SessionID:        "102sess",
		Category:         event.CategoryUserRisk,
		Raw:              raw,
	}
}

func makeEvents(from, n int) []event.Event {
	out := make([]event.Event, n)
	for i := range out {
		out[i] = makeEvent(from + i)
	}
	return out
}

func queryUint(tb testing.TB, c driver.Conn, q string, args ...any) uint64 {
	tb.Helper()
	var n uint64
	require.NoError(tb, c.QueryRow(context.Background(), q, args...).Scan(&n), q)
	return n
}

func countFinal(tb testing.TB, s *Store, tbl string) uint64 {
	tb.Helper()
	return queryUint(tb, s.Conn(), "SELECT count() FROM "+s.table(tbl)+" FINAL")
}

// metricValue reads a counter or gauge.
func metricValue(tb testing.TB, m prometheus.Metric) float64 {
	tb.Helper()
	var d dto.Metric
	require.NoError(tb, m.Write(&d))
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	tb.Fatalf("metric %s is neither counter nor gauge", m.Desc())
	return 0
}
