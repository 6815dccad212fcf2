package simtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/oktasim"
)

// KillRig is what KillRounds needs of a deployment of the riskpipe binary
// against the simulator (cmd/riskpipe's TestBinary/Kill9 and the fault
// suite's kill -9 scenario).
type KillRig struct {
	Orgs []string
	// Start starts riskpipe for round r (from 1).
	Start func(r int) *Proc
	// WaitIntegrated waits, after the first start, until every tenant is
	// integrated; First is then each org's first log position to read.
	WaitIntegrated func(p *Proc)
	First          func(org string) int64
	// Positions reads the positions of the stored cursors (and checks
	// what the test wants of them besides never moving backwards, which
	// KillRounds checks); WaitPositions waits, p running, until every org
	// of want has reached its position.
	Positions     func() map[string]int64
	WaitPositions func(p *Proc, deadline time.Duration, what string, want map[string]int64) time.Duration
	// Org is an org of the simulator (its log length, its request holds).
	Org func(name string) *oktasim.Org
	// AddBacklog adds n events to every org's log.
	AddBacklog func(n int64)
	// AfterKill, when set, checks the killed process (its log).
	AfterKill func(p *Proc)
	// PageLimit is riskpipe's page: an org with more than a page left to
	// read when killed was killed mid-backlog.
	PageLimit int64
}

// KillOptions are the rounds of KillRounds: how many, the seed that picks
// each round's held page, and the backlog every org has to read at a
// round's start (more than the pages before the held one).
type KillOptions struct {
	Rounds int
	Seed   int64
	MinLag int64
}

// Kills is what KillRounds did.
type Kills struct {
	// Last is each org's cursor position after the last kill.
	Last  map[string]int64
	table strings.Builder
	tw    *tabwriter.Writer
}

// IsPageRequest is a page request of a poller resuming from a cursor (not
// a credential probe or a first request with since).
func IsPageRequest(r *http.Request) bool { return r.URL.Query().Get("after") != "" }

// KillRounds kills riskpipe with SIGKILL while it works through a backlog
// and the orgs' steady streams, restarting it each time, and requires
// that every kill lands mid-backlog and that no cursor moves backwards.
// The kill comes by a deterministic trigger, not a timer racing with the
// machine: the simulator holds riskpipe's request for a page picked by
// the seed (the 2nd to 5th of the round) of one org, and the kill comes
// once that request is in flight and the pages before it are written (the
// other orgs are wherever their own work has brought them).
func KillRounds(tb testing.TB, rig KillRig, o KillOptions) *Kills {
	tb.Helper()
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 9))
	k := &Kills{Last: map[string]int64{}}
	// Before each round, backlog is added until every org has at least
	// MinLag events to read.
	topUp := func(pos map[string]int64) int64 {
		lag := int64(math.MaxInt64)
		for org, p := range pos {
			lag = min(lag, rig.Org(org).Len()-p)
		}
		add := max(0, o.MinLag-lag)
		if add > 0 {
			rig.AddBacklog(add)
		}
		return add
	}
	k.tw = tabwriter.NewWriter(&k.table, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(k.tw, "round\tbacklog added\tkilled at\tafter\t")
	for _, org := range rig.Orgs {
		fmt.Fprintf(k.tw, "%s cursor\t(log end)\t", org)
	}
	fmt.Fprintln(k.tw)

	prev := k.Last
	for r := 1; r <= o.Rounds; r++ {
		var (
			p     *Proc
			added int64
			hold  *oktasim.RequestHold
		)
		held := rig.Orgs[(r-1)%len(rig.Orgs)]
		page := 2 + rng.IntN(4)
		arm := func() { hold = rig.Org(held).HoldRequest(page-1, IsPageRequest) }
		if r == 1 {
			p = rig.Start(r)
			rig.WaitIntegrated(p)
			for _, org := range rig.Orgs {
				prev[org] = rig.First(org)
			}
			added = topUp(prev) // after the integration time: riskpipe must read it all
			arm()
		} else {
			added = topUp(prev)
			arm()
			p = rig.Start(r)
		}
		began := time.Now()
		WaitFor(tb, 2*time.Minute, fmt.Sprintf("round %d: riskpipe asking %s for page %d of the round", r, held, page), func() (bool, string) {
			p.Alive(fmt.Sprintf("waiting for its request (round %d)", r))
			select {
			case <-hold.Held():
				return true, ""
			default:
				return false, "not yet"
			}
		})
		// The pages before the held one are written while it waits.
		rig.WaitPositions(p, 2*time.Minute, fmt.Sprintf("round %d: %s's pages before the held one written", r, held),
			map[string]int64{held: prev[held] + 1})
		p.Alive(fmt.Sprintf("before the kill (round %d)", r))
		p.Signal(syscall.SIGKILL)
		killedAfter := time.Since(began)
		_, sig := p.Wait(time.Minute)
		hold.Release() // into a closed connection
		require.Equal(tb, syscall.SIGKILL, sig, "round %d", r)
		if rig.AfterKill != nil {
			rig.AfterKill(p)
		}

		pos := rig.Positions()
		fmt.Fprintf(k.tw, "%d\t%d\t%s page %d\t%s\t", r, added, held, page, killedAfter.Round(time.Millisecond))
		for _, org := range rig.Orgs {
			require.GreaterOrEqual(tb, pos[org], prev[org], "round %d: %s's cursor moved backwards", r, org)
			fmt.Fprintf(k.tw, "%d\t(%d)\t", pos[org], rig.Org(org).Len())
		}
		fmt.Fprintln(k.tw)
		// Mid-backlog: it had written pages of the round and had more
		// than a page still to read.
		require.Greater(tb, pos[held], prev[held], "round %d: %s's cursor did not advance before the kill", r, held)
		require.Greater(tb, rig.Org(held).Len()-pos[held], rig.PageLimit, "round %d: %s was not mid-backlog at the kill", r, held)
		for _, org := range rig.Orgs {
			prev[org] = pos[org]
		}
	}
	return k
}

// Table is the cursor positions after each kill, with a last row of the
// end positions the final catch-up reached (SIGTERM, exit 0).
func (k *Kills) Table(orgs []string, end map[string]int64) string {
	fmt.Fprintf(k.tw, "final\t\tSIGTERM, exit 0\t")
	for _, org := range orgs {
		fmt.Fprintf(k.tw, "%d\t(%d)\t", end[org], end[org])
	}
	fmt.Fprintln(k.tw)
	_ = k.tw.Flush()
	return k.table.String()
}
