package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
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
	t.Run("RespondKill9", func(t *testing.T) { testRespondKill9(t, bin, srv) })
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
	// The cursors of the run: integration times (Since), positions
	// (never backwards, never beyond the log).
	*simtest.Cursors
}

func newPipelineTest(t *testing.T, bin string, srv *chserver.Server, scen string, eps float64) *pipelineTest {
	fl := newFleet(t, simSettings{orgs: 2, scenario: scen, seed: 11, eps: eps})
	db := chtest.NewDatabase(t, srv)
	const pageLimit = 200
	cfg := writeConfig(t, cfgSpec{addr: srv.Addr(), db: db, pageLimit: pageLimit, batchMaxWait: "10ms", tenants: fl.tenants()})
	pt := &pipelineTest{t: t, bin: bin, cfg: cfg, dir: t.TempDir(), fl: fl, st: simtest.OpenStore(t, chtest.Config(srv, db)), pageLimit: pageLimit}
	pt.Cursors = simtest.NewCursors(t, func() *store.Store { return pt.st }, fl.orgs, fl.org)
	return pt
}

func (pt *pipelineTest) start(logName string) *proc {
	return startProc(pt.t, pt.bin, filepath.Join(pt.dir, logName), "run", "--config", pt.cfg)
}

// waitIntegrated waits until every org has a poll_state row and records
// the integration times.
func (pt *pipelineTest) waitIntegrated(p *proc) { pt.WaitIntegrated(p, time.Minute) }

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
	pt.WaitPositions(p, 3*time.Minute, "every cursor at the end of its log", end)
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
		want := orgTruth(t, pt.fl, org, pt.Since[org], end[org])
		require.Equal(t, end[org], want.To, "%s: truth range", org)
		simtest.RequireExactlyOnce(t, pt.st, org, want)
		polled := simtest.Polled(t, pt.st, org)
		total := uint64(want.To - want.From)
		if countsExact {
			require.Equal(t, total, polled, "%s: event_type_counts", org)
		} else {
			// A page replayed after a kill is counted again
			// (SummingMergeTree); none may be missing.
			require.GreaterOrEqual(t, polled, total, "%s: event_type_counts lost events", org)
		}
		st := pt.fl.org(org).Stats()
		t.Logf("%s: log [%d, %d): %d events, %d kept, all in risk_events once; event_type_counts %d (%+d); simulator: requests %v, tokens issued %d, events served %d",
			org, want.From, want.To, total, len(want.Kept), polled, int64(polled)-int64(total), st.Requests, st.TokensIssued, st.EventsServed)
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
	pt := newPipelineTest(t, bin, srv, scenario.ScenarioDemo, 100)
	orgs := pt.fl.orgs
	kills := simtest.KillRounds(t, simtest.KillRig{
		Orgs:           orgs,
		Start:          func(r int) *proc { return pt.start(fmt.Sprintf("run-%02d.log", r)) },
		WaitIntegrated: pt.waitIntegrated,
		First:          pt.From,
		Positions:      pt.Positions,
		WaitPositions:  pt.WaitPositions,
		Org:            pt.fl.org,
		AddBacklog:     pt.fl.addBacklog,
		AfterKill:      func(p *proc) { requireNoRace(t, p.Log()) },
		PageLimit:      int64(pt.pageLimit),
	}, simtest.KillOptions{Rounds: rounds, Seed: seed, MinLag: 4000}) // more than the pages before the held one

	end := pt.catchUp("final.log")
	t.Logf("cursor positions (log index) after each kill:\n%s", kills.Table(orgs, end))

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
		from[org] = pt.From(org)
	}
	// Large enough that riskpipe is still a few pages in when the waits
	// below see it working (it drained 15,000 events before the signal
	// once it pipelined fetches and writes).
	pt.fl.addBacklog(100_000)
	// Under load: every org is a few pages into the backlog.
	simtest.WaitFor(t, 2*time.Minute, "riskpipe working through the backlog", func() (bool, string) {
		if p.Exited() {
			t.Fatalf("riskpipe exited:\n%s", p.Tail(40))
		}
		pos := pt.Positions()
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

	pos := pt.Positions()
	for _, org := range orgs {
		end := pt.fl.org(org).Len()
		t.Logf("%s: SIGTERM at log position %d of %d", org, pos[org], end)
		require.Greater(t, end-pos[org], int64(pt.pageLimit), "%s had caught up before the SIGTERM: not under load", org)
		// All of the log before the cursor is stored, nothing after it:
		// the drain wrote every page it fetched together with its cursor.
		want := orgTruth(t, pt.fl, org, pt.Since[org], pos[org])
		got := simtest.Stored(t, pt.st, org)
		all := orgTruth(t, pt.fl, org, pt.Since[org], end)
		for id := range got.Categories {
			k, ok := all.Kept[id]
			idx := k.Index
			require.True(t, ok, "%s: stored event %s is not a kept event of the log", org, id)
			require.Less(t, idx, pos[org], "%s: event %s (index %d) stored beyond the cursor", org, id, idx)
		}
		simtest.RequireExactlyOnce(t, pt.st, org, want)
		require.Equal(t, uint64(want.To-want.From), simtest.Polled(t, pt.st, org), "%s: event_type_counts", org)
	}

	// A restart resumes from the drained cursors: exactly once.
	end := pt.catchUp("run-2.log")
	for _, org := range orgs {
		require.Greater(t, end[org], pos[org], org)
	}
	pt.requireExactlyOnceAll(end, true)
}
