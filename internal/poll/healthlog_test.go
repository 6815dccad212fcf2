package poll

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHealthLog(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	l := NewHealthLog(5*time.Minute, 3)
	ok := Status{Tenant: "acme", State: "caught_up"}
	bad := Status{Tenant: "acme", State: "auth_error", ConsecutiveFailures: 4, LastError: "okta: 401"}
	l.Record(t0, []Status{ok, {Tenant: "globex", State: "polling"}})
	l.Record(t0.Add(time.Minute), []Status{bad})
	l.Record(t0.Add(2*time.Minute), []Status{ok})
	l.Record(t0.Add(5*time.Minute), []Status{ok})

	w := l.Windows("acme", t0, t0.Add(time.Hour))
	require.Len(t, w, 2)
	require.Equal(t, HealthWindow{Start: t0, Samples: 3, Failing: 1, MaxFailures: 4, WorstState: "auth_error", LastError: "okta: 401"}, w[0])
	require.Equal(t, HealthWindow{Start: t0.Add(5 * time.Minute), Samples: 1, WorstState: "caught_up"}, w[1])
	require.Len(t, l.Windows("globex", t0, t0.Add(time.Hour)), 1)
	require.Empty(t, l.Windows("initech", t0, t0.Add(time.Hour)))
	require.Len(t, l.Windows("acme", t0.Add(time.Minute), t0.Add(time.Hour)), 1, "windows starting in the range")

	// At most keep windows: the oldest go.
	for i := 2; i < 6; i++ {
		l.Record(t0.Add(time.Duration(i)*5*time.Minute), []Status{ok})
	}
	w = l.Windows("acme", t0, t0.Add(time.Hour))
	require.Len(t, w, 3)
	require.Equal(t, t0.Add(15*time.Minute), w[0].Start)
}
