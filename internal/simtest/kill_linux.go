package simtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/stretchr/testify/require"
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
	// KillRounds checks).
	Positions func() map[string]int64
	// Len is an org's log length now; AddBacklog adds n events to every
	// org's log.
	Len        func(org string) int64
	AddBacklog func(n int64)
	// AfterKill, when set, checks the killed process (its log).
	AfterKill func(p *Proc)
	// PageLimit is riskpipe's page: an org with more than a page left to
	// read when killed was killed mid-backlog.
	PageLimit int64
}

// KillOptions are the rounds of KillRounds: how many, the seed of the
// kill times, the range of a kill's delay after the start, and the range
// of the backlog kept ahead of the cursors.
type KillOptions struct {
	Rounds           int
	Seed             int64
	MinKill, MaxKill time.Duration
	MinLag, MaxLag   int64
}

// Kills is what KillRounds did.
type Kills struct {
	// Last is each org's cursor position after the last kill.
	Last map[string]int64
	// MidBacklog counts the kills that landed while riskpipe had advanced
	// and still had pages to read.
	MidBacklog int
	table      strings.Builder
	tw         *tabwriter.Writer
}

// KillRounds kills riskpipe with SIGKILL at random moments while it works
// through a backlog and the org's steady stream, restarting it each time,
// and requires that no cursor moves backwards. Before each round, backlog
// is added until the org nearest to its log's end has more to read than
// riskpipe read in 1.5 × MaxKill so far (at least MinLag events): kills
// land mid-backlog on fast machines too, and no more piles up than the
// final catch-up needs.
func KillRounds(tb testing.TB, rig KillRig, o KillOptions) *Kills {
	tb.Helper()
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 9))
	k := &Kills{Last: map[string]int64{}}
	var rate float64 // the most events a second one org was read at so far
	topUp := func(pos map[string]int64) int64 {
		need := min(max(o.MinLag, int64(1.5*rate*o.MaxKill.Seconds())), o.MaxLag)
		lag := int64(math.MaxInt64)
		for org, p := range pos {
			lag = min(lag, rig.Len(org)-p)
		}
		add := max(0, need-lag)
		if add > 0 {
			rig.AddBacklog(add)
		}
		return add
	}
	k.tw = tabwriter.NewWriter(&k.table, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(k.tw, "round\tbacklog added\tkilled after\t")
	for _, org := range rig.Orgs {
		fmt.Fprintf(k.tw, "%s cursor\t(log end)\t", org)
	}
	fmt.Fprintln(k.tw)

	prev := k.Last
	for r := 1; r <= o.Rounds; r++ {
		var (
			p     *Proc
			added int64
		)
		if r == 1 {
			p = rig.Start(r)
			rig.WaitIntegrated(p)
			for _, org := range rig.Orgs {
				prev[org] = rig.First(org)
			}
			added = topUp(prev) // after the integration time: riskpipe must read it all
		} else {
			added = topUp(prev)
			p = rig.Start(r)
		}
		began := time.Now()
		time.Sleep(o.MinKill + time.Duration(rng.Int64N(int64(o.MaxKill-o.MinKill))))
		p.Alive(fmt.Sprintf("waiting to kill it (round %d)", r))
		p.Signal(syscall.SIGKILL)
		killedAfter := time.Since(began)
		_, sig := p.Wait(time.Minute)
		require.Equal(tb, syscall.SIGKILL, sig, "round %d", r)
		if rig.AfterKill != nil {
			rig.AfterKill(p)
		}

		pos := rig.Positions()
		busy := false
		fmt.Fprintf(k.tw, "%d\t%d\t%s\t", r, added, killedAfter.Round(time.Millisecond))
		for _, org := range rig.Orgs {
			rate = max(rate, float64(pos[org]-prev[org])/killedAfter.Seconds())
			require.GreaterOrEqual(tb, pos[org], prev[org], "round %d: %s's cursor moved backwards", r, org)
			end := rig.Len(org)
			if pos[org] > prev[org] && end-pos[org] > rig.PageLimit {
				busy = true // it had advanced and still had pages to read
			}
			fmt.Fprintf(k.tw, "%d\t(%d)\t", pos[org], end)
			prev[org] = pos[org]
		}
		fmt.Fprintln(k.tw)
		if busy {
			k.MidBacklog++
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
