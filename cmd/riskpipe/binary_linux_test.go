package main

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/oktasim"
	"github.com/riskpipe/riskpipe/internal/oktasim/scenario"
	"github.com/riskpipe/riskpipe/internal/simtest"
	"github.com/riskpipe/riskpipe/internal/store"
)

// testVersion is linked into the binary the process tests build.
const testVersion = "v0.0.0-processtest"

// TestBinary builds the real riskpipe binary once and runs it as a child
// process: version, SIGKILL mid-backlog (exactly-once), and SIGTERM
// under load (drain).
func TestBinary(t *testing.T) {
	srv := chtest.Start(t)
	bin := buildBinary(t)

	t.Run("Version", func(t *testing.T) {
		out, err := exec.Command(bin, "version").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Equal(t, "riskpipe "+testVersion+"\n", string(out))
	})
	t.Run("Kill9ExactlyOnce", func(t *testing.T) { testKill9(t, bin, srv) })
	t.Run("SIGTERMDrain", func(t *testing.T) { testSIGTERMDrain(t, bin, srv) })
	t.Run("SIGHUPReload", func(t *testing.T) { testSIGHUPReload(t, bin, srv) })
	t.Run("NotifyKill9", func(t *testing.T) { testNotifyKill9(t, bin, srv) })
}

// buildBinary builds ./cmd/riskpipe (internal/simtest). With
// RISKPIPE_BINARY_RACE set (and the tests running with -race) the binary
// has the race detector too: a race in the child process fails the test.
// That halves its throughput, so it is off by default; the in-process
// tests (run, demo) already run the pipeline under the race detector.
func buildBinary(t *testing.T) string {
	return simtest.Build(t, testVersion, raceEnabled && os.Getenv("RISKPIPE_BINARY_RACE") != "")
}

// proc is a riskpipe child process (internal/simtest, the harness shared
// with the fault suite).
type proc = simtest.Proc

func startProc(t *testing.T, bin, logFile string, args ...string) *proc {
	t.Helper()
	return simtest.Start(t, bin, logFile, args...)
}

// requireNoRace fails when the race detector reported in a log.
func requireNoRace(t *testing.T, logFile string) {
	t.Helper()
	b, err := os.ReadFile(logFile)
	require.NoError(t, err)
	if i := bytes.Index(b, []byte("WARNING: DATA RACE")); i >= 0 {
		t.Fatalf("data race in riskpipe (%s):\n%s", filepath.Base(logFile), b[i:min(len(b), i+6000)])
	}
}

func envInt(t *testing.T, name string, def int64) int64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	require.NoError(t, err, "%s", name)
	return n
}

// pipelineTest is the shared set-up of the process tests: a simulator
// with two orgs, a fresh database, a config with small pages and quick
// flushes, and the test's own connection to read what riskpipe wrote.
type pipelineTest struct {
	t         *testing.T
	bin, cfg  string
	dir       string
	fl        *fleet
	st        *store.Store
	pageLimit int
	since     map[string]time.Time // integration time per org
}

func newPipelineTest(t *testing.T, bin string, srv *chserver.Server, scen string, eps float64) *pipelineTest {
	fl := newFleet(t, simSettings{orgs: 2, scenario: scen, seed: 11, eps: eps})
	db := chtest.NewDatabase(t, srv)
	const pageLimit = 200
	cfg := writeConfig(t, cfgSpec{addr: srv.Addr(), db: db, pageLimit: pageLimit, batchMaxWait: "10ms", tenants: fl.tenants()})
	return &pipelineTest{t: t, bin: bin, cfg: cfg, dir: t.TempDir(), fl: fl, st: openStore(t, srv, db), pageLimit: pageLimit}
}

func (pt *pipelineTest) start(logName string) *proc {
	return startProc(pt.t, pt.bin, filepath.Join(pt.dir, logName), "run", "--config", pt.cfg)
}

