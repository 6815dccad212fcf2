package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/riskpipe/riskpipe/internal/chserver"
	"github.com/riskpipe/riskpipe/internal/chtest"
	"github.com/riskpipe/riskpipe/internal/simtest"
	"github.com/riskpipe/riskpipe/internal/store"
)

// One ClickHouse server for the suite (plus the outage scenario's own,
// which it stops); goleak checks that the suite leaves no goroutine.
func TestMain(m *testing.M) { chtest.Main(m) }

// EnvMode selects the suite: "full" runs the full sizes (20 kills, a
// 60 s ClickHouse outage, bigger loads); anything else the short suite.
const EnvMode = "RISKPIPE_CHAOS"

// EnvSeed fixes the suite's random choices (kill times, simulator seeds).
const EnvSeed = "RISKPIPE_CHAOS_SEED"

// EnvReport names a file the suite writes its results table to (Markdown).
const EnvReport = "RISKPIPE_CHAOS_REPORT"

// sizes are the knobs that differ between the short and the full suite.
type sizes struct {
	killRounds     int
	killMinLag     int64
	outage         time.Duration
	outageEPS      float64
	faultWindow    time.Duration
	faultEPS       float64
	sigtermRounds  int
	sigtermBacklog int64
	wrongTypeReps  int // how many events per wrong-typed field
}

var (
	shortSizes = sizes{killRounds: 3, killMinLag: 3000, outage: 8 * time.Second, outageEPS: 100,
		faultWindow: 5 * time.Second, faultEPS: 20, sigtermRounds: 1, sigtermBacklog: 100_000, wrongTypeReps: 1}
	fullSizes = sizes{killRounds: 20, killMinLag: 4000, outage: 60 * time.Second, outageEPS: 200,
		faultWindow: 20 * time.Second, faultEPS: 100, sigtermRounds: 3, sigtermBacklog: 300_000, wrongTypeReps: 3}
)

// suite is what the scenarios share: the binary, the ClickHouse server and
// the results table.
type suite struct {
	mode string
	sz   sizes
	seed int64
	bin  string
	ch   *chserver.Server

	mu   sync.Mutex
	rows []row
}

// row is one line of the results table.
type row struct {
	scenario     string
	expected     int    // kept events the truth says must be in risk_events
	lost         int    // of those, missing (not even in a dead-lettered page)
	duplicated   int    // extra rows in risk_events FINAL
	extra        int    // rows the truth does not keep
	deadLettered int    // dead_letters rows
	recover      string // time to recover
	notes        string
}

func (s *suite) add(r row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, r)
}

// addResults adds a row summing the results of some orgs.
func (s *suite) addResults(scenario, recover, notes string, rs ...result) {
	r := row{scenario: scenario, recover: recover, notes: notes}
	for _, x := range rs {
		r.expected += x.Expected
		r.lost += len(x.Lost)
		r.duplicated += x.Duplicated
		r.extra += len(x.Extra)
		r.deadLettered += x.deadLetters
	}
	s.add(r)
}

// newSuite reads the mode and seed, starts the suite's private ClickHouse
// and builds the binary.
func newSuite(t *testing.T) *suite {
	s := &suite{mode: "short", sz: shortSizes, seed: time.Now().UnixNano()}
	if os.Getenv(EnvMode) == "full" {
		s.mode, s.sz = "full", fullSizes
	}
	if v := os.Getenv(EnvSeed); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err, EnvSeed)
		s.seed = n
	}
	t.Logf("%s suite, seed %d (%s=%d repeats it)", s.mode, s.seed, EnvSeed, s.seed)
	s.ch = startSuiteCH(t)
	s.bin = buildBinary(t)
	return s
}

// startSuiteCH starts the suite's private ClickHouse (or attaches to the
// one $RISKPIPE_CLICKHOUSE_ADDR names), on tmpfs when there is one, and
// kills it when the suite ends.
func startSuiteCH(t *testing.T) *chserver.Server {
	t.Helper()
	if addr := os.Getenv(chtest.EnvAddr); addr != "" {
		return chserver.Attach(addr)
	}
	bin, ok := chserver.Available(os.Getenv(chtest.EnvBinary))
	if !ok {
		chtest.Unavailable(t)
	}
	// The scenarios leave ClickHouse tens of thousands of small part
	// files; on tmpfs (when there is one) removing them takes no time.
	dir, err := os.MkdirTemp("/dev/shm", "riskpipe-chaos-clickhouse-*")
	if err != nil {
		dir, err = os.MkdirTemp("", "riskpipe-chaos-clickhouse-*")
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := chserver.Start(ctx, chserver.Options{Binary: bin, DataDir: dir})
	if err != nil {
		_ = os.RemoveAll(dir)
	}
	require.NoError(t, err)
	t.Cleanup(func() {
		// A scratch server: no need for a clean shutdown, which can take
		// long while it merges the suite's many small parts.
		killCH(srv)
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("remove the suite's clickhouse data: %v", err)
		}
	})
	return srv
}

// killCH stops a scratch ClickHouse at once (SIGKILL to its process group,
// unless it has exited) and removes what Stop removes.
func killCH(srv *chserver.Server) {
	select {
	case <-srv.Done():
	default:
		_ = syscall.Kill(-srv.PID(), syscall.SIGKILL)
	}
	_ = srv.Stop()
}

