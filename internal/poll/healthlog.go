package poll

import (
	"slices"
	"sync"
	"time"
)

// HealthLog remembers how each tenant's poller did over the last hours:
// per window (default 5 minutes), how many times its status was sampled,
// how many of those samples showed failures, the most consecutive
// failures, the worst state and the last error. It lives in memory (the
// poller_status table keeps only the latest status), so it starts empty
// with the process; its size is fixed: Keep windows per tenant.
type HealthLog struct {
	window time.Duration
	keep   int
	mu     sync.Mutex
	rings  map[string][]HealthWindow // oldest first, at most keep
}

// HealthWindow is one window of a tenant's HealthLog.
type HealthWindow struct {
	Start time.Time `json:"start"`
	// Samples is how often the status was sampled in the window, Failing
	// how many of those had consecutive failures.
	Samples int `json:"samples"`
	Failing int `json:"failing"`
	// MaxFailures is the most consecutive failures seen.
	MaxFailures int `json:"max_failures"`
	// WorstState is the worst state seen (auth_error and write_error,
	// then backing_off, then the others).
	WorstState State  `json:"worst_state"`
	LastError  string `json:"last_error"`
}

// Defaults of NewHealthLog: 5-minute windows for 24 hours.
const (
	DefaultHealthWindow = 5 * time.Minute
	DefaultHealthKeep   = 288
)

// NewHealthLog keeps keep windows of window per tenant (zero: the
// defaults).
func NewHealthLog(window time.Duration, keep int) *HealthLog {
	if window <= 0 {
		window = DefaultHealthWindow
	}
	if keep <= 0 {
		keep = DefaultHealthKeep
	}
	return &HealthLog{window: window, keep: keep, rings: map[string][]HealthWindow{}}
}

// stateRank orders states from worst (0) to best.
var stateRank = map[State]int{
	StateAuthError: 0, StatePermissionDenied: 0, StatePermissionMissing: 0, StateWriteError: 1,
	StateBackingOff: 2, StateStarting: 3, StatePolling: 4, StateCaughtUp: 5,
}

func rank(state State) int {
	if r, ok := stateRank[state]; ok {
		return r
	}
	return 3
}

// Record adds a sample of every status taken at now.
func (l *HealthLog) Record(now time.Time, statuses []Status) {
	start := now.Truncate(l.window).UTC()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range statuses {
		ring := l.rings[s.Tenant]
		if n := len(ring); n == 0 || ring[n-1].Start.Before(start) {
			if n == l.keep {
				ring = append(ring[:0], ring[1:]...)
			}
			ring = append(ring, HealthWindow{Start: start, WorstState: s.State})
		}
		w := &ring[len(ring)-1]
		w.Samples++
		if s.ConsecutiveFailures > 0 {
			w.Failing++
			w.LastError = s.LastError
		}
		w.MaxFailures = max(w.MaxFailures, s.ConsecutiveFailures)
		if rank(s.State) < rank(w.WorstState) {
			w.WorstState = s.State
		}
		l.rings[s.Tenant] = ring
	}
}

// Windows returns the tenant's windows starting in [from, to), oldest
// first.
func (l *HealthLog) Windows(tenant string, from, to time.Time) []HealthWindow {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []HealthWindow
	for _, w := range l.rings[tenant] {
		if !w.Start.Before(from) && w.Start.Before(to) {
			out = append(out, w)
		}
	}
	return slices.Clip(out)
}