// waitIntegrated waits until every org has a poll_state row and records
// the integration times.
func (pt *pipelineTest) waitIntegrated(p *proc) {
	t := pt.t
	t.Helper()
	waitFor(t, time.Minute, "every tenant integrated", func() (bool, string) {
		if p.Exited() {
			t.Fatalf("riskpipe exited:\n%s", p.Tail(40))
		}
		states := pollStates(t, pt.st)
		return len(states) == len(pt.fl.orgs), fmt.Sprintf("%d of %d tenants in poll_state", len(states), len(pt.fl.orgs))
	})
	pt.since = map[string]time.Time{}
	for org, s := range pollStates(t, pt.st) {
		require.False(t, s.IntegratedAt.IsZero(), org)
		pt.since[org] = s.IntegratedAt
	}
}

// positions reads every org's stored cursor position and checks that the
// integration time is the recorded one.
func (pt *pipelineTest) positions() map[string]int64 {
	t := pt.t
	t.Helper()
	out := map[string]int64{}
	states := pollStates(t, pt.st)
	for _, org := range pt.fl.orgs {
		s, ok := states[org]
		require.True(t, ok, "%s has no poll_state", org)
		require.True(t, s.IntegratedAt.Equal(pt.since[org]), "%s: integrated_at changed from %s to %s", org, pt.since[org], s.IntegratedAt)
		from, _ := pt.fl.org(org).TruthRange(pt.since[org])
		out[org] = cursorPosition(t, s.Cursor, from)
	}
	return out
}

// catchUp stops the simulated traffic, starts riskpipe, waits until every
// cursor is at the end of its org's log and stops it with SIGTERM, which
// must end it with exit status 0. It returns the end positions.
func (pt *pipelineTest) catchUp(logName string) map[string]int64 {
	t := pt.t
	t.Helper()
	end := map[string]int64{}
	for _, org := range pt.fl.orgs {
		pt.fl.org(org).SetRate(0)
		end[org] = pt.fl.org(org).Len()
	}
	p := pt.start(logName)
	waitFor(t, 3*time.Minute, "every cursor at the end of its log", func() (bool, string) {
		if p.Exited() {
			t.Fatalf("riskpipe exited:\n%s", p.Tail(40))
		}
		pos := pt.positions()
		for _, org := range pt.fl.orgs {
			require.LessOrEqual(t, pos[org], end[org], "%s: cursor beyond the log", org)
			if pos[org] != end[org] {
				return false, fmt.Sprintf("positions %v, end %v", pos, end)
			}
		}
		return true, ""
	})
	p.WaitRunning(time.Minute) // a restart with nothing left to read is at the end at once
	p.Signal(syscall.SIGTERM)
	code, sig := p.Wait(time.Minute)
	require.Equal(t, 0, code, "exit status after SIGTERM (signal %v); tail:\n%s", sig, p.Tail(40))
	requireNoRace(t, p.Log())
	return end
}

// requireExactlyOnceAll checks every org's risk_events against the truth
// up to end, and that the polled events were all counted.
func (pt *pipelineTest) requireExactlyOnceAll(end map[string]int64, countsExact bool) {
	t := pt.t
	t.Helper()
	for _, org := range pt.fl.orgs {
		want := orgTruth(pt.fl, org, pt.since[org], end[org])
		require.Equal(t, end[org], want.to, "%s: truth range", org)
		requireExactlyOnce(t, pt.st, org, want)
		polled := polledCount(t, pt.st, org)
		total := uint64(want.to - want.from)
		if countsExact {
			require.Equal(t, total, polled, "%s: event_type_counts", org)
		} else {
			// A page replayed after a kill is counted again
			// (SummingMergeTree); none may be missing.
			require.GreaterOrEqual(t, polled, total, "%s: event_type_counts lost events", org)
		}
		st := pt.fl.org(org).Stats()
		t.Logf("%s: log [%d, %d): %d events, %d kept, all in risk_events once; event_type_counts %d (%+d); simulator: requests %v, tokens issued %d, events served %d",
			org, want.from, want.to, total, len(want.kept), polled, int64(polled)-int64(total), st.Requests, st.TokensIssued, st.EventsServed)
		var integrations uint64
		require.NoError(t, pt.st.Conn().QueryRow(t.Context(),
			"SELECT uniqExact(integrated_at_ms) FROM `"+pt.st.Database()+"`.poll_state WHERE tenant = ?", org).Scan(&integrations))
		require.EqualValues(t, 1, integrations, "%s: poll_state rows with different integration times", org)
	}
}

