package poll

import (
	"context"
	"sort"

	"golang.org/x/sync/errgroup"
)

// Manager runs a set of pollers, one goroutine each.
type Manager struct {
	pollers []*Poller
}

// NewManager builds a manager over pollers; it starts nothing.
func NewManager(pollers ...*Poller) *Manager {
	return &Manager{pollers: pollers}
}

// Run runs every poller until ctx is cancelled and they have all returned.
// A poller never returns an error on its own, so one tenant can not stop
// the others.
func (m *Manager) Run(ctx context.Context) error {
	var g errgroup.Group
	for _, p := range m.pollers {
		g.Go(func() error { return p.Run(ctx) })
	}
	return g.Wait()
}

// Statuses returns every poller's status, sorted by tenant.
func (m *Manager) Statuses() []Status {
	out := make([]Status, 0, len(m.pollers))
	for _, p := range m.pollers {
		out = append(out, p.Status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant < out[j].Tenant })
	return out
}