// newDatabase creates a database with a unique name on srv. It is dropped
// when t ends only on an attached server: the suite's own server is
// thrown away with its data, and dropping a database on a busy 18.16 can
// take a minute.
func newDatabase(t *testing.T, srv *chserver.Server) string {
	t.Helper()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := "chaos_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name())) + "_" + hex.EncodeToString(rnd[:])
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.Addr()}, MaxOpenConns: 1})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, conn.Exec(ctx, "CREATE DATABASE `"+name+"`"))
	t.Cleanup(func() {
		defer conn.Close()
		if srv.PID() != 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	return name
}

// TestChaos runs every scenario against the real binary, the simulator and
// a real ClickHouse, prints the results table and fails on any loss or
// duplicate.
func TestChaos(t *testing.T) {
	s := newSuite(t)
	began := time.Now()
	t.Run("scenarios", func(t *testing.T) {
		// The longest first: the scenarios run two at a time.
		t.Run("OktaFaults", func(t *testing.T) { t.Parallel(); s.oktaFaults(t) })
		t.Run("Kill9", func(t *testing.T) { t.Parallel(); s.kill9(t) })
		t.Run("ClickHouseOutage", func(t *testing.T) { t.Parallel(); s.outage(t) })
		t.Run("BadInput", func(t *testing.T) { t.Parallel(); s.badInput(t) })
		t.Run("SIGTERMDrain", func(t *testing.T) { t.Parallel(); s.sigtermDrain(t) })
	})
	s.report(t, time.Since(began))
}

// report prints the results table (and writes it to $RISKPIPE_CHAOS_REPORT).
func (s *suite) report(t *testing.T, took time.Duration) {
	s.mu.Lock()
	rows := append([]row(nil), s.rows...)
	s.mu.Unlock()

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\texpected\tlost\tduplicated\textra\tdead-lettered\ttime to recover\tnotes")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", r.scenario, r.expected, r.lost, r.duplicated, r.extra, r.deadLettered, r.recover, r.notes)
	}
	tw.Flush()
	t.Logf("chaos suite (%s, seed %d) in %s:\n%s", s.mode, s.seed, took.Round(time.Second), b.String())

	if path := os.Getenv(EnvReport); path != "" {
		var md strings.Builder
		fmt.Fprintf(&md, "%s suite, seed %d, %s, %s\n\n", s.mode, s.seed, time.Now().UTC().Format("2006-01-02 15:04 UTC"), took.Round(time.Second))
		md.WriteString("| scenario | events expected | lost | duplicated | extra | dead-lettered | time to recover | notes |\n")
		md.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
		for _, r := range rows {
			fmt.Fprintf(&md, "| %s | %d | %d | %d | %d | %d | %s | %s |\n", r.scenario, r.expected, r.lost, r.duplicated, r.extra, r.deadLettered, r.recover, r.notes)
		}
		require.NoError(t, os.WriteFile(path, []byte(md.String()), 0o644))
	}
}

// deployment is one riskpipe configuration (simulator orgs, database) that
// the scenario starts, kills and restarts.
type deployment struct {
	t    *testing.T
	s    *suite
	sim  *sim
	srv  *chserver.Server
	db   *db
	dbn  string
	cfg  string
	dir  string
	runs int
	// The cursors of the run: integration times (Since), positions
	// (never backwards, never beyond the log).
	*simtest.Cursors
}

// deploy writes the config for sm's orgs and database dbName on srv.
func (s *suite) deploy(t *testing.T, sm *sim, srv *chserver.Server, dbName string, c cfgSpec) *deployment {
	t.Helper()
	c.addr, c.db, c.tenants = srv.Addr(), dbName, sm.tenants()
	d := &deployment{t: t, s: s, sim: sm, srv: srv, db: openDB(t, srv, dbName), dbn: dbName,
		cfg: writeConfig(t, c), dir: t.TempDir()}
	d.Cursors = simtest.NewCursors(t, func() *store.Store { return d.db.st }, sm.names, sm.org)
	return d
}

func (d *deployment) start() *proc {
	d.runs++
	return startProc(d.t, d.s.bin, filepath.Join(d.dir, fmt.Sprintf("run-%02d.log", d.runs)), "run", "--config", d.cfg)
}

// ends returns every org's log end now.
func (d *deployment) ends(orgs ...string) map[string]int64 {
	if len(orgs) == 0 {
		orgs = d.sim.names
	}
	out := map[string]int64{}
	for _, org := range orgs {
		out[org] = d.sim.org(org).Len()
	}
	return out
}

// stopTraffic stops every generated stream and returns the logs' ends.
func (d *deployment) stopTraffic() map[string]int64 {
	for _, org := range d.sim.names {
		if d.sim.streams[org] != nil {
			d.sim.org(org).SetRate(0)
		}
	}
	return d.ends()
}

// requireOneIntegration checks that no org ever got a second integration
// time.
func (d *deployment) requireOneIntegration() {
	for _, org := range d.sim.names {
		require.EqualValues(d.t, 1, d.db.integrations(org), "%s: poll_state rows with different integration times", org)
	}
}

func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}