// testKill9 kills riskpipe with SIGKILL while it works through a backlog
// and a steady stream, checks after every kill that no cursor moved
// backwards and that the integration time stayed, then lets it catch up
// and compares ClickHouse with the simulator's ground truth: nothing lost,
// nothing twice. Every kill lands mid-backlog by a deterministic trigger,
// not a timer racing with the machine: the simulator holds riskpipe's
// request for a random page (the 2nd to 5th of the round) of one org, and
// the kill comes once that request is in flight and the pages before it
// are written; the other org is wherever its own work has brought it.
func testKill9(t *testing.T, bin string, srv *chserver.Server) {
	rounds := int(envInt(t, "RISKPIPE_KILL_ROUNDS", 5))
	seed := envInt(t, "RISKPIPE_KILL_SEED", time.Now().UnixNano())
	t.Logf("%d kill rounds, seed %d (RISKPIPE_KILL_SEED=%d RISKPIPE_KILL_ROUNDS=%d repeats the held pages)", rounds, seed, seed, rounds)
	rng := rand.New(rand.NewPCG(uint64(seed), 9))
	const minLag = 4000 // events to read at each round's start: more than the pages before the held one
	pt := newPipelineTest(t, bin, srv, scenario.ScenarioDemo, 100)
	orgs := pt.fl.orgs
	topUp := func(pos map[string]int64) int64 {
		lag := int64(math.MaxInt64)
		for org, p := range pos {
			lag = min(lag, pt.fl.org(org).Len()-p)
		}
		add := max(0, minLag-lag)
		if add > 0 {
			pt.fl.addBacklog(add)
		}
		return add
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "round\tbacklog added\tkilled at\tafter\t")
	for _, org := range orgs {
		fmt.Fprintf(tw, "%s cursor\t(log end)\t", org)
	}
	fmt.Fprintln(tw)

	prev := map[string]int64{}
	for r := 1; r <= rounds; r++ {
		var (
			p     *proc
			added int64
			hold  *oktasim.Hold
		)
		held := orgs[(r-1)%len(orgs)]
		page := 2 + rng.IntN(4)
		arm := func() {
			hold = pt.fl.org(held).HoldRequest(page-1, func(r *http.Request) bool { return r.URL.Query().Get("after") != "" })
		}
		if r == 1 {
			p = pt.start(fmt.Sprintf("run-%02d.log", r))
			pt.waitIntegrated(p)
			for _, org := range orgs {
				prev[org], _ = pt.fl.org(org).TruthRange(pt.since[org])
			}
			added = topUp(prev) // after the integration time: riskpipe must read it all
			arm()
		} else {
			added = topUp(prev)
			arm()
			p = pt.start(fmt.Sprintf("run-%02d.log", r))
		}
		began := time.Now()
		waitFor(t, 2*time.Minute, fmt.Sprintf("round %d: riskpipe asking %s for page %d of the round", r, held, page), func() (bool, string) {
			if p.Exited() {
				t.Fatalf("round %d: riskpipe exited:\n%s", r, p.Tail(40))
			}
			select {
			case <-hold.Held():
				return true, ""
			default:
				return false, "not yet"
			}
		})
		// The pages before the held one are written while it waits.
		waitFor(t, 2*time.Minute, fmt.Sprintf("round %d: %s's pages before the held one written", r, held), func() (bool, string) {
			pos := pt.positions()
			return pos[held] > prev[held], fmt.Sprintf("positions %v", pos)
		})
		require.False(t, p.Exited(), "round %d: riskpipe exited before the kill:\n%s", r, p.Tail(40))
		p.Signal(syscall.SIGKILL)
		killedAfter := time.Since(began)
		_, sig := p.Wait(time.Minute)
		hold.Release() // into a closed connection
		require.Equal(t, syscall.SIGKILL, sig, "round %d", r)
		requireNoRace(t, p.Log())

		pos := pt.positions()
		fmt.Fprintf(tw, "%d\t%d\t%s page %d\t%s\t", r, added, held, page, killedAfter.Round(time.Millisecond))
		for _, org := range orgs {
			require.GreaterOrEqual(t, pos[org], prev[org], "round %d: %s's cursor moved backwards", r, org)
			fmt.Fprintf(tw, "%d\t(%d)\t", pos[org], pt.fl.org(org).Len())
		}
		fmt.Fprintln(tw)
		// Mid-backlog: it had written pages of the round and had more
		// than a page still to read.
		require.Greater(t, pt.fl.org(held).Len()-pos[held], int64(pt.pageLimit), "round %d: %s was not mid-backlog at the kill", r, held)
		for _, org := range orgs {
			prev[org] = pos[org]
		}
	}

	end := pt.catchUp("final.log")
	fmt.Fprintf(tw, "final\t\tSIGTERM, exit 0\t")
	for _, org := range orgs {
		fmt.Fprintf(tw, "%d\t(%d)\t", end[org], end[org])
	}
	fmt.Fprintln(tw)
	tw.Flush()
	t.Logf("cursor positions (log index) after each kill:\n%s", table.String())

	pt.requireExactlyOnceAll(end, false)
}

