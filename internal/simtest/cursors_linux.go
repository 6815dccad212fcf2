package simtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/store"
)

// Cursors follows the stored cursors of a riskpipe run whose tenants are
// simulated orgs: when each was integrated, and where each cursor is in
// its org's log (cmd/riskpipe's process tests, internal/chaos).
type Cursors struct {
	tb    testing.TB
	store func() *store.Store // the test's own connection (a test may reopen it)
	orgs  []string
	org   func(name string) *oktasim.Org
	// Since is each org's integration time, once WaitIntegrated returned.
	Since map[string]time.Time
	last  map[string]int64 // the last positions read: cursors never move backwards
}

// NewCursors follows the cursors of orgs (org looks one up), read through
// the store st returns.
func NewCursors(tb testing.TB, st func() *store.Store, orgs []string, org func(name string) *oktasim.Org) *Cursors {
	return &Cursors{tb: tb, store: st, orgs: orgs, org: org, Since: map[string]time.Time{}, last: map[string]int64{}}
}

// WaitIntegrated waits (at most deadline) until every org has a poll_state
// row, p running, and records the integration times.
func (c *Cursors) WaitIntegrated(p *Proc, deadline time.Duration) {
	tb := c.tb
	tb.Helper()
	WaitFor(tb, deadline, "every tenant integrated", func() (bool, string) {
		p.Alive("integrating")
		states := PollStates(tb, c.store())
		return len(states) == len(c.orgs), fmt.Sprintf("%d of %d tenants in poll_state", len(states), len(c.orgs))
	})
	c.Since = map[string]time.Time{}
	for org, s := range PollStates(tb, c.store()) {
		require.False(tb, s.IntegratedAt.IsZero(), org)
		c.Since[org] = s.IntegratedAt
	}
}

// From is the first log index of an org at or after its integration time.
func (c *Cursors) From(org string) int64 {
	from, _ := c.org(org).TruthRange(c.Since[org])
	return from
}

// Positions reads every org's stored cursor position, checking that the
// integration time never changed, that no cursor moved backwards since the
// last read and that none is beyond the org's log.
func (c *Cursors) Positions() map[string]int64 {
	tb := c.tb
	tb.Helper()
	out := map[string]int64{}
	states := PollStates(tb, c.store())
	for _, org := range c.orgs {
		s, ok := states[org]
		require.True(tb, ok, "%s has no poll_state", org)
		require.True(tb, s.IntegratedAt.Equal(c.Since[org]), "%s: integrated_at changed from %s to %s", org, c.Since[org], s.IntegratedAt)
		pos := CursorPosition(tb, s.Cursor, c.From(org))
		require.GreaterOrEqual(tb, pos, c.last[org], "%s: cursor moved backwards", org)
		require.LessOrEqual(tb, pos, c.org(org).Len(), "%s: cursor beyond the log", org)
		c.last[org] = pos
		out[org] = pos
	}
	return out
}

// WaitPositions waits (at most deadline), p running, until every org of
// want has reached its position, and returns how long that took.
func (c *Cursors) WaitPositions(p *Proc, deadline time.Duration, what string, want map[string]int64) time.Duration {
	c.tb.Helper()
	began := time.Now()
	WaitFor(c.tb, deadline, what, func() (bool, string) {
		p.Alive(what)
		pos := c.Positions()
		for org, w := range want {
			if pos[org] < w {
				return false, fmt.Sprintf("positions %v, want %v", pos, want)
			}
		}
		return true, ""
	})
	return time.Since(began)
}
