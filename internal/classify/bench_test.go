package classify

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkPage classifies pages of 1000 realistic 2 KB events: mostly
// dropped sign-ins with distinct transactions, 1% ThreatInsight events.
// ns/op is per page; see the events/s metric.
func BenchmarkPage(b *testing.B) {
	tmpl, err := os.ReadFile("../event/testdata/session_start.json")
	require.NoError(b, err)
	var m map[string]any
	require.NoError(b, json.Unmarshal(tmpl, &m))
	page := make([]json.RawMessage, 1000)
	size := 0
	for i := range page {
		m["uuid"] = fmt.Sprintf("uuid-%d", i)
		m["transaction"] = map[string]any{"type": "WEB", "id": fmt.Sprintf("tx-%d", i)}
		if i%100 == 0 {
			m["eventType"] = "security.threat.detected"
		} else {
			m["eventType"] = "user.session.start"
		}
		page[i], err = json.Marshal(m)
		require.NoError(b, err)
		size += len(page[i])
	}
	c := New(nil)
	now := time.Now()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		c.Page(page, now)
	}
	b.ReportMetric(float64(b.N*len(page))/b.Elapsed().Seconds(), "events/s")
}