// testSIGTERMDrain sends SIGTERM while riskpipe works through a backlog:
// it must exit 0 having stored cursors that cover exactly what it wrote
// (every event before a cursor is in risk_events, none after it), and a
// restart must go on from there exactly once.
func testSIGTERMDrain(t *testing.T, bin string, srv *chserver.Server) {
	pt := newPipelineTest(t, bin, srv, scenario.ScenarioBench, 200)
	orgs := pt.fl.orgs

	p := pt.start("run-1.log")
	pt.waitIntegrated(p)
	from := map[string]int64{}
	for _, org := range orgs {
		from[org], _ = pt.fl.org(org).TruthRange(pt.since[org])
	}
	// Large enough that riskpipe is still a few pages in when the waits
	// below see it working (it drained 15,000 events before the signal
	// once it pipelined fetches and writes).
	pt.fl.addBacklog(100_000)
	// Under load: every org is a few pages into the backlog.
	waitFor(t, 2*time.Minute, "riskpipe working through the backlog", func() (bool, string) {
		if p.Exited() {
			t.Fatalf("riskpipe exited:\n%s", p.Tail(40))
		}
		pos := pt.positions()
		for _, org := range orgs {
			if pos[org]-from[org] < int64(3*pt.pageLimit) {
				return false, fmt.Sprintf("positions %v", pos)
			}
		}
		return true, ""
	})
	p.Signal(syscall.SIGTERM)
	code, sig := p.Wait(time.Minute)
	require.Equal(t, 0, code, "exit status after SIGTERM (signal %v); tail:\n%s", sig, p.Tail(40))
	requireNoRace(t, p.Log())

	pos := pt.positions()
	for _, org := range orgs {
		end := pt.fl.org(org).Len()
		t.Logf("%s: SIGTERM at log position %d of %d", org, pos[org], end)
		require.Greater(t, end-pos[org], int64(pt.pageLimit), "%s had caught up before the SIGTERM: not under load", org)
		// All of the log before the cursor is stored, nothing after it:
		// the drain wrote every page it fetched together with its cursor.
		want := orgTruth(pt.fl, org, pt.since[org], pos[org])
		got := storedEvents(t, pt.st, org)
		all := orgTruth(pt.fl, org, pt.since[org], end)
		for id := range got.events {
			idx, ok := all.index[id]
			require.True(t, ok, "%s: stored event %s is not a kept event of the log", org, id)
			require.Less(t, idx, pos[org], "%s: event %s (index %d) stored beyond the cursor", org, id, idx)
		}
		requireExactlyOnce(t, pt.st, org, want)
		require.Equal(t, uint64(want.to-want.from), polledCount(t, pt.st, org), "%s: event_type_counts", org)
	}

	// A restart resumes from the drained cursors: exactly once.
	end := pt.catchUp("run-2.log")
	for _, org := range orgs {
		require.Greater(t, end[org], pos[org], org)
	}
	pt.requireExactlyOnceAll(end, true)
}
